"""GEMM tiling search: tile sizes × loop orders that fit the SRAM buffers, least DRAM traffic.

Tile sizes (Tm, Tk, Tn) are aligned to the array so the fold count is exact; the six loop orders
are searched; tilings whose tiles (two copies when double-buffered) fit the buffers holding each operand are kept
and the one with the least DRAM traffic wins (then fewest compute cycles, then fewest steps).
See `asicsim.engine.mapping` for the traffic rule and the stream-chunk exclusion.
"""
from __future__ import annotations

import itertools
import math
from functools import partial

import numpy as np

from asicsim.config.hardware import HardwareConfig
from asicsim.engine.compression import dram_bytes_factor
from asicsim.engine.mapped import MappedOp, SramSpace, Step
from asicsim.engine.row_stationary import rs_glb_words, rs_tile_cycles, tile_dims
from asicsim.engine.systolic import (
    FOLD_AXES,
    ceil_div,
    fill_drain_cycles,
    preload_hidden_cycles,
    tile_fold_cycles,
    ofmap_sram_words,
    sram_reads_words,
)
from asicsim.errors import InputError
from asicsim.workload.lowering import GemmOp, Tensor

ORDERS = tuple(itertools.permutations("mkn"))
MAX_STEPS = 1 << 18       # per group; tilings needing more tile steps are not considered
STREAM_MIN_FACTOR = 2     # stream chunks ≥ 2× the fold's fill/drain: ≤ 50% extra compute


def _candidates(dim: int, unit: int) -> np.ndarray:
    vals = {dim}
    v = unit
    while v < dim:
        vals.add(v)
        v *= 2
    return np.array(sorted(vals), dtype=np.int64)


def operand_expansion(t: Tensor, virtual_elems: int) -> tuple[float, int]:
    """(im2col expansion ≥ 1, bytes actually fetched for one full pass) of a GEMM operand.

    An im2col view of x has more elements than x (overlapping windows: expansion > 1) and is
    fetched as x. A strided 1×1 view touches fewer elements than x; only those are fetched."""
    fetched = min(t.elems, virtual_elems)
    return virtual_elems / max(fetched, 1), fetched * t.elem_bytes


def link_factor(t: Tensor, hw: HardwareConfig) -> float:
    """DRAM-link bytes per raw byte of ``t`` (activation compression; 1 without it)."""
    return dram_bytes_factor(t.zero_fraction, hw.dram, 8 * t.elem_bytes)


def on_link(raw_bytes, factor: float):
    """Bytes on the DRAM link for ``raw_bytes`` (int or int array) at ``factor``: exact without
    compression, rounded to whole bytes with it."""
    return raw_bytes if factor == 1.0 else np.rint(np.multiply(raw_bytes, factor)).astype(np.int64)


