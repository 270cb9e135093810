"""Row-stationary dataflow: hand-worked set layouts, cycles and global-buffer accesses.

The worked cases follow the mapping of Chen, Emer & Sze (ISCA 2016, Sec. V) as laid out on a
physical array in Chen et al. (JSSC 2017, Fig. 9): one PE per (filter row, output row), sets cut
into column segments when the output is wider than the array, stacked when they are short."""
from __future__ import annotations

import pytest

from asicsim.api import simulate
from asicsim.config.hardware import hardware_from_dict
from asicsim.config.hardware import RegisterFileConfig as RF
from asicsim.engine.row_stationary import rs_glb_words, rs_sets, rs_tile_cycles, tile_dims
from asicsim.errors import InputError
from asicsim.workload.lowering import ConvShape
from asicsim.workload.network import build_network


def test_alexnet_sets_on_eyeriss_array():
    """AlexNet's layers on 12×14 PEs, worked by hand:
    CONV1 R=11, E=55: 55 = 14+14+14+13 → 4 segments of 11×14, one at a time: 154 PEs.
    CONV2 R=5, E=27: two segments (14, 13) stacked (12 // 5 = 2): 5·27 = 135 PEs.
    CONV3 R=3, E=13: four whole 3×13 sets stacked (12 // 3 = 4): 156 PEs."""
    c1, c2, c3 = (rs_sets(ConvShape(*a), 12, 14) for a in
                  [(11, 11, 55, 55, 4), (5, 5, 27, 27, 1), (3, 3, 13, 13, 1)])
    assert (c1.segments, c1.width, c1.slots, c1.active_pes) == (4, 14, 1, 154)
    assert (c2.segments, c2.width, c2.slots, c2.active_pes) == (2, 14, 2, 135)
    assert (c3.segments, c3.width, c3.slots, c3.active_pes) == (1, 13, 4, 156)


def test_small_layer_by_hand():
    """3×3 filter, 4×4 output, 2 channels, 2 filters, one image, on 6 rows × 4 columns.
    A set is 3×4 PEs; two stack (6 // 3). Units = 1 image × 2 filters × 2 channels = 4, two at a
    time → 2 passes of S·F = 3·4 = 12 cycles, then the 3-deep vertical psum chain: 27 cycles.
    Register files hold q = min(12 // 3, 2) = 2 channels and p = min(224 // 6, 24, 2) = 2 filters,
    so each channel's 6×6 input strip is read once (2·36 = 72 words), every weight once (36),
    every output written once (2·16 = 32) and never read back."""
    cs = ConvShape(3, 3, 4, 4, 1)
    assert rs_tile_cycles(cs, 1, 4, 2, 2, 6, 4) == 27
    assert tuple(int(v) for v in rs_glb_words(cs, 1, 4, 2, 2, 6, 4, RF())) == (72, 36, 32, 0)
    # 1-word ifmap and psum pads: one channel and one filter per PE (q = p = 1). The two stacked
    # sets either take the two filters (t = 2: one strip read per channel, 2·36 = 72; psums out
    # and back per channel, 64 + 32: 168 words) or the two channels (r = 2: strips read per
    # filter, 144; psums summed in the array, written once, 32: 176); t = 2 is fewer
    assert tuple(int(v) for v in rs_glb_words(cs, 1, 4, 2, 2, 6, 4, RF(filter_words=224, ifmap_words=1, psum_words=1))) == (72, 36, 64, 32)
    # psum pad of 24 again: a PE holds both filters (p = 2, one strip read: 72), so the two sets
    # take the two channels (r = 2) and each output is written once, never read back
    assert tuple(int(v) for v in rs_glb_words(cs, 1, 4, 2, 2, 6, 4, RF(filter_words=224, ifmap_words=1, psum_words=24))) == (72, 36, 32, 0)


def test_segments_of_one_plane_take_the_slots_first():
    """R = 3, E = 8 on 6 rows × 4 columns: two 3×4 segments stacked (2 slots) run one output plane,
    so no replica is spare for other channels: with q = 1 (1-word ifmap pad) every output is
    written once per channel (2 channels: 2·64 = 128 writes, 64 read-backs), and each segment's
    strip ((4−1)+3 = 6 rows × 10 columns) is read once per channel and image: 2·2·60 = 240."""
    cs = ConvShape(3, 3, 8, 8, 1)
    st = rs_sets(cs, 6, 4)
    assert (st.segments, int(st.slots)) == (2, 2)
    ifm, _, wr, rd = rs_glb_words(cs, 1, 8, 2, 1, 6, 4, RF(filter_words=224, ifmap_words=1, psum_words=24))
    assert (int(ifm), int(wr), int(rd)) == (240, 128, 64)


