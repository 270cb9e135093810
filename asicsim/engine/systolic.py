"""Systolic-array formulas (pure functions): fold counts, compute cycles, SRAM reads.

The fold model is SCALE-Sim v3's: the GEMM C[M×N] = A[M×K]·B[K×N] is cut into folds, each
occupying the R×C array; one fold streams its "stream" dimension through the array and pays a
fill/drain overhead. Folds run back to back, not overlapped:

=========  ===================  ==================  =======  ==================
dataflow   rows (R) hold        cols (C) hold       stream   fill/drain (cyc)
=========  ===================  ==================  =======  ==================
os         M (output rows)      N (output cols)     K        R + C − 2
ws         K (weight rows)      N (filters)         M        2R + C − 2
is         K (input rows)       M (output pixels)   N        2R + C − 2
=========  ===================  ==================  =======  ==================

cycles = folds · (stream + fill/drain) − 1, with folds = ⌈rows-dim/R⌉·⌈cols-dim/C⌉. The final
−1 is SCALE-Sim's convention (it reports the index of the last cycle); we keep it so numbers
compare exactly (verified against the SCALE-Sim runs in `tests/data/scalesim_runs`).
"""
from __future__ import annotations

from dataclasses import dataclass


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class FoldAxes:
    """Which GEMM dims map to array rows, array cols and the stream, for one dataflow."""
    rows_dim: str   # one of "m", "k", "n"
    cols_dim: str
    stream_dim: str


FOLD_AXES = {
    "os": FoldAxes("m", "n", "k"),
    "ws": FoldAxes("k", "n", "m"),
    "is": FoldAxes("k", "m", "n"),
    # row-stationary on a GEMM with no convolution window (fully connected, backward and update
    # GEMMs) is a 1×1 filter: input channels down the rows (psums add vertically), output rows
    # across the columns, filters streamed: the `is` fold. Convolutions use
    # `asicsim.engine.row_stationary`.
    "rs": FoldAxes("k", "m", "n"),
}


def fill_drain_cycles(dataflow: str, rows: int, cols: int) -> int:
    """Per-fold fill + drain overhead (cycles)."""
    return rows + cols - 2 if dataflow == "os" else 2 * rows + cols - 2


def folds(dataflow: str, m: int, k: int, n: int, rows: int, cols: int) -> int:
    ax = FOLD_AXES[dataflow]
    d = {"m": m, "k": k, "n": n}
    return ceil_div(d[ax.rows_dim], rows) * ceil_div(d[ax.cols_dim], cols)


def gemm_compute_cycles(dataflow: str, m: int, k: int, n: int, rows: int, cols: int) -> int:
    """Stall-free cycles of one GEMM with the whole stream dimension in one pass (SCALE-Sim's
    "Total Cycles"), including the −1 convention."""
    ax = FOLD_AXES[dataflow]
    d = {"m": m, "k": k, "n": n}
    return folds(dataflow, m, k, n, rows, cols) * (d[ax.stream_dim] + fill_drain_cycles(dataflow, rows, cols)) - 1


def sram_reads_words(dataflow: str, m: int, k: int, n: int, rows: int, cols: int) -> tuple[int, int]:
    """(ifmap, filter) SRAM words read by the array for one GEMM (SCALE-Sim's access model):
    the stationary operand is read once, the streamed ones once per fold along the other axis."""
    if dataflow == "os":
        return m * k * ceil_div(n, cols), k * n * ceil_div(m, rows)
    if dataflow == "ws":
        return m * k * ceil_div(n, cols), k * n
    return m * k, k * n * ceil_div(m, cols)


def ofmap_sram_words(dataflow: str, m: int, k: int, n: int, rows: int, cols: int) -> tuple[int, int]:
    """(writes, reads) of output words in SRAM. OS accumulates in the PEs: one write per output.
    WS/IS produce partial sums per K-fold: ⌈K/R⌉ writes and ⌈K/R⌉−1 read-backs per output."""
    if dataflow == "os":
        return m * n, 0
    kf = ceil_div(k, rows)
    return m * n * kf, m * n * (kf - 1)


def preload_hidden_cycles(dataflow: str, rows: int) -> int:
    """Cycles of a fold's fill that weight preloading hides: loading the stationary operand takes
    ``rows`` cycles (one row of the array per cycle) for ws (weights) and is (inputs); os keeps its
    outputs stationary and streams both operands, so it has nothing to preload (0)."""
    return 0 if dataflow == "os" else rows


def tile_fold_cycles(dataflow: str, nf, stream, rows: int, cols: int, overlap: bool = False,
                     preload: bool = False):
    """Array cycles of one tile of ``nf`` folds each streaming ``stream`` (works on numpy arrays).

    Back to back (SCALE-Sim): nf·(stream + fill/drain). ``preload`` (double-buffered stationary
    operand, TPU-class WS arrays): the next fold's stationary operand loads while this fold streams,
    so every fold but the first skips the load: nf·(stream + fd − p) + p, p = `preload_hidden_cycles`.
    ``overlap`` (fill and drain of consecutive folds pipelined: the next fold's operands enter while
    the last partial sums drain): the fill/drain is paid once per tile, nf·stream + fd, which also
    covers the preload. Both lie between the MAC bound nf·stream (≥ MACs/(rows·cols)) and the fold
    count nf·(stream + fd)."""
    fd = fill_drain_cycles(dataflow, rows, cols)
    if overlap:
        return nf * stream + fd
    if preload:
        p = preload_hidden_cycles(dataflow, rows)
        return nf * (stream + fd - p) + p
    return nf * (stream + fd)


def gemm_compute_cycles_folds(dataflow: str, m: int, k: int, n: int, rows: int, cols: int,
                              overlap: bool = False, preload: bool = False) -> int:
    """`gemm_compute_cycles` with the fold options of `tile_fold_cycles` (one tile, −1 convention);
    equal to it with both options off."""
    ax = FOLD_AXES[dataflow]
    d = {"m": m, "k": k, "n": n}
    nf = folds(dataflow, m, k, n, rows, cols)
    return tile_fold_cycles(dataflow, nf, d[ax.stream_dim], rows, cols, overlap, preload) - 1
