"""Mapping: tile every op to fit the SRAM buffers, pick the loop order, decide what stays on chip.

For a GEMM the mapper searches tile sizes (Tm, Tk, Tn) — aligned to the array so the fold count is
exact — and the six loop orders, keeps those whose double-buffered tiles fit the buffers holding
each operand, and takes the one with the least DRAM traffic (then fewest compute cycles, then
fewest steps). DRAM traffic per operand is its stored size times the number of times the loop
nest forces it to be fetched again: an operand is re-fetched once per iteration of its
non-indexing loop when that loop (with more than one trip) lies outside the operand's innermost
indexing loop. An output evicted before its K loop finishes is spilled and re-read as partial
sums at accumulator precision. Traffic therefore never falls below the compulsory bytes (each
operand read once, each result written once) unless a tensor is resident on chip.

Residency: a gradient G whose whole output tile can stay in SRAM through the weight-gradient GEMM
is handed to the update on chip (no DRAM write/read). Persistent state (optimizer state, then
also weights) is kept on chip across steps under a `ResidencyPlan`; `plan_options` lists the
plans that fit in half the SRAM and the caller keeps the one with the least DRAM traffic, so
more SRAM can never mean more traffic.

Stream chunks: a GEMM whose stream dimension is cut into chunks pays the fold's fill/drain once
per chunk. Minimising DRAM bytes alone then picks absurdly short chunks (2-3× the compute for a
few % less traffic), so tilings with chunks shorter than STREAM_MIN_FACTOR × fill/drain are left
out — unless no other tiling fits, when all are allowed. Within either candidate set more SRAM
never means more DRAM traffic; across the switch (an SRAM too small for one such chunk) it can.

The result of a mapped op is a run-length-encoded list of tile `Step`s (DRAM bytes to load,
compute cycles, DRAM bytes to write back) that the event simulation streams through.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from .config import HardwareConfig
from .errors import InputError
from .lowering import CrossbarOp, GemmOp, Lowered, SbpcaOp, Tensor, VectorOp, op_tensors
from .systolic import (FOLD_AXES, ceil_div, fill_drain_cycles, gemm_compute_cycles, ofmap_sram_words,
                       sram_reads_words)

ORDERS = tuple(itertools.permutations("mkn"))
MAX_STEPS = 1 << 18       # per group; tilings needing more tile steps are not considered
RESIDENT_FRACTION = 0.5
STREAM_MIN_FACTOR = 2   # stream chunks ≥ 2× the fold's fill/drain: ≤ 50% extra compute   # at most this share of each buffer may hold persistent state


@dataclass(frozen=True)
class Step:
    """``count`` identical consecutive tile steps."""
    count: int
    load_bytes: int
    compute_cycles: int
    write_bytes: int


@dataclass(frozen=True)
class MappedOp:
    layer: str
    phase: str
    unit: str                  # "array" | "vector"
    kind: str                  # "gemm" or the vector op's kind
    m: int
    k: int
    n: int
    groups: int
    macs: int
    vector_ops: int
    tiling: str
    steps: tuple[Step, ...]
    compute_cycles: int
    dram_read_bytes: int
    dram_write_bytes: int
    sram_read_bytes: dict = field(default_factory=dict)   # buffer name → bytes
    sram_write_bytes: dict = field(default_factory=dict)
    kept_on_chip: tuple[str, ...] = ()
    cell_pulses: int = 0       # crossbar cell programming events (CrossbarOp)


@dataclass(frozen=True)
class ResidencyPlan:
    """Which persistent tensors live on chip for the whole step, and the SRAM they reserve."""
    name: str
    resident: frozenset
    reserved_bytes: dict          # buffer → bytes


@dataclass(frozen=True)
class Mapping:
    plan: ResidencyPlan
    ops: tuple[MappedOp, ...]

    @property
    def dram_bytes(self) -> int:
        return sum(o.dram_read_bytes + o.dram_write_bytes for o in self.ops)


class _Space:
    """SRAM space available to tiles, per buffer, and where each operand role lives."""

    def __init__(self, hw: HardwareConfig, plan: ResidencyPlan, ideal: bool):
        self.ideal = ideal
        self.buf_of = {op: hw.buffer_of(op) for op in ("ifmap", "filter", "ofmap")}
        self.budget = {b: (math.inf if ideal else cfg.capacity_bytes - plan.reserved_bytes.get(b, 0))
                       for b, cfg in hw.sram.items()}
        self.bpc = {b: (math.inf if ideal else cfg.bytes_per_cycle) for b, cfg in hw.sram.items()}


def _candidates(dim: int, unit: int) -> np.ndarray:
    vals = {dim}
    v = unit
    while v < dim:
        vals.add(v)
        v *= 2
    return np.array(sorted(vals), dtype=np.int64)


def _expansion(t: Tensor, virtual_elems: int) -> tuple[float, int]:
    """(im2col expansion ≥ 1, bytes actually fetched for one full pass) of a GEMM operand.

    An im2col view of x has more elements than x (overlapping windows: expansion > 1) and is
    fetched as x. A strided 1×1 view touches fewer elements than x; only those are fetched."""
    fetched = min(t.elems, virtual_elems)
    return virtual_elems / max(fetched, 1), fetched * t.elem_bytes


def _gemm_search(op: GemmOp, hw: HardwareConfig, space: _Space, resident: set, ab: int,
                 restrict_stream: bool = True):
    """Vectorised search over tile sizes × loop orders; returns the best choice's parameters."""
    R, C = hw.array.rows, hw.array.cols
    df = hw.array.dataflow
    ax = FOLD_AXES[df]
    dims = {"m": op.m, "k": op.k, "n": op.n}
    units = {d: 1 for d in "mkn"}
    units[ax.rows_dim] = R
    units[ax.cols_dim] = C
    if space.ideal:
        grids = {d: np.array([dims[d]]) for d in "mkn"}
    else:
        grids = {d: _candidates(dims[d], units[d]) for d in "mkn"}
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

    A, B, Cc = op.a, op.b, op.c
    a_res, b_res = A.name in resident, B.name in resident
    eA, a_bytes = _expansion(A, op.m * op.k)
    eB, b_bytes = _expansion(B, op.k * op.n)

    def foot(tile_elems, expand, eb, once):
        return np.ceil(tile_elems / expand) * eb * np.where(once, 1, 2)

    fA = 0 if a_res else foot(T["m"] * T["k"], eA, A.elem_bytes, (t["m"] == 1) & (t["k"] == 1))
    fB = 0 if b_res else foot(T["k"] * T["n"], eB, B.elem_bytes, (t["k"] == 1) & (t["n"] == 1))
    fC = T["m"] * T["n"] * ab * np.where((t["m"] == 1) & (t["n"] == 1), 1, 2)
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
    best = None
    for order in ORDERS:
        pos = {d: i for i, d in enumerate(order)}

        def mult(index_dims, other):
            inner = np.full(steps.shape, -1)
            for d in index_dims:
                inner = np.maximum(inner, np.where(t[d] > 1, pos[d], -1))
            return np.where((t[other] > 1) & (pos[other] < inner), t[other], 1)

        mA, mB, mC = mult("mk", "n"), mult("kn", "m"), mult("mn", "k")
        rd = (0 if a_res else a_bytes * mA) + (0 if b_res else b_bytes * mB) + Cc.elems * ab * (mC - 1)
        wr = Cc.bytes + Cc.elems * ab * (mC - 1)
        # keeping G on chip saves its write here and its read in the update
        if fused:   # each C tile is consumed on chip when done; it must not be spilled
            on_chip = np.ones_like(steps, dtype=bool)
            cost = np.where(mC == 1, rd + wr - Cc.bytes, np.iinfo(np.int64).max)
        else:
            on_chip = (t["m"] == 1) & (t["n"] == 1) & keep_c
            cost = rd + wr - np.where(on_chip, 2 * Cc.bytes, 0)
        valid = fits & (cost != np.iinfo(np.int64).max)
        cost = np.where(valid, cost, np.iinfo(np.int64).max)
        key = np.lexsort((steps, compute, cost))
        i = key[0]
        if not valid[i]:
            continue
        cand = (int(cost[i]), int(compute[i]), int(steps[i]))
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
            f"(the smallest double-buffered tiles need {need} bytes, available {avail})",
            field="sram", allowed="a larger SRAM capacity or a smaller array")
    return best


