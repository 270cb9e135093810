"""Single- and double-buffered tiles: the config field, the tile search's footprint, and the
event simulation against hand-summed timings of real tile steps."""
from pathlib import Path

import pytest

from asicsim.config.execution import as_execution
from asicsim.config.hardware import hardware_from_dict, load_hardware, load_hardware_dict
from asicsim.engine.mapping import map_step
from asicsim.engine.sim import op_timing
from asicsim.errors import InputError
from asicsim.studies.step import link_timing, widths
from asicsim.workload.network import load_network
from asicsim.workload.rules import lower_training_step
from asicsim.config.update import UpdateConfig


def _eyeriss(buffering: str):
    d, _ = load_hardware_dict("eyeriss_v1")
    d["buffering"] = buffering
    return hardware_from_dict(d)


def _alexnet_ops(hw):
    net = load_network("alexnet_caffe")
    ex = as_execution("inference")
    ob, ab = widths(hw, ex)
    lowered = lower_training_step(net, 4, ob, ab, UpdateConfig(), ("forward",), ex)
    return [mo for mo in map_step(lowered, hw).ops if mo.unit == "array"]


def test_default_is_double_and_left_out_of_the_dump():
    edge = load_hardware("edge")
    assert edge.buffering == "double" and edge.tile_slots == 2
    assert "buffering" not in edge.model_dump()          # sweep hashes of existing configs unchanged
    eyeriss = load_hardware("eyeriss_v1")
    assert eyeriss.tile_slots == 1 and eyeriss.model_dump()["buffering"] == "single"


def test_unknown_buffering_is_a_clear_error():
    d, _ = load_hardware_dict("edge")
    d["buffering"] = "triple"
    with pytest.raises(InputError) as e:
        hardware_from_dict(d, "acc.yaml")
    msg = str(e.value)
    assert "acc.yaml" in msg and "buffering" in msg and "triple" in msg and "single" in msg


def _gap(w: int, load: int, bpc: float, lat: float) -> float:
    """Cycles between one compute's end and the next's start, single-buffered: the write goes
    out, the next load follows it on the link, and both must have arrived."""
    return (w + load) / bpc + lat if (w or load) else 0.0


def test_single_buffered_op_is_the_sum_of_its_transfers_and_computes():
    hw = _eyeriss("single")
    link = link_timing(hw, False)
    bpc, lat = link.bytes_per_cycle, link.latency_cycles
    ops = _alexnet_ops(hw)
    assert len(ops) >= 5                  # five convolutions and the classifier
    for mo in ops:
        s = mo.steps
        expect = (s[0].load_bytes / bpc + lat if s[0].load_bytes else 0.0)
        for i, st in enumerate(s):
            expect += st.count * st.compute_cycles
            expect += (st.count - 1) * _gap(st.write_bytes, st.load_bytes, bpc, lat)
            nxt = s[i + 1].load_bytes if i + 1 < len(s) else 0
            expect += _gap(st.write_bytes, nxt, bpc, lat)
        total, busy = op_timing("array", s, link, slots=1)
        assert total == pytest.approx(expect, rel=1e-12)
        assert busy == sum(st.count * st.compute_cycles for st in s)


def test_double_buffering_never_slower_on_the_same_steps():
    hw = _eyeriss("double")
    link = link_timing(hw, False)
    for mo in _alexnet_ops(hw):
        double, busy = op_timing("array", mo.steps, link, slots=2)
        single, _ = op_timing("array", mo.steps, link, slots=1)
        assert busy <= double <= single
        # the link carries every byte once either way
        nbytes = sum(st.count * (st.load_bytes + st.write_bytes) for st in mo.steps)
        assert double >= nbytes / link.bytes_per_cycle


def test_single_buffering_fits_tiles_twice_as_large():
    """One slot per tile leaves room for larger tiles: never more DRAM bytes, and fewer on a
    layer whose double-buffered tiles must be cut smaller (AlexNet's on Eyeriss's 108 KB)."""
    single = _alexnet_ops(_eyeriss("single"))
    double = _alexnet_ops(_eyeriss("double"))
    dram = lambda mo: mo.dram_read_bytes + mo.dram_write_bytes
    assert all(dram(s) <= dram(d) for s, d in zip(single, double))
    assert any(dram(s) < dram(d) for s, d in zip(single, double))