def test_tall_filter_folds_rows():
    """R = 5 on 3 rows: two row folds of ⌈5/2⌉ = 3 rows each; every output gets a psum write per
    fold and a read-back for the second. The 3×2 set sits twice side by side on 4 columns
    (2 slots), so the 1 image × 1 filter × 1 channel × 2 folds = 2 units take one pass of
    S·F = 5·2 cycles + 3 = 13 cycles; on 2 columns (1 slot) two passes: 23 cycles."""
    cs = ConvShape(5, 5, 2, 2, 1)
    st = rs_sets(cs, 3, 4)
    assert (st.row_folds, st.rows_per_fold, int(st.slots)) == (2, 3, 2)
    assert rs_tile_cycles(cs, 1, 2, 1, 1, 3, 4) == 13
    assert rs_tile_cycles(cs, 1, 2, 1, 1, 3, 2) == 23
    _, _, wr, rd = rs_glb_words(cs, 1, 2, 1, 1, 3, 4, RF())
    assert (int(wr), int(rd)) == (8, 4)


def test_tile_dims_whole_images_or_row_strips():
    cs = ConvShape(3, 3, 10, 8, 1)        # 80 outputs per image
    assert tuple(int(v) for v in tile_dims(cs, 160, 18)) == (2, 10, 2)
    assert tuple(int(v) for v in tile_dims(cs, 24, 9)) == (1, 3, 1)


def _hw(rows, cols, kib=64.0, **array):
    return hardware_from_dict({
        "name": "rs_test", "array": {"rows": rows, "cols": cols, "dataflow": "rs", **array},
        "sram": {"global": {"capacity_kib": kib}},
        "dram": {"bandwidth_gb_s": 8, "latency_ns": 20, "read_pj_per_bit": 8, "write_pj_per_bit": 8}})


NET = build_network({"name": "one_conv", "input": {"channels": 2, "height": 6, "width": 6}, "layers": [
    {"name": "c", "type": "conv", "out_channels": 2, "kernel": 3, "bias": False},
    {"name": "flat", "type": "flatten"}, {"name": "fc", "type": "linear", "out_features": 2},
    {"name": "loss", "type": "softmax_ce"}]})


def test_simulated_conv_matches_hand_count():
    """The whole pipeline (lowering → RS mapping → event simulation) gives the worked 27 cycles."""
    res = simulate(NET, _hw(6, 4), batch=1, phases=["forward"], ideal_memory=True)
    row = res.layers.set_index("layer").loc["c"]
    assert row["compute_cycles"] == 27
    assert row["macs"] == 2 * 2 * 9 * 16


def test_row_strips_when_an_image_does_not_fit():
    """A buffer too small for a whole image's input is tiled in strips of output rows: the layer
    still runs, and costs at least its MACs over the PEs."""
    net = build_network({"name": "wide", "input": {"channels": 4, "height": 66, "width": 66}, "layers": [
        {"name": "c", "type": "conv", "out_channels": 8, "kernel": 3, "bias": False},
        {"name": "flat", "type": "flatten"}, {"name": "fc", "type": "linear", "out_features": 2},
        {"name": "loss", "type": "softmax_ce"}]})
    res = simulate(net, _hw(12, 14, kib=24.0), batch=1, phases=["forward"])
    row = res.layers.set_index("layer").loc["c"]
    tiling = row["tiling"]
    tm = int(tiling.split("Tm=")[1].split()[0])
    assert tm < 64 * 64 and tm % 64 == 0, tiling
    assert row["compute_cycles"] >= row["macs"] / (12 * 14)


def test_register_file_only_for_row_stationary():
    with pytest.raises(InputError, match="register_file"):
        hardware_from_dict({"name": "x", "array": {"rows": 4, "cols": 4, "dataflow": "ws",
                                                   "register_file": {"filter_words": 8}},
                            "sram": {"global": {"capacity_kib": 8}}, "dram": {"preset": "ddr4"}})
