"""Run-length coding of activations on the DRAM link: the closed form, hand-worked cases, and
that the mapper moves exactly the coded bytes (weights and partial sums stay raw)."""
import dataclasses

import pytest

from asicsim.config.hardware import HardwareConfig
from asicsim.engine.compression import dram_bytes_factor, rlc_bytes_ratio, rlc_elements_per_pair
from asicsim.errors import InputError
from asicsim.config.hardware import load_hardware as load_accelerator
from asicsim.workload.network import build_network


def test_dense_map_grows_by_the_pair_overhead():
    # one value per (5-bit run, 16-bit level) pair, three pairs per 64-bit word: 64/3 bits per value
    assert rlc_bytes_ratio(0.0, 5, 16, 64) == pytest.approx(64 / 3 / 16)


def test_all_zero_map_packs_32_zeros_per_pair():
    assert rlc_elements_per_pair(1.0, 5) == 32
    assert rlc_bytes_ratio(1.0, 5, 16, 64) == pytest.approx(64 / 3 / 32 / 16)


def test_half_zeros_by_enumeration():
    # P(pair covers j elements) for j < 32 is z^(j-1)(1-z); j = 32 takes the rest (z^31)
    z = 0.5
    mean = sum(j * z ** (j - 1) * (1 - z) for j in range(1, 32)) + 32 * z ** 31
    assert rlc_elements_per_pair(z, 5) == pytest.approx(mean)
    assert rlc_bytes_ratio(z, 5, 16, 64) == pytest.approx(64 / 3 / mean / 16)


def test_factor_is_one_without_codec_or_statistics_and_never_grows():
    eyeriss = load_accelerator("eyeriss_v1")
    assert eyeriss.dram.activation_codec == "rlc"
    assert dram_bytes_factor(None, eyeriss.dram, 16) == 1.0          # zeros unknown: raw
    assert dram_bytes_factor(0.0, eyeriss.dram, 16) == 1.0           # coding would grow it: raw
    assert dram_bytes_factor(0.8, eyeriss.dram, 16) == pytest.approx(rlc_bytes_ratio(0.8, 5, 16, 64))
    plain = load_accelerator("edge")
    assert dram_bytes_factor(0.8, plain.dram, 16) == 1.0


def test_word_too_small_for_a_pair_is_refused():
    d = load_accelerator("eyeriss_v1").model_dump()
    d["dram"]["rlc_word_bits"] = 16
    with pytest.raises(Exception, match="rlc_word_bits"):
        HardwareConfig.model_validate(d)


def test_activation_zeros_must_name_a_layer():
    net = {"name": "t", "input": {"channels": 1, "height": 4, "width": 4},
           "layers": [{"name": "fc", "type": "linear", "out_features": 2}],
           "activation_zeros": {"nope": 0.5}}
    with pytest.raises(InputError, match="activation_zeros"):
        build_network(net)
    net["activation_zeros"] = {"fc": 1.5}
    with pytest.raises(InputError):
        build_network(net)


def _conv_run(hw, zeros, size=12):
    from asicsim.api import simulate
    net = {"name": "t", "input": {"channels": 8, "height": size, "width": size},
           "layers": [{"name": "c1", "type": "conv", "out_channels": 8, "kernel": 3, "padding": 1, "bias": False},
                      {"name": "r1", "type": "relu"},
                      {"name": "c2", "type": "conv", "out_channels": 8, "kernel": 3, "padding": 1, "bias": False}],
           "activation_zeros": zeros}
    return simulate(build_network(net), hw, batch=2, phases=("forward",))


def _retaining(hw):
    """The preset with its filter pads keeping weights across tiles, so only activations cross the link."""
    d = hw.model_dump()
    d["sram"]["filter_spads"]["retains"] = True
    return HardwareConfig.model_validate(d)


def test_mapper_moves_the_coded_bytes_of_a_sparse_input():
    hw = _retaining(load_accelerator("eyeriss_v1"))
    raw = _conv_run(hw, {})
    coded = _conv_run(hw, {"r1": 0.75})
    row = lambda res: res.layers.set_index(["layer", "phase"]).loc[("c2", "forward")]
    r_raw, r_cod = row(raw), row(coded)
    x_bytes = 2 * 8 * 12 * 12 * 2            # c2's input, 16-bit, read once (it fits on chip)
    assert r_raw.dram_read_bytes == x_bytes                   # (the weights fit: kept on chip)
    assert r_cod.dram_read_bytes == pytest.approx(x_bytes * rlc_bytes_ratio(0.75, 5, 16, 64), abs=2)
    assert r_cod.sram_write_bytes == r_raw.sram_write_bytes   # the buffer holds decoded words
    assert r_cod.macs == r_raw.macs


def test_streamed_weights_cross_the_link_raw_for_every_tile():
    # the preset's pads keep nothing: the same activation bytes, plus the 16-bit weights fetched
    # again for every output-row tile, uncoded
    import math
    hw = load_accelerator("eyeriss_v1")
    row = lambda res: res.layers.set_index(["layer", "phase"]).loc[("c2", "forward")]
    kept = row(_conv_run(_retaining(hw), {"r1": 0.75}, size=48))
    streamed = row(_conv_run(hw, {"r1": 0.75}, size=48))
    tm = int(streamed.tiling.split()[0].removeprefix("Tm="))
    m_tiles = math.ceil(streamed.m / tm)
    assert m_tiles > 1                       # the case worth checking: more than one tile
    w_bytes = 8 * 8 * 3 * 3 * 2
    assert streamed.dram_read_bytes - kept.dram_read_bytes == w_bytes * m_tiles
