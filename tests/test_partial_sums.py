"""Partial sums in the buffer, worked by hand: every output is written once per K-fold and read
back once per fold but its first, also when the folds are spread over several K-tiles.

C[8×4] = A[8×16]·B[16×4] on a 4×4 weight-stationary array: 16 / 4 = 4 K-folds per output.
With Tk = 8 the K loop has two tiles of two folds each. Inside a tile a fold after the first
reads back the psums it adds to (1 read per output per tile); the second tile's first fold also
adds to the first tile's psums, so it reads them too. Per output: 4 writes, 3 read-backs, and
the final value read once more when it leaves for DRAM."""
from __future__ import annotations

from asicsim.config.hardware import hardware_from_dict
from asicsim.engine.mapped import ResidencyPlan, SramSpace
from asicsim.engine.tiling import _gemm_steps
from asicsim.workload.lowering import GemmOp, Tensor

M, K, N, R = 8, 16, 4, 4


def _setup():
    hw = hardware_from_dict({
        "name": "psum_test", "array": {"rows": R, "cols": R, "dataflow": "ws"},
        "sram": {"inputs": {"capacity_kib": 64, "holds": ["ifmap", "filter"]},
                 "outputs": {"capacity_kib": 64, "holds": ["ofmap"]}},
        "dram": {"bandwidth_gb_s": 8, "latency_ns": 20, "read_pj_per_bit": 8, "write_pj_per_bit": 8}})
    op = GemmOp("fc", "forward", M, K, N, Tensor("x", M * K, 2), Tensor("w", K * N, 2), Tensor("y", M * N, 2))
    space = SramSpace(hw, ResidencyPlan("none", frozenset(), {}), ideal=False)
    return hw, op, space


def _ofmap_bytes(tk: int):
    hw, op, space = _setup()
    ab = hw.array.accumulator_bytes
    _, tot = _gemm_steps(op, hw, space, set(), ab, ("m", "n", "k"), M, tk, N, False)
    buf = hw.buffer_of("ofmap")
    return tot["sram_w"][buf], tot["sram_r"][buf], ab


def test_read_backs_across_k_tiles():
    written, read, ab = _ofmap_bytes(tk=8)
    folds = K // R
    assert written == M * N * folds * ab                       # 4 writes per output
    # 3 read-backs per output, plus the final outputs read out to DRAM (2-byte y)
    assert read - (M * N * (folds - 1) * ab) - M * N * 2 == 0


def test_one_k_tile_or_two_read_back_the_same():
    """Splitting K into tiles changes where the folds run, not how often psums come back."""
    assert _ofmap_bytes(tk=16)[:2] == _ofmap_bytes(tk=8)[:2]