def _eyeriss_with(**fields):
    d, _ = load_hardware_dict("eyeriss_v1")
    d.update(fields)
    return hardware_from_dict(d)


def test_new_fields_left_out_of_the_dump_at_their_defaults():
    edge = load_hardware("edge").model_dump()
    assert "mapping_objective" not in edge
    assert all("retains" not in s for s in edge["sram"].values())
    eyeriss = load_hardware("eyeriss_v1").model_dump()
    assert eyeriss["mapping_objective"] == "time" and eyeriss["sram"]["filter_spads"]["retains"] is False


def test_a_non_retaining_buffer_must_hold_only_filters():
    d, _ = load_hardware_dict("eyeriss_v1")
    d["sram"]["global"]["retains"] = False
    with pytest.raises(InputError) as e:
        hardware_from_dict(d, "acc.yaml")
    msg = str(e.value)
    assert "acc.yaml" in msg and "global" in msg and "retains" in msg and "filter" in msg


def test_time_objective_trades_bytes_for_cycles():
    """Same search space, two rankings: the traffic objective never moves more DRAM bytes and the
    time objective's estimated step (compute + transfer, single-buffered) is never longer."""
    by_time = _alexnet_ops(_eyeriss_with(mapping_objective="time"))
    by_traffic = _alexnet_ops(_eyeriss_with(mapping_objective="traffic"))
    hw = _eyeriss_with()
    bpc = link_timing(hw, False).bytes_per_cycle
    dram = lambda mo: mo.dram_read_bytes + mo.dram_write_bytes
    est = lambda mo: sum(st.count * st.compute_cycles for st in mo.steps) + dram(mo) / bpc
    for t, b in zip(by_time, by_traffic):
        assert dram(b) <= dram(t)
        assert est(t) <= est(b) * (1 + 1e-9)
    assert any(est(t) < est(b) for t, b in zip(by_time, by_traffic))     # it changes something on AlexNet


def test_pad_fills_are_the_streamed_weights_of_every_tile():
    """Eyeriss's filter pads keep nothing between tiles: every (m, k, n) tile iteration fetches its
    k×n weight tile, so over a layer the pads take its whole weights once per m-tile; they are DRAM
    reads, and the processing-latency metric adds their link time to the array's busy time."""
    import math
    import re
    hw = _eyeriss("single")
    for mo in _alexnet_ops(hw):
        tm = int(re.search(r"Tm=(\d+)", mo.tiling).group(1))
        weights = mo.k * mo.n * hw.array.operand_bytes * mo.groups
        assert mo.pad_fill_bytes == math.ceil(mo.m / tm) * weights
        assert 0 < mo.pad_fill_bytes <= mo.dram_read_bytes
    d, _ = load_hardware_dict("eyeriss_v1")
    d["sram"]["filter_spads"]["retains"] = True
    assert all(mo.pad_fill_bytes == 0 for mo in _alexnet_ops(hardware_from_dict(d)))


def test_processing_latency_adds_pad_fill_link_time():
    from asicsim.studies import validation as V
    rows = [m for m in V.load_measurements(Path(__file__).resolve().parent.parent / "benchmarks" / "validation" / "measurements.csv")
            if m.id == "eyeriss_alexnet_conv3_processing"]
    hw, _, layers, _, _ = V._run("eyeriss_v1", "alexnet_caffe", 4, False, "inference", None, None)
    sel = layers[layers["layer"] == "conv3"]
    want = (sel["compute_cycles"].sum() + sel["pad_fill_bytes"].sum() / hw.dram_bytes_per_cycle) / hw.clock_hz * 1e3
    assert V.simulate_row(rows[0]) == pytest.approx(want)
    assert sel["pad_fill_bytes"].sum() > 0
    assert "pad_fill_bytes" not in V._run("edge", "resnet18", 2, False, "inference", None, None)[2].columns
