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

import dataclasses
import math
from functools import partial

from asicsim.config.hardware import HardwareConfig
from asicsim.engine import memo
from asicsim.engine.feedback import map_feedback
from asicsim.engine.mapped import MappedOp, Mapping, ResidencyPlan, SramSpace, Step
from asicsim.engine.sketch_map import map_sketch
from asicsim.engine.systolic import ceil_div, gemm_compute_cycles
from asicsim.engine.tiling import link_factor, map_gemm, on_link, operand_expansion
from asicsim.errors import InputError
from asicsim.workload.backward import FeedbackOp
from asicsim.workload.lowering import (
    CrossbarOp,
    GemmOp,
    Lowered,
    SbpcaOp,
    Tensor,
    VectorOp,
    op_tensors,
)
from asicsim.workload.sketch_rule import SketchOp

RESIDENT_FRACTION = 0.5   # at most this share of each buffer may hold persistent state


def map_vector(op: VectorOp, hw: HardwareConfig, space: SramSpace, resident: set) -> MappedOp:
    """Stream the op's tensors through SRAM in chunks (two per buffer when double-buffered); one element op per lane
    per cycle, or slower if the SRAM port is the bottleneck."""
    in_buf, out_buf = space.buf_of["ifmap"], space.buf_of["ofmap"]
    rd = sum(t.bytes for t in op.reads if t.name not in resident)
    wr = sum(t.bytes for t in op.writes if t.name not in resident)
    sram_rd = sum(t.bytes for t in op.reads)        # the vector unit reads every operand from SRAM
    sram_wr = sum(t.bytes for t in op.writes)
    chunk_budget = min(space.budget[in_buf], space.budget[out_buf]) / space.slots
    nchunks = 1 if space.ideal else max(1, math.ceil((rd + wr) / max(chunk_budget, 1)))
    lanes = hw.vector.lanes
    bpc = min(space.bpc[in_buf], space.bpc[out_buf])
    base = [ceil_div(op.ops, lanes), ceil_div(sram_rd + sram_wr + rd + wr, bpc) if math.isfinite(bpc) else 0]
    total_cyc = max(base)
    steps = []
    q_c, r_c = divmod(total_cyc, nchunks)
    # DRAM-link bytes (activation compression, when the link has it; the SRAM sees raw words)
    link = lambda ts: sum(int(on_link(t.bytes, link_factor(t, hw))) for t in ts if t.name not in resident)
    rd_link, wr_link = link(op.reads), link(op.writes)
    q_r, r_r = divmod(rd_link, nchunks)
    q_w, r_w = divmod(wr_link, nchunks)
    if nchunks > 1:
        steps.append(Step(nchunks - 1, q_r, q_c, q_w))
    steps.append(Step(1, q_r + r_r, q_c + r_c, q_w + r_w))
    sram_r = {b: 0 for b in space.budget}
    sram_w = {b: 0 for b in space.budget}
    sram_r[in_buf] += sram_rd + wr      # operands read by the unit; results read out for write-back
    sram_w[out_buf] += sram_wr + rd     # results written; fills written
    return MappedOp(op.layer, op.phase, "vector", op.kind, 0, 0, 0, 1, 0, op.ops,
                    f"chunks={nchunks}", tuple(steps), total_cyc, rd_link, wr_link, sram_r, sram_w,
                    tuple(t.name for t in op.writes if t.name in resident))


def sbpca_subbatch_array_cycles(df: str, m: int, n: int, k: int, s: int, R: int, C: int) -> int:
    """Array cycles of one sub-batch's five skinny GEMMs (the SBPCA step's products 1, 3, 5, `asicsim/kernels/sbpca.py`): Ds·Δ (s×m·m×k),
    Xsᵀ·(DsΔ) (n×s·s×k), Xs·X (s×n·n×k), Dsᵀ·(XsX) (m×s·s×k), Ds·Δ_new (s×m·m×k), back to back
    (fold model; each GEMM is small enough to be one tile)."""
    shapes = ((s, m, k), (n, s, k), (s, n, k), (m, s, k), (s, m, k))
    return sum(gemm_compute_cycles(df, M, K, N, R, C) + 1 for M, K, N in shapes)


def map_sbpca(op: SbpcaOp, hw: HardwareConfig, space: SramSpace, resident: set) -> MappedOp:
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
    x_fetch = operand_expansion(op.x, op.pairs * n * g)[1]
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


def map_crossbar(op: CrossbarOp, hw: HardwareConfig, space: SramSpace, resident: set) -> MappedOp:
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


