"""Mapping of the DFA/BDFA feedback product δy[B×O] = e[B×C] · F[C×O] (`FeedbackOp`).

e is small (B·C_last numbers) and is loaded once and kept in SRAM; F streams from DRAM (unless the
residency plan holds it on chip) in column chunks of Tn outputs, double-buffered with the δy chunk
they produce: e + 2·Tn·(F column + δy column) must fit the smallest buffer the operands use, Tn a
multiple of the array's columns where possible. If even e does not fit, it is re-read per chunk.
Each chunk is one GEMM (M = B, K = C_last, N = Tn) on the fold model (`gemm_compute_cycles`),
bounded below by its SRAM port bytes. SRAM reads are SCALE-Sim's access model
(`sram_reads_words`) at each operand's width (F: 1 bit per entry for bdfa).

BDFA: the PEs add or subtract e (F is ±1), so the op has 0 MACs and B·C·O ``array_adds``
(charged at the add energy, `asicsim.engine.energy.array_add_pj`). With ``projections: vector``
the products run on the vector unit instead: B·C·O element ops over its lanes (each charged as a
vector op, an upper bound for a BDFA addition), 0 MACs on the array.
"""
from __future__ import annotations

import math

from asicsim.config.hardware import HardwareConfig
from asicsim.engine.mapped import MappedOp, SramSpace, Step
from asicsim.engine.systolic import ceil_div, gemm_compute_cycles, sram_reads_words
from asicsim.workload.backward import FeedbackOp


def feedback_chunk(op: FeedbackOp, budget: float, cols: int) -> tuple[int, bool]:
    """(Tn output columns per chunk, whether e stays in SRAM for the whole op)."""
    O = op.outputs
    per_col = op.fb.bytes / O + op.batch * op.dy.elem_bytes
    for e_kept in (True, False):
        room = budget - (op.e.bytes if e_kept else 0)
        tn = int(room // (2 * per_col)) if math.isfinite(room) else O
        if tn >= 1:
            tn = min(O, tn if tn < cols else tn // cols * cols)
            return tn, e_kept
    return 1, False


def map_feedback(op: FeedbackOp, hw: HardwareConfig, space: SramSpace, resident: set) -> MappedOp:
    a = hw.array
    B, C, O = op.batch, op.c_last, op.outputs
    on_vector = op.unit == "vector"
    in_buf, f_buf, o_buf = space.buf_of["ifmap"], space.buf_of["filter"], space.buf_of["ofmap"]
    budget = min(space.budget[b] for b in {in_buf, f_buf, o_buf})
    tn, e_kept = (O, True) if space.ideal else feedback_chunk(op, budget, a.cols)
    chunks = ceil_div(O, tn)
    e_rd = 0 if op.e.name in resident else op.e.bytes * (1 if e_kept else chunks)
    f_rd = 0 if op.fb.name in resident else op.fb.bytes
    dy_wr = op.dy.bytes
    f_bytes_per_elem = op.fb.bytes / (C * O)
    sram_r = {b: 0 for b in space.budget}
    sram_w = {b: 0 for b in space.budget}
    bpc = min(space.bpc[b] for b in {in_buf, f_buf, o_buf})
    dram_r = e_rd + f_rd

    def step(count: int, w: int, ld: int) -> Step:
        """``count`` chunks of w columns, each loading ld DRAM bytes (fold model, port bound)."""
        if on_vector:     # the unit reads e and the F chunk once per chunk
            ifm, flt = B * C, C * w
        else:
            ifm, flt = sram_reads_words(a.dataflow, B, C, w, a.rows, a.cols)
        rd_i, fl_i = math.ceil(ifm * op.e.elem_bytes), math.ceil(flt * f_bytes_per_elem)
        wr = B * w * op.dy.elem_bytes
        sram_r[in_buf] += count * rd_i
        sram_r[f_buf] += count * fl_i
        sram_w[o_buf] += count * wr
        cyc = (ceil_div(B * C * w, hw.vector.lanes) if on_vector
               else gemm_compute_cycles(a.dataflow, B, C, w, a.rows, a.cols) + 1)
        if math.isfinite(bpc):
            cyc = max(cyc, math.ceil((rd_i + fl_i + 2 * wr + ld) / bpc))
        return Step(count, ld, cyc, wr)

    n_full, last_w = chunks - 1, O - tn * (chunks - 1)
    base = f_rd * tn // O + (0 if e_kept else e_rd // chunks)
    merged: list[Step] = []
    if n_full:        # e (when kept) arrives with the first chunk; the last takes the remainders
        merged.append(step(1, tn, base + (e_rd if e_kept else 0)))
        if n_full > 1:
            merged.append(step(n_full - 1, tn, base))
    merged.append(step(1, last_w, dram_r - sum(st.count * st.load_bytes for st in merged)))
    sram_w[in_buf] += dram_r          # DMA fills
    sram_r[o_buf] += dy_wr            # δy read out for the write-back
    cyc = sum(s.count * s.compute_cycles for s in merged)
    kind = "bdfa_feedback" if op.binary else "dfa_feedback"
    if on_vector:
        return MappedOp(op.layer, op.phase, "vector", kind, 0, 0, 0, 1, 0, op.products,
                        f"chunks={chunks} on vector", tuple(merged), cyc, dram_r, dy_wr, sram_r, sram_w)
    return MappedOp(op.layer, op.phase, "array", kind, B, C, O, 1, op.macs, 0,
                    f"Tn={tn} chunks={chunks} e={'kept' if e_kept else 're-read'}"
                    f"{' F-on-chip' if op.fb.name in resident else ''}",
                    tuple(merged), cyc, dram_r, dy_wr, sram_r, sram_w, array_adds=op.adds)