def _gemm_search(op: GemmOp, hw: HardwareConfig, space: SramSpace, resident: set, ab: int,
                 restrict_stream: bool = True):
    """Vectorised search over tile sizes × loop orders; returns the best choice's parameters."""
    R, C = hw.array.rows, hw.array.cols
    df = hw.array.dataflow
    ax = FOLD_AXES[df]
    dims = {"m": op.m, "k": op.k, "n": op.n}
    units = {d: 1 for d in "mkn"}
    units[ax.rows_dim] = R
    units[ax.cols_dim] = C
    cs = op.conv if df == "rs" else None
    if cs is not None:          # row stationary: tiles of whole output rows and whole channels
        units = {"m": cs.f, "k": cs.r * cs.s, "n": 1}
        restrict_stream = False
    if space.ideal:
        grids = {d: np.array([dims[d]]) for d in "mkn"}
    else:
        grids = {d: _candidates(dims[d], units[d]) for d in "mkn"}
        if cs is not None:      # strips of every row count (each lays its PE sets out differently), or whole images
            img = cs.e * cs.f
            strips = np.arange(1, cs.e + 1, dtype=np.int64) * cs.f
            grids["m"] = np.union1d(strips[strips < min(img, dims["m"])], _candidates(dims["m"], min(img, dims["m"])))
        # a chunked stream pays fill/drain per fold per chunk: keep chunks ≥ STREAM_MIN_FACTOR× that
        # overhead, unless nothing else fits (then any chunk; see the module docstring)
        s = ax.stream_dim
        if restrict_stream:
            grids[s] = grids[s][grids[s] >= min(dims[s], STREAM_MIN_FACTOR * fill_drain_cycles(df, R, C))]
    Tm, Tk, Tn = np.meshgrid(grids["m"], grids["k"], grids["n"], indexing="ij")
    T = {"m": Tm.ravel(), "k": Tk.ravel(), "n": Tn.ravel()}
    t = {d: -(-dims[d] // T[d]) for d in "mkn"}
    steps = t["m"] * t["k"] * t["n"]
    ovh = fill_drain_cycles(df, R, C)
    fold_total = ceil_div(dims[ax.rows_dim], R) * ceil_div(dims[ax.cols_dim], C)
    compute = fold_total * dims[ax.stream_dim] + fold_total * t[ax.stream_dim] * ovh
    if getattr(space, "folds", (False, False)) != (False, False):   # fill/drain paid per tile (overlap)
        overlap, preload = space.folds
        per_tile_ovh = ovh if overlap else ovh - preload_hidden_cycles(df, R)
        compute = fold_total * dims[ax.stream_dim] + (steps * ovh if overlap else
                                                      fold_total * t[ax.stream_dim] * per_tile_ovh + steps * (ovh - per_tile_ovh))
    if cs is not None:          # every tile as a full one: an upper bound, for ranking only
        compute = steps * rs_tile_cycles(cs, *tile_dims(cs, T["m"], T["k"]), T["n"], R, C)

    A, B, Cc = op.a, op.b, op.c
    a_res, b_res = A.name in resident, B.name in resident
    eA, a_bytes = operand_expansion(A, op.m * op.k)
    eB, b_bytes = operand_expansion(B, op.k * op.n)
    a_link, b_link, c_link = (on_link(x, link_factor(t, hw)) for x, t in ((a_bytes, A), (b_bytes, B), (Cc.bytes, Cc)))

    def foot(tile_elems, expand, eb, once):
        return np.ceil(tile_elems / expand) * eb * np.where(once, 1, space.slots)

    fA = 0 if a_res else foot(T["m"] * T["k"], eA, A.elem_bytes, (t["m"] == 1) & (t["k"] == 1))
    # weights through a buffer that does not retain them (`SramConfig.retains`) need no tile slot:
    # they stream from DRAM to the PEs pass by pass, and every tile iteration fetches its tile again
    b_streamed = space.weights_streamed
    fB = 0 if b_res or b_streamed else foot(T["k"] * T["n"], eB, B.elem_bytes, (t["k"] == 1) & (t["n"] == 1))
    fC = T["m"] * T["n"] * ab * np.where((t["m"] == 1) & (t["n"] == 1), 1, space.slots)
    use = {b: 0 for b in space.budget}
    use[space.buf_of["ifmap"]] = use[space.buf_of["ifmap"]] + fA
    use[space.buf_of["filter"]] = use[space.buf_of["filter"]] + fB
    use[space.buf_of["ofmap"]] = use[space.buf_of["ofmap"]] + fC
    fits = np.ones_like(steps, dtype=bool)
    for b, u in use.items():
        fits &= np.asarray(u <= space.budget[b])
    fits_sram = fits.copy()
    fits &= steps <= MAX_STEPS
    keep_c = Cc.on_chip_candidate and not space.ideal
    fused = op.fused_output
    by_time = hw.mapping_objective == "time" and not space.ideal
    best = None
    several = {d: t[d] > 1 for d in "mkn"}
    for order in ORDERS:
        pos = {d: i for i, d in enumerate(order)}

        def mult(index_dims, other):
            """Refetch factor of an operand indexed by ``index_dims``: the trips of loop ``other``
            if it runs (> 1 trip) outside an index loop that runs."""
            outside = [several[d] for d in index_dims if pos[other] < pos[d]]
            if not outside:
                return 1
            inner = outside[0] if len(outside) == 1 else outside[0] | outside[1]
            return np.where(several[other] & inner, t[other], 1)

        mA, mB, mC = mult("mk", "n"), t["m"] if b_streamed else mult("kn", "m"), mult("mn", "k")
        rd = (0 if a_res else a_link * mA) + (0 if b_res else b_link * mB) + Cc.elems * ab * (mC - 1)
        wr = c_link + Cc.elems * ab * (mC - 1)
        # keeping G on chip saves its write here and its read in the update
        if fused:   # each C tile is consumed on chip when done; it must not be spilled
            on_chip = np.ones_like(steps, dtype=bool)
            cost = np.where(mC == 1, rd + wr - c_link, np.iinfo(np.int64).max)
        else:
            on_chip = (t["m"] == 1) & (t["n"] == 1) & keep_c
            cost = rd + wr - np.where(on_chip, 2 * c_link, 0)
        valid = fits & (cost != np.iinfo(np.int64).max)
        cost = np.where(valid, cost, np.iinfo(np.int64).max)
        if by_time:     # estimated cycles first (`HardwareConfig.mapping_objective`), then traffic
            link = cost / space.dram_bpc
            est = np.where(valid, compute + link if space.slots == 1 else np.maximum(compute, link), np.inf)
            key = np.lexsort((steps, compute, cost, est))
        else:
            est = np.zeros(len(cost))
            key = np.lexsort((steps, compute, cost))
        i = key[0]
        if not valid[i]:
            continue
        cand = (float(est[i]), int(cost[i]), int(compute[i]), int(steps[i]))
        if best is None or cand < best[0]:
            best = (cand, order, int(T["m"][i]), int(T["k"][i]), int(T["n"][i]), bool(on_chip[i]))
    if best is None and restrict_stream:
        return _gemm_search(op, hw, space, resident, ab, restrict_stream=False)
    if best is None:
        avail = {b: int(v) for b, v in space.budget.items()}
        if fits_sram.any():
            raise InputError(
                f"layer '{op.layer}' ({op.phase}, GEMM {op.m}×{op.k}×{op.n}): every tiling that fits the SRAM "
                f"needs more than {MAX_STEPS} tile steps (available {avail} bytes)",
                field="sram", allowed="a larger SRAM capacity or a smaller batch")
        total = sum(np.broadcast_to(u, steps.shape) for u in use.values())
        i = int(np.argmin(total))
        need = {b: int(np.broadcast_to(u, steps.shape)[i]) for b, u in use.items()}
        raise InputError(
            f"layer '{op.layer}' ({op.phase}, GEMM {op.m}×{op.k}×{op.n}): no tiling fits the SRAM "
            f"(the smallest tiles, with their buffering, need {need} bytes, available {avail})",
            field="sram", allowed="a larger SRAM capacity or a smaller array")
    return best


_new_step = partial(tuple.__new__, Step)   # Step from a 4-tuple, at C speed (a sweep builds ~10⁷)


def _tile_bytes(r0, r1, c0, c1, rows: int, cols: int, total: int):
    """Bytes fetched for the tile [r0, r1) × [c0, c1) of a rows×cols operand whose full pass
    fetches ``total`` bytes: differences of F(r, c) = ⌊r·c·total / (rows·cols)⌋, so the tiles of
    one pass add up to exactly ``total`` (what the search's formula charges). Works on arrays."""
    if rows * cols * total < 2 ** 62:
        F = lambda r, c: r * c * total // (rows * cols)
    else:   # too large for int64 products: exact enough in float (relative error ~1e-16)
        F = lambda r, c: np.floor(r.astype(float) * c * (total / (rows * cols))).astype(np.int64)
    return F(r1, c1) - F(r0, c1) - F(r1, c0) + F(r0, c0)


def _gemm_steps(op: GemmOp, hw: HardwareConfig, space: SramSpace, resident: set, ab: int,
                order, tm: int, tk: int, tn: int, c_on_chip: bool) -> tuple[list[Step], dict]:
    """Walk the chosen loop nest once (vectorised over its iterations) and emit run-length-encoded
    tile steps plus totals. An operand tile is fetched when its index changes from the previous
    iteration; an output tile is written when the next iteration leaves it (final values if its K
    loop is done, partial sums otherwise) and its partial sums are fetched back on a revisit."""
    R, C = hw.array.rows, hw.array.cols
    df = hw.array.dataflow
    ax = FOLD_AXES[df]
    ovh = fill_drain_cycles(df, R, C)
    dims = {"m": op.m, "k": op.k, "n": op.n}
    tiles = {"m": tm, "k": tk, "n": tn}
    trips = {d: ceil_div(dims[d], tiles[d]) for d in "mkn"}
    A, B, Cc = op.a, op.b, op.c
    _, a_bytes = operand_expansion(A, op.m * op.k)
    _, b_bytes = operand_expansion(B, op.k * op.n)
    fa, fb, fc = link_factor(A, hw), link_factor(B, hw), link_factor(Cc, hw)
    bufs = space.buf_of
    bpc_arr = min(space.bpc[bufs["ifmap"]], space.bpc[bufs["filter"]], space.bpc[bufs["ofmap"]])

    grid = np.indices(tuple(trips[d] for d in order)).reshape(3, -1)
    it = {d: grid[i].astype(np.int64) for i, d in enumerate(order)}
    n_it = grid.shape[1]
    lo = {d: it[d] * tiles[d] for d in "mkn"}
    sz = {d: np.minimum(tiles[d], dims[d] - lo[d]) for d in "mkn"}
    first = np.zeros(n_it, dtype=bool)
    first[0] = True

    def changed(a, b):
        key = it[a] * trips[b] + it[b]
        ch = first.copy()
        ch[1:] |= key[1:] != key[:-1]
        return key, ch

    _, a_ch = changed("m", "k")
    _, b_ch = changed("k", "n")
    c_key, c_ch = changed("m", "n")
    fill_a = np.zeros(n_it, dtype=np.int64) if A.name in resident else np.where(
        a_ch, _tile_bytes(lo["m"], lo["m"] + sz["m"], lo["k"], lo["k"] + sz["k"], op.m, op.k, a_bytes), 0)
    if space.weights_streamed:
        b_ch = np.ones(n_it, dtype=bool)       # streamed weights: fetched for every iteration
    fill_b = np.zeros(n_it, dtype=np.int64) if B.name in resident else np.where(
        b_ch, _tile_bytes(lo["k"], lo["k"] + sz["k"], lo["n"], lo["n"] + sz["n"], op.k, op.n, b_bytes), 0)
    first_visit = np.full(trips["m"] * trips["n"], n_it, dtype=np.int64)
    np.minimum.at(first_visit, c_key, np.arange(n_it))
    revisit = c_ch & (np.arange(n_it) > first_visit[c_key])
    fill_c = np.where(revisit, sz["m"] * sz["n"] * ab, 0)     # partial sums come back
    # on the DRAM link (activation compression, when the link has it; the SRAM holds raw words)
    load = on_link(fill_a, fa) + on_link(fill_b, fb) + fill_c
    leave = np.ones(n_it, dtype=bool)
    leave[:-1] = c_key[1:] != c_key[:-1]
    done = it["k"] == trips["k"] - 1
    write_raw = np.where(leave, np.where(done, 0 if c_on_chip else sz["m"] * sz["n"] * Cc.elem_bytes,
                                         sz["m"] * sz["n"] * ab), 0)
    write = write_raw if fc == 1.0 else np.where(done, on_link(write_raw, fc), write_raw)   # psums go raw
    nf = ceil_div(sz[ax.rows_dim], R) * ceil_div(sz[ax.cols_dim], C)
    overlap, preload = getattr(space, "folds", (False, False))
    cs = op.conv if df == "rs" else None
    if cs is not None:          # row stationary (asicsim.engine.row_stationary)
        images, e, chans = tile_dims(cs, sz["m"], sz["k"])
        fold_cyc = rs_tile_cycles(cs, images, e, chans, sz["n"], R, C)
        ifm, flt, ow, orr = rs_glb_words(cs, images, e, chans, sz["n"], R, C, hw.array.register_files)
    else:
        fold_cyc = nf * (sz[ax.stream_dim] + ovh) if not (overlap or preload) else \
            tile_fold_cycles(df, nf, sz[ax.stream_dim], R, C, overlap, preload)
        ifm, flt = sram_reads_words(df, sz["m"], sz["k"], sz["n"], R, C)
        ow, orr = ofmap_sram_words(df, sz["m"], sz["k"], sz["n"], R, C)
    # a K-tile after the first adds to the partial sums the earlier ones left: one read-back per output
    orr = orr + np.where(it["k"] > 0, sz["m"] * sz["n"], 0)
    # the SRAM ports carry the array's operand stream and the DMA's fills and drains (those of the
    # neighbouring steps overlap this one; in a run of equal steps they are this step's own)
    port_bytes = ifm * A.elem_bytes + flt * B.elem_bytes + (ow + orr) * ab + fill_a + fill_b + fill_c + write_raw
    cyc = np.broadcast_to(fold_cyc if not math.isfinite(bpc_arr) else
                          np.maximum(fold_cyc, np.ceil(port_bytes / bpc_arr).astype(np.int64)), (n_it,))
    total = lambda x: int(np.sum(np.broadcast_to(x, (n_it,))))
    sram_r = {b: 0 for b in space.budget}
    sram_w = {b: 0 for b in space.budget}
    sram_w[bufs["ifmap"]] += total(fill_a)            # DRAM fills are SRAM writes
    sram_w[bufs["filter"]] += total(fill_b)
    sram_w[bufs["ofmap"]] += total(fill_c) + total(ow * ab)
    sram_r[bufs["ifmap"]] += total(ifm * A.elem_bytes)
    sram_r[bufs["filter"]] += total(flt * B.elem_bytes)
    sram_r[bufs["ofmap"]] += total(orr * ab) + total(write_raw)   # write-backs leave SRAM
    # run-length encode identical consecutive steps
    brk = np.ones(n_it, dtype=bool)
    brk[1:] = (load[1:] != load[:-1]) | (cyc[1:] != cyc[:-1]) | (write[1:] != write[:-1])
    starts = np.flatnonzero(brk)
    counts = np.diff(np.append(starts, n_it))
    steps = list(map(_new_step, zip(counts.tolist(), load[starts].tolist(), cyc[starts].tolist(),
                                    write[starts].tolist())))
    pad = total(on_link(fill_b, fb)) if space.weights_streamed else 0
    return steps, dict(sram_r=sram_r, sram_w=sram_w, dram_r=int(load.sum()), dram_w=int(write.sum()),
                       compute=int(cyc.sum()), pad=pad)


def map_gemm(op: GemmOp, hw: HardwareConfig, space: SramSpace, resident: set) -> MappedOp:
    ab = hw.array.accumulator_bytes
    _, order, tm, tk, tn, c_on_chip = _gemm_search(op, hw, space, resident, ab)
    steps, tot = _gemm_steps(op, hw, space, resident, ab, order, tm, tk, tn, c_on_chip)
    g = op.groups
    if g > 1:
        reps: list[Step] = []
        for _ in range(g):
            for s in steps:
                if reps and (reps[-1].load_bytes, reps[-1].compute_cycles, reps[-1].write_bytes) == \
                        (s.load_bytes, s.compute_cycles, s.write_bytes):
                    reps[-1] = Step(reps[-1].count + s.count, s.load_bytes, s.compute_cycles, s.write_bytes)
                else:
                    reps.append(s)
        steps = reps
    # SCALE-Sim's "−1" (systolic dataflows only; the count is the index of the last cycle)
    last = steps[-1]
    minus = 0 if (op.conv is not None and hw.array.dataflow == "rs") else 1
    if minus and last.count > 1:
        steps = steps[:-1] + [Step(last.count - 1, last.load_bytes, last.compute_cycles, last.write_bytes),
                              Step(1, last.load_bytes, last.compute_cycles - 1, last.write_bytes)]
    elif minus:
        steps = steps[:-1] + [Step(1, last.load_bytes, last.compute_cycles - 1, last.write_bytes)]
    sram_r = {b: v * g for b, v in tot["sram_r"].items()}
    sram_w = {b: v * g for b, v in tot["sram_w"].items()}
    dram_r, dram_w = tot["dram_r"] * g, tot["dram_w"] * g
    kept = (op.c.name,) if c_on_chip else ()
    return MappedOp(op.layer, op.phase, "array", "gemm", op.m, op.k, op.n, g, op.macs, 0,
                    f"Tm={tm} Tk={tk} Tn={tn} order={''.join(order)}{' G-on-chip' if c_on_chip else ''}",
                    tuple(steps), tot["compute"] * g - minus, dram_r, dram_w, sram_r, sram_w, kept,
                    pad_fill_bytes=tot["pad"] * g)