MAPPERS = {GemmOp: map_gemm, VectorOp: map_vector, SbpcaOp: map_sbpca, CrossbarOp: map_crossbar,
           FeedbackOp: map_feedback, SketchOp: map_sketch}


def map_ops(lowered: Lowered, hw: HardwareConfig, plan: ResidencyPlan, ideal: bool = False,
            folds: tuple[bool, bool] = (False, False)) -> Mapping:
    """Map every op in order. Tensors kept on chip by a producer are resident for their consumer.
    ``folds``: (overlap, weight_preload) of the execution's fold schedule (`asicsim.engine.systolic`)."""
    space = SramSpace(hw, plan, ideal)
    space.folds = tuple(folds)
    resident = set(plan.resident)
    context = (hw.model_dump_json(), tuple(sorted(space.budget.items())), ideal)
    if space.folds != (False, False):
        context += (space.folds,)
    out = []
    for op in lowered.ops:
        mo = _map_memo(op, hw, space, resident, context)
        resident.update(mo.kept_on_chip)
        out.append(mo)
    return Mapping(plan, tuple(out))


def _map_memo(op, hw: HardwareConfig, space: SramSpace, resident: set, context: tuple) -> MappedOp:
    """`MAPPERS` on the name-free form of ``op`` (see `asicsim.engine.memo`), relabelled."""
    key, names = memo.op_key(op)
    canon_resident = frozenset(c for r, c in names.items() if r in resident)
    mo = memo.lookup("map", (context, key, canon_resident), partial(_map_canonical, op, names, hw, space, canon_resident))
    real = {c: r for r, c in names.items()}
    return dataclasses.replace(mo, layer=op.layer, kept_on_chip=tuple(real[c] for c in mo.kept_on_chip))


def _map_canonical(op, names: dict, hw: HardwareConfig, space: SramSpace, canon_resident: frozenset) -> MappedOp:
    canon = memo.canonical(op, names)
    return MAPPERS[type(canon)](canon, hw, space, set(canon_resident))


def persistent_tensors(lowered: Lowered) -> dict[str, dict[str, Tensor]]:
    """Persistent tensors by class: 'state' (optimizer/SBPCA state), 'weights', and 'feedback'
    (DFA/BDFA feedback matrices, offered last: they are the largest and the least reused)."""
    state: dict[str, Tensor] = {}
    weights: dict[str, Tensor] = {}
    feedback: dict[str, Tensor] = {}
    for op in lowered.ops:
        for t in op_tensors(op):
            if t.persistent:
                cls = weights if t.name.endswith((".W", ".b")) else feedback if t.name.endswith(".fb") else state
                cls[t.name] = t
    return {"state": state, "weights": weights, "feedback": feedback}


def plan_options(lowered: Lowered, hw: HardwareConfig, ideal: bool = False) -> list[ResidencyPlan]:
    """Residency plans to try: nothing resident; optimizer state resident; state + weights
    resident; + DFA feedback matrices — each only if it fits in RESIDENT_FRACTION of the buffer
    that holds weights."""
    none = ResidencyPlan("dram", frozenset(), {})
    if ideal:
        return [none]
    buf = hw.buffer_of("filter")
    if hw.weights_streamed:      # weights stream through the PEs: nothing can stay on chip
        return [none]
    classes = persistent_tensors(lowered)
    cap = hw.sram[buf].capacity_bytes * RESIDENT_FRACTION
    # a GEMM sees only one group's slice; the full tensor size comes from the update ops
    sizes: dict[str, int] = {}
    for op in lowered.ops:
        for t in op_tensors(op):
            if t.persistent:
                sizes[t.name] = max(sizes.get(t.name, 0), t.bytes)
    plans = [none]
    chosen: set = set()
    for cls, label in (("state", "state-on-chip"), ("weights", "weights+state-on-chip"),
                       ("feedback", "weights+state+feedback-on-chip")):
        chosen |= set(classes[cls])
        if not classes[cls]:
            continue
        total = sum(sizes[n] for n in chosen)
        if total <= cap:
            plans.append(ResidencyPlan(label, frozenset(chosen), {buf: total}))
    return plans


def map_step(lowered: Lowered, hw: HardwareConfig, ideal: bool = False,
             folds: tuple[bool, bool] = (False, False)) -> Mapping:
    """Map under every residency plan that fits and keep the one with the least DRAM traffic."""
    best = None
    for plan in plan_options(lowered, hw, ideal):
        m = map_ops(lowered, hw, plan, ideal, folds)
        if best is None or m.dram_bytes < best.dram_bytes:
            best = m
    return best
