"""Model invariants that hold whatever the configuration (property tests)."""
from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asicsim.config.hardware import hardware_from_dict
from asicsim.config.update import UpdateConfig
from asicsim.engine.mapping import map_step
from asicsim.engine.tiling import operand_expansion
from asicsim.studies.step import simulate
from asicsim.workload.lowering import GemmOp, lower_step
from asicsim.workload.network import build_network, load_network

TINY_RESNET = {
    "name": "tiny_resnet",
    "input": {"channels": 3, "height": 16, "width": 16},
    "layers": [
        {"name": "c1", "type": "conv", "out_channels": 8, "kernel": 3, "padding": 1, "bias": False},
        {"name": "bn1", "type": "batchnorm"},
        {"name": "r1", "type": "relu"},
        {"name": "c2", "type": "conv", "out_channels": 8, "kernel": 3, "padding": 1},
        {"name": "add", "type": "add", "inputs": ["c2", "r1"]},
        {"name": "dw", "type": "conv", "out_channels": 8, "kernel": 3, "stride": 2, "padding": 1, "groups": 8},
        {"name": "pool", "type": "maxpool", "kernel": 2},
        {"name": "gap", "type": "global_avgpool"},
        {"name": "flat", "type": "flatten"},
        {"name": "fc", "type": "linear", "out_features": 10},
        {"name": "loss", "type": "softmax_ce"},
    ],
}


def hw_dict(rows=8, cols=8, dataflow="ws", sram_kib=64.0, bw=8.0, latency=20.0, split=False):
    sram = ({"ifmap": {"capacity_kib": sram_kib, "holds": ["ifmap"]},
             "filter": {"capacity_kib": sram_kib, "holds": ["filter"]},
             "ofmap": {"capacity_kib": sram_kib, "holds": ["ofmap"]}} if split
            else {"global": {"capacity_kib": sram_kib, "bytes_per_cycle": 64}})
    return {"name": "t", "array": {"rows": rows, "cols": cols, "dataflow": dataflow, "leakage_mw": 1.0},
            "vector": {"lanes": 8}, "sram": sram,
            "dram": {"bandwidth_gb_s": bw, "latency_ns": latency, "read_pj_per_bit": 8, "write_pj_per_bit": 8,
                     "background_mw": 10}}


NETS = {"tiny_resnet": build_network(TINY_RESNET), "lenet5": load_network("lenet5")}
configs = st.fixed_dictionaries({
    "rows": st.sampled_from([4, 8, 16, 32]), "cols": st.sampled_from([4, 8, 16, 32]),
    "dataflow": st.sampled_from(["ws", "os", "is", "rs"]), "sram_kib": st.sampled_from([16.0, 32.0, 64.0, 256.0, 2048.0]),
    "bw": st.sampled_from([1.0, 4.0, 16.0, 64.0]), "split": st.booleans(),
})
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cfg=configs, net=st.sampled_from(sorted(NETS)), batch=st.sampled_from([1, 4, 8]),
       momentum=st.sampled_from([0.0, 0.9]))
def test_cycle_bounds_and_energy_sum(cfg, net, batch, momentum):
    hw = hardware_from_dict(hw_dict(**cfg))
    r = simulate(hw, NETS[net], batch, UpdateConfig(momentum=momentum))
    t = r.layers
    peak = hw.array.rows * hw.array.cols
    assert (t["total_cycles"] + 1 >= t["macs"] / peak).all()
    assert (t["total_cycles"] + 1e-6 >= (t["dram_read_bytes"] + t["dram_write_bytes"]) / hw.dram_bytes_per_cycle).all()
    assert (t["total_cycles"] + 1e-9 >= t["compute_cycles"]).all()
    comp = [c for c in t.columns if c.startswith("energy_") and c != "energy_pj"]
    assert t[comp].sum(axis=1).sub(t["energy_pj"]).abs().max() <= 1e-6 * t["energy_pj"].max()
    s = r.summary
    assert math.isclose(sum(s["energy_breakdown_pj"].values()), s["energy_pj"], rel_tol=1e-9)
    assert math.isclose(sum(p["energy_pj"] for p in s["phases"].values()), s["energy_pj"], rel_tol=1e-9)
    assert s["total_cycles"] >= s["macs"] / peak
    assert s["total_cycles"] >= (s["dram_read_bytes"] + s["dram_write_bytes"]) / hw.dram_bytes_per_cycle


