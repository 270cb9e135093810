"""Row-stationary (RS) dataflow formulas (pure functions, vectorised over numpy arrays).

RS is Eyeriss's dataflow (Chen, Emer, Sze, ISCA 2016, Sec. V; Chen et al., JSSC 2017, Sec. III).
Each PE keeps one *filter row* (S weights) in its register file and slides it along one *ifmap
row*, producing one row of F partial sums: S·F MACs per (image, filter, channel) "unit".
A *PE set* of R×E PEs computes one 2-D convolution plane: filter rows go down the array's
rows, output rows across its columns; the psums of a column add up vertically into one
output row, ifmap rows are shared diagonally and filter rows horizontally.

Mapping a set onto a physical rows×cols array (JSSC 2017, Fig. 9):

* a tile holds whole output rows: an image, or a strip of E' < E of its rows (when a whole
  image's input does not fit the global buffer), which then plays the part of E below;
* a set wider than the array (E > cols) is cut into ``ceil(E/cols)`` *segments* of
  ``w = ceil(E/segments)`` columns each (AlexNet CONV1: E = 55 → 14, 14, 14, 13 on 14 columns);
* a set taller than the array (R > rows) is cut into ``ceil(R/rows)`` *row folds* whose psums
  are added in the global buffer;
* ``rows // R`` segments stack vertically and, when one segment is narrower than half the
  array, ``cols // w`` side by side: those *slots* run other (image, filter, channel) units
  at the same time (CONV3 on 12×14: four 3×13 sets, 156 active PEs).

Every slot pass takes S·F cycles (one MAC per PE per cycle), so a tile of ``units`` takes
``ceil(units/slots)·S·F`` cycles plus the vertical accumulation chain once (R_fold cycles).

Register-file reuse (JSSC 2017, Sec. IV-B): a PE holds ``q`` channels (q·S ifmap words) and ``p``
filters (p·q·S weight words, p psums), so an ifmap strip is read from the global buffer once per
p filters and a psum is written once per q channels. Replicas of a set smaller than the array
multiply both: ``t`` of them on different filters share an ifmap read, ``r`` on different
channels of the same outputs add their psums in the array (r·t ≤ replicas, split for the fewest
accesses). Global-buffer words per tile:

* filter: every weight once per (image, segment): M·C·R·S·N·segments;
* ifmap:  each segment's input strip ((w−1)·U + R rows × (F−1)·U + S columns) once per p·t filters;
* psum:   one write per output per q·r-channel group and row fold, one read-back for all but the
  first (and, in `asicsim.engine.tiling`, one more in every K-tile after a layer's first).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asicsim.config.hardware import RegisterFileConfig
from asicsim.workload.lowering import ConvShape


def _cdiv(a, b):
    return -(-a // b)


@dataclass(frozen=True)
class RsSets:
    """How one layer's PE sets sit on the array (independent of the tile)."""
    row_folds: int        # passes over filter rows when R > array rows
    rows_per_fold: int    # filter rows held per fold (array rows used by one set)
    segments: int         # column segments of the R×E set
    width: int            # columns per segment
    slots: int            # sets (segments) running at once

    e: int                # output rows of the whole set (sum of the segments' widths)

    @property
    def active_pes(self) -> int:
        """PEs busy in the fullest pass (JSSC 2017 Table V's "active # of PEs"): whole sets
        side by side, then the widest of the remaining segments (of widths w and w−1)."""
        whole, rest = divmod(self.slots, self.segments)
        narrow = self.segments * self.width - self.e          # segments one column narrower
        rest_cols = rest * self.width - max(0, rest - (self.segments - narrow))
        return self.rows_per_fold * (whole * self.e + rest_cols)


def rs_sets(shape: ConvShape, rows: int, cols: int, e=None) -> RsSets:
    """The set layout for ``e`` output rows (default: the layer's E; numpy arrays allowed)."""
    e = shape.e if e is None else e
    folds = _cdiv(shape.r, rows)
    r_eff = _cdiv(shape.r, folds)
    seg = _cdiv(e, cols)
    w = _cdiv(e, seg)
    vslots = rows // r_eff
    hslots = np.where(seg == 1, cols // w, 1)
    return RsSets(folds, r_eff, seg, w, vslots * hslots, e)


def rf_reuse(shape: ConvShape, c, m, rf: RegisterFileConfig):
    """(q channels, p filters) a PE holds at once (≥ 1 each), bounded by the tile's c and m."""
    q = np.maximum(1, np.minimum(rf.ifmap_words // shape.s, c))
    p = np.maximum(1, np.minimum(np.minimum(rf.filter_words // (q * shape.s), rf.psum_words), m))
    return q, p


def rs_tile_cycles(shape: ConvShape, images, e, c, m, rows: int, cols: int):
    """Array cycles of a tile of ``images`` × ``e`` output rows × ``c`` channels × ``m`` filters."""
    st = rs_sets(shape, rows, cols, e)
    units = images * m * c * st.segments * st.row_folds
    return _cdiv(units, st.slots) * shape.s * shape.f + st.rows_per_fold


def rs_glb_words(shape: ConvShape, images, e, c, m, rows: int, cols: int, rf: RegisterFileConfig):
    """(ifmap reads, filter reads, psum writes, psum reads) in global-buffer words for one tile.

    Of the replicas of a set that run at once (``slots`` over ``segments``: a set smaller than
    the array), ``r`` take different channel groups of the same outputs, their psums adding up
    through the array before one write, and ``t`` take different filter groups and share one read
    of the ifmap strip (JSSC 2017 Sec. IV's r and t), r·t ≤ replicas; the split with the fewest
    buffer words is taken."""
    st = rs_sets(shape, rows, cols, e)
    q, p = rf_reuse(shape, c, m, rf)
    u = shape.stride
    strip = ((st.width - 1) * u + shape.r) * ((shape.f - 1) * u + shape.s)
    flt = m * c * shape.r * shape.s * images * st.segments
    outs = images * m * e * shape.f
    # the segments of one output plane take the slots first (a set folded over the array runs as
    # a whole, JSSC 2017 Fig. 9); only replicas of a set smaller than the array are spare
    spare = np.maximum(1, np.asarray(st.slots) // st.segments)

    def split(r):       # (ifmap reads, psum writes, psum reads) with r channel replicas
        r = np.minimum(r, spare)
        groups = _cdiv(c, q * r) * st.row_folds
        return images * c * st.segments * strip * _cdiv(m, p * (spare // r)), outs * groups, outs * (groups - 1)

    best = split(1)
    for r in range(2, int(spare.max()) + 1):
        cand = split(r)
        take = sum(cand) < sum(best)
        best = tuple(np.where(take, x, y) for x, y in zip(cand, best))
    ifm, w, rd = best
    return ifm, flt, w, rd


def tile_dims(shape: ConvShape, tm, tk):
    """(images, output rows, channels) of a GEMM tile of ``tm`` rows × ``tk`` K-columns: tiles are
    whole output rows and whole channels; a tile smaller than one image is a strip of its rows."""
    e = np.minimum(shape.e, _cdiv(tm, shape.f))
    return _cdiv(tm, e * shape.f), e, _cdiv(tk, shape.r * shape.s)