def _tile_bytes(r0, r1, c0, c1, rows: int, cols: int, total: int):
    """Bytes fetched for the tile [r0, r1) × [c0, c1) of a rows×cols operand whose full pass
    fetches ``total`` bytes: differences of F(r, c) = ⌊r·c·total / (rows·cols)⌋, so the tiles of
    one pass add up to exactly ``total`` (what the search's formula charges). Works on arrays."""
    if rows * cols * total < 2 ** 62:
        F = lambda r, c: r * c * total // (rows * cols)
    else:   # too large for int64 products: exact enough in float (relative error ~1e-16)
        F = lambda r, c: np.floor(r.astype(float) * c * (total / (rows * cols))).astype(np.int64)
    return F(r1, c1) - F(r0, c1) - F(r1, c0) + F(r0, c0)


def _gemm_steps(op: GemmOp, hw: HardwareConfig, space: _Space, resident: set, ab: int,
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
    _, a_bytes = _expansion(A, op.m * op.k)
    _, b_bytes = _expansion(B, op.k * op.n)
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
    fill_b = np.zeros(n_it, dtype=np.int64) if B.name in resident else np.where(
        b_ch, _tile_bytes(lo["k"], lo["k"] + sz["k"], lo["n"], lo["n"] + sz["n"], op.k, op.n, b_bytes), 0)
    first_visit = np.full(trips["m"] * trips["n"], n_it, dtype=np.int64)
    np.minimum.at(first_visit, c_key, np.arange(n_it))
    revisit = c_ch & (np.arange(n_it) > first_visit[c_key])
    fill_c = np.where(revisit, sz["m"] * sz["n"] * ab, 0)     # partial sums come back
    load = fill_a + fill_b + fill_c
    leave = np.ones(n_it, dtype=bool)
    leave[:-1] = c_key[1:] != c_key[:-1]
    done = it["k"] == trips["k"] - 1
    write = np.where(leave, np.where(done, 0 if c_on_chip else sz["m"] * sz["n"] * Cc.elem_bytes,
                                     sz["m"] * sz["n"] * ab), 0)
    nf = ceil_div(sz[ax.rows_dim], R) * ceil_div(sz[ax.cols_dim], C)
    fold_cyc = nf * (sz[ax.stream_dim] + ovh)
    ifm, flt = sram_reads_words(df, sz["m"], sz["k"], sz["n"], R, C)
    ow, orr = ofmap_sram_words(df, sz["m"], sz["k"], sz["n"], R, C)
    # the SRAM ports carry the array's operand stream and the DMA's fills and drains (those of the
    # neighbouring steps overlap this one; in a run of equal steps they are this step's own)
    port_bytes = ifm * A.elem_bytes + flt * B.elem_bytes + (ow + orr) * ab + load + write
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
    sram_r[bufs["ofmap"]] += total(orr * ab) + total(write)   # write-backs leave SRAM
    # run-length encode identical consecutive steps
    brk = np.ones(n_it, dtype=bool)
    brk[1:] = (load[1:] != load[:-1]) | (cyc[1:] != cyc[:-1]) | (write[1:] != write[:-1])
    starts = np.flatnonzero(brk)
    counts = np.diff(np.append(starts, n_it))
    steps = [Step(int(c), int(load[i]), int(cyc[i]), int(write[i])) for i, c in zip(starts, counts)]
    return steps, dict(sram_r=sram_r, sram_w=sram_w, dram_r=int(load.sum()), dram_w=int(write.sum()),
                       compute=int(cyc.sum()))


def map_gemm(op: GemmOp, hw: HardwareConfig, space: _Space, resident: set) -> MappedOp:
    ab = hw.array.accumulator_bytes
    (cost, _, _), order, tm, tk, tn, c_on_chip = _gemm_search(op, hw, space, resident, ab)
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
    # SCALE-Sim's "−1": the reported count is the index of the last cycle
    last = steps[-1]
    if last.count > 1:
        steps = steps[:-1] + [Step(last.count - 1, last.load_bytes, last.compute_cycles, last.write_bytes),
                              Step(1, last.load_bytes, last.compute_cycles - 1, last.write_bytes)]
    else:
        steps = steps[:-1] + [Step(1, last.load_bytes, last.compute_cycles - 1, last.write_bytes)]
    sram_r = {b: v * g for b, v in tot["sram_r"].items()}
    sram_w = {b: v * g for b, v in tot["sram_w"].items()}
    dram_r, dram_w = tot["dram_r"] * g, tot["dram_w"] * g
    kept = (op.c.name,) if c_on_chip else ()
    return MappedOp(op.layer, op.phase, "array", "gemm", op.m, op.k, op.n, g, op.macs, 0,
                    f"Tm={tm} Tk={tk} Tn={tn} order={''.join(order)}{' G-on-chip' if c_on_chip else ''}",
                    tuple(steps), tot["compute"] * g - 1, dram_r, dram_w, sram_r, sram_w, kept)


def map_vector(op: VectorOp, hw: HardwareConfig, space: _Space, resident: set) -> MappedOp:
    """Stream the op's tensors through SRAM in double-buffered chunks; one element op per lane
    per cycle, or slower if the SRAM port is the bottleneck."""
    in_buf, out_buf = space.buf_of["ifmap"], space.buf_of["ofmap"]
    rd = sum(t.bytes for t in op.reads if t.name not in resident)
    wr = sum(t.bytes for t in op.writes if t.name not in resident)
    sram_rd = sum(t.bytes for t in op.reads)        # the vector unit reads every operand from SRAM
    sram_wr = sum(t.bytes for t in op.writes)
    chunk_budget = min(space.budget[in_buf], space.budget[out_buf]) / 2
    nchunks = 1 if space.ideal else max(1, math.ceil((rd + wr) / max(chunk_budget, 1)))
    lanes = hw.vector.lanes
    bpc = min(space.bpc[in_buf], space.bpc[out_buf])
    base = [ceil_div(op.ops, lanes), ceil_div(sram_rd + sram_wr + rd + wr, bpc) if math.isfinite(bpc) else 0]
    total_cyc = max(base)
    steps = []
    q_c, r_c = divmod(total_cyc, nchunks)
    q_r, r_r = divmod(rd, nchunks)
    q_w, r_w = divmod(wr, nchunks)
    if nchunks > 1:
        steps.append(Step(nchunks - 1, q_r, q_c, q_w))
    steps.append(Step(1, q_r + r_r, q_c + r_c, q_w + r_w))
    sram_r = {b: 0 for b in space.budget}
    sram_w = {b: 0 for b in space.budget}
    sram_r[in_buf] += sram_rd + wr      # operands read by the unit; results read out for write-back
    sram_w[out_buf] += sram_wr + rd     # results written; fills written
    return MappedOp(op.layer, op.phase, "vector", op.kind, 0, 0, 0, 1, 0, op.ops,
                    f"chunks={nchunks}", tuple(steps), total_cyc, rd, wr, sram_r, sram_w,
                    tuple(t.name for t in op.writes if t.name in resident))


def sbpca_subbatch_array_cycles(df: str, m: int, n: int, k: int, s: int, R: int, C: int) -> int:
    """Array cycles of one sub-batch's five skinny GEMMs (DESIGN.md §2 steps 1, 3, 5): Ds·Δ (s×m·m×k),
    Xsᵀ·(DsΔ) (n×s·s×k), Xs·X (s×n·n×k), Dsᵀ·(XsX) (m×s·s×k), Ds·Δ_new (s×m·m×k), back to back
    (fold model; each GEMM is small enough to be one tile)."""
    shapes = ((s, m, k), (n, s, k), (s, n, k), (m, s, k), (s, m, k))
    return sum(gemm_compute_cycles(df, M, K, N, R, C) + 1 for M, K, N in shapes)


def map_sbpca(op: SbpcaOp, hw: HardwareConfig, space: _Space, resident: set) -> MappedOp:
    """One step per sub-batch: fetch its Xs (s im2col patches) and Ds (s output errors), run the
    projections (array or vector unit), then QR, mixing and σ on the vector unit (data-dependent,
    so not overlapped with the projections of the same sub-batch).

    Traffic: x and δ are fetched once when a sub-batch's Xs and Ds (double-buffered) plus the
    factors fit the buffers; otherwise each use streams them again (Xs twice, Ds three times,
    as the kernel reads them). Factors not resident across steps are read at the start and
    written back at the end (per sub-batch if they do not fit next to Xs and Ds). SRAM accesses:
    the kernel's operand reads (Ds 3×, Xs 2× per pair) and factor reads/writes (4 reads and 2
    writes of k·(m+n) per sub-batch: projections, mixing, QR in and out)."""
    a = hw.array
    ob, ab = a.operand_bytes, a.accumulator_bytes
    c = op.counts
    g, S = op.groups, c["sub_batches"]
    m, n, k, s = op.m, op.n, op.k, op.s
    in_buf, f_buf = space.buf_of["ifmap"], space.buf_of["filter"]
    x_fetch = _expansion(op.x, op.pairs * n * g)[1]
    dy_fetch = min(op.dy.elems, op.pairs * m * g) * op.dy.elem_bytes
    factor_bytes = op.delta.bytes + op.xf.bytes + op.sigma.bytes          # all groups
    f_res = op.delta.name in resident
    work = 2 * s * (m + n) * ob + (0 if f_res else factor_bytes // g) + 2 * s * k * ab
    budget = min(space.budget[in_buf], space.budget[f_buf]) if in_buf != f_buf else space.budget[in_buf]
    fits = space.ideal or work <= budget
    stream = (x_fetch + dy_fetch) if fits else (2 * x_fetch + 3 * dy_fetch)
    if f_res:
        f_in = f_out = 0
    elif fits:
        f_in = f_out = factor_bytes
    else:
        f_in = f_out = factor_bytes * S
    if op.projections == "array":
        arr = sbpca_subbatch_array_cycles(a.dataflow, m, n, k, s, a.rows, a.cols)
        macs = c["proj_macs"] * g
        vec_ops = (c["macs"] - c["proj_macs"] + c["elem_ops"]) * g
    else:
        arr = 0
        macs = 0
        vec_ops = (c["macs"] + c["elem_ops"]) * g
    nsteps = S * g
    dram_r = stream + f_in
    dram_w = f_out
    fb = k * (m + n) * ab * S * g
    sram_r = {b: 0 for b in space.budget}
    sram_w = {b: 0 for b in space.budget}
    sram_r[in_buf] += op.pairs * g * (3 * m + 2 * n) * ob
    sram_r[f_buf] += 4 * fb + dram_w
    sram_w[f_buf] += 2 * fb
    sram_w[in_buf] += dram_r
    # per sub-batch: projections, then the vector work; the SRAM ports bound both together
    port_bytes = sum(sram_r.values()) + sum(sram_w.values())
    bpc = min(space.bpc[in_buf], space.bpc[f_buf])
    per_sb = arr + ceil_div(vec_ops, nsteps * hw.vector.lanes)
    if math.isfinite(bpc):
        per_sb = max(per_sb, math.ceil(port_bytes / nsteps / bpc))
    if fits:      # factors in at the first sub-batch, out after the last
        ld, first_ld, wr, first_wr = stream // nsteps, stream // nsteps + f_in, 0, 0
    else:         # factors in and out around every sub-batch
        ld = first_ld = dram_r // nsteps
        wr = first_wr = dram_w // nsteps
    if nsteps == 1:
        steps = [Step(1, dram_r, per_sb, dram_w)]
    else:         # the last step takes the remainders, so the steps add up to the totals exactly
        mid = nsteps - 2
        steps = [Step(1, first_ld, per_sb, first_wr)] + ([Step(mid, ld, per_sb, wr)] if mid else [])
        steps.append(Step(1, dram_r - first_ld - mid * ld, per_sb, dram_w - first_wr - mid * wr))
    cyc = sum(st.count * st.compute_cycles for st in steps)
    return MappedOp(op.layer, op.phase, "array", "sbpca", m, k, n, g, macs, vec_ops,
                    f"k={k} s={s} sub-batches={S} projections={op.projections}"
                    f"{'' if fits else ' (sub-batch does not fit: re-streamed)'}",
                    tuple(steps), cyc, dram_r, dram_w, sram_r, sram_w)


def map_crossbar(op: CrossbarOp, hw: HardwareConfig, space: _Space, resident: set) -> MappedOp:
    """k outer-product pulses per group, each programming all m·n cells in ``pulse_ns``; the
    factors are read once (from DRAM unless resident)."""
    if hw.crossbar is None:
        raise InputError("update apply=crossbar needs a 'crossbar' section in the accelerator file",
                         field="crossbar", allowed="crossbar: {pulse_ns: …, pulse_pj_per_cell: …}")
    rd = sum(t.bytes for t in op.factors if t.name not in resident)
    pulses = op.k * op.groups
    cyc = math.ceil(pulses * hw.crossbar.pulse_ns * hw.array.clock_ghz)
    f_buf = space.buf_of["filter"]
    sram_r = {b: 0 for b in space.budget}
    sram_w = {b: 0 for b in space.budget}
    sram_r[f_buf] += sum(t.bytes for t in op.factors)
    sram_w[f_buf] += rd
    return MappedOp(op.layer, op.phase, "vector", "crossbar", op.m, op.k, op.n, op.groups, 0, 0,
                    f"pulses={pulses}", (Step(1, rd, cyc, 0),), cyc, rd, 0, sram_r, sram_w,
                    cell_pulses=pulses * op.m * op.n)


MAPPERS = {GemmOp: map_gemm, VectorOp: map_vector, SbpcaOp: map_sbpca, CrossbarOp: map_crossbar}


def map_ops(lowered: Lowered, hw: HardwareConfig, plan: ResidencyPlan, ideal: bool = False) -> Mapping:
    """Map every op in order. Tensors kept on chip by a producer are resident for their consumer."""
    space = _Space(hw, plan, ideal)
    resident = set(plan.resident)
    out = []
    for op in lowered.ops:
        mo = MAPPERS[type(op)](op, hw, space, resident)
        resident.update(mo.kept_on_chip)
        out.append(mo)
    return Mapping(plan, tuple(out))


def persistent_tensors(lowered: Lowered) -> dict[str, dict[str, Tensor]]:
    """Persistent tensors by class: 'state' (optimizer/SBPCA state) and 'weights'."""
    state: dict[str, Tensor] = {}
    weights: dict[str, Tensor] = {}
    for op in lowered.ops:
        for t in op_tensors(op):
            if t.persistent:
                (weights if t.name.endswith((".W", ".b")) else state)[t.name] = t
    return {"state": state, "weights": weights}


def plan_options(lowered: Lowered, hw: HardwareConfig, ideal: bool = False) -> list[ResidencyPlan]:
    """Residency plans to try: nothing resident; optimizer state resident; state + weights
    resident — each only if it fits in RESIDENT_FRACTION of the buffer that holds weights."""
    none = ResidencyPlan("dram", frozenset(), {})
    if ideal:
        return [none]
    classes = persistent_tensors(lowered)
    buf = hw.buffer_of("filter")
    cap = hw.sram[buf].capacity_bytes * RESIDENT_FRACTION
    # a GEMM sees only one group's slice; the full tensor size comes from the update ops
    sizes: dict[str, int] = {}
    for op in lowered.ops:
        for t in op_tensors(op):
            if t.persistent:
                sizes[t.name] = max(sizes.get(t.name, 0), t.bytes)
    plans = [none]
    chosen: set = set()
    for cls, label in (("state", "state-on-chip"), ("weights", "weights+state-on-chip")):
        chosen |= set(classes[cls])
        if not classes[cls]:
            continue
        total = sum(sizes[n] for n in chosen)
        if total <= cap:
            plans.append(ResidencyPlan(label, frozenset(chosen), {buf: total}))
    return plans


def map_step(lowered: Lowered, hw: HardwareConfig, ideal: bool = False) -> Mapping:
    """Map under every residency plan that fits and keep the one with the least DRAM traffic."""
    best = None
    for plan in plan_options(lowered, hw, ideal):
        m = map_ops(lowered, hw, plan, ideal)
        if best is None or m.dram_bytes < best.dram_bytes:
            best = m
    return best