@SETTINGS
@given(cfg=configs, net=st.sampled_from(sorted(NETS)), batch=st.sampled_from([1, 8]))
def test_dram_traffic_at_least_compulsory(cfg, net, batch):
    """Each GEMM reads each operand at least once and writes its result at least once, unless the
    mapping keeps that tensor on chip (checked from the lowered tensors, not the mapper's sums)."""
    hw = hardware_from_dict(hw_dict(**cfg))
    lowered = lower_step(NETS[net], batch, hw.array.operand_bytes, hw.array.accumulator_bytes)
    mapping = map_step(lowered, hw)
    resident = set(mapping.plan.resident)
    for op, mo in zip(lowered.ops, mapping.ops):
        if isinstance(op, GemmOp):
            need_rd = sum(0 if t.name in resident else operand_expansion(t, v)[1]
                          for t, v in ((op.a, op.m * op.k), (op.b, op.k * op.n)))
            assert mo.dram_read_bytes >= need_rd * op.groups, (op.layer, op.phase)
            if op.c.name not in mo.kept_on_chip:
                assert mo.dram_write_bytes >= op.c.bytes * op.groups, (op.layer, op.phase)
        else:
            assert mo.dram_read_bytes == sum(t.bytes for t in op.reads if t.name not in resident)
        resident.update(mo.kept_on_chip)


@SETTINGS
@given(cfg=configs, net=st.sampled_from(sorted(NETS)))
def test_more_bandwidth_never_slower(cfg, net):
    cycles = []
    for bw in (1.0, 4.0, 16.0, 1000.0):
        hw = hardware_from_dict(hw_dict(**{**cfg, "bw": bw}))
        cycles.append(simulate(hw, NETS[net], 4).summary["total_cycles"])
    assert all(b <= a + 1e-6 for a, b in zip(cycles, cycles[1:])), cycles


@SETTINGS
@given(cfg=configs, net=st.sampled_from(sorted(NETS)), momentum=st.sampled_from([0.0, 0.9]))
def test_larger_sram_never_more_dram(cfg, net, momentum):
    """From the SRAM size at which the shortest allowed stream chunk fits (mapping docstring):
    arrays up to 16×16 need < 32 KiB for it."""
    cfg = {**cfg, "rows": min(cfg["rows"], 16), "cols": min(cfg["cols"], 16)}
    traffic = []
    for kib in (32.0, 48.0, 64.0, 128.0, 512.0, 4096.0):
        hw = hardware_from_dict(hw_dict(**{**cfg, "sram_kib": kib}))
        s = simulate(hw, NETS[net], 4, UpdateConfig(momentum=momentum)).summary
        traffic.append(s["dram_read_bytes"] + s["dram_write_bytes"])
    assert all(b <= a for a, b in zip(traffic, traffic[1:])), traffic


def test_same_input_same_bytes(tmp_path):
    from asicsim.cli.main import main
    outs = []
    for i in range(2):
        out = tmp_path / f"o{i}"
        assert main(["run", "--network", "lenet5", "--accelerator", "edge", "--batch", "16",
                     "--momentum", "--out", str(out)]) == 0
        outs.append(((out / "layers.csv").read_bytes(), (out / "summary.json").read_bytes()))
    assert outs[0] == outs[1]


def test_ideal_memory_has_no_stalls():
    hw = hardware_from_dict(hw_dict(bw=0.5))
    r = simulate(hw, NETS["tiny_resnet"], 4, ideal_memory=True)
    assert r.summary["stall_cycles"] == 0
    # with a slow link the same step stalls
    assert simulate(hw, NETS["tiny_resnet"], 4).summary["stall_cycles"] > 0
