"""Mapping of the SRHT sketch of one layer's pair stream (`SketchOp`, `asicsim.kernels.sketch`).

Work: the kernel's own `sketch_counts` per group — sign flips and the 1/k scale on the vector unit
always; the sketch additions either

- ``rows`` method on the array (``projections: array``): a GEMM of M = k sampled Hadamard rows,
  K = the N pairs, N = m + n columns, whose ±1 operand is generated on chip (sign bit and
  popcount parity of the row and pair indices: no storage, no multiplies) — fold model cycles,
  k·N·(m+n) ``array_adds`` per group; or on the vector unit (``projections: vector``), k·N·(m+n)
  additions over the lanes, the pairs read from SRAM once per sampled row;
- ``fwht`` method: butterflies on the vector unit over the zero-padded N'×(m+n) block, which stays
  in SRAM when it fits in half the buffer, else goes to DRAM and back at each of the log2 N'
  stages (a plain, unblocked transform — an upper bound on its traffic).

Traffic: x and δ are read once (as the full-gradient GEMM's compulsory bytes); the factors D̃, X̃
(k·(m+n) per group, accumulator precision) stay on chip for the update's expansion when they fit
in half the buffer, else they are written to DRAM and read back by it. Steps split the stream into
double-buffered chunks (cycles spread evenly, like a vector op).
"""
from __future__ import annotations

import math

from asicsim.config.hardware import HardwareConfig
from asicsim.engine.mapped import MappedOp, SramSpace, Step
from asicsim.engine.systolic import ceil_div, gemm_compute_cycles, sram_reads_words
from asicsim.engine.tiling import operand_expansion
from asicsim.workload.sketch_rule import SketchOp


def map_sketch(op: SketchOp, hw: HardwareConfig, space: SramSpace, resident: set) -> MappedOp:
    a = hw.array
    ob, ab = a.operand_bytes, a.accumulator_bytes
    c, g = op.counts, op.groups
    m, n, k, N = op.m, op.n, op.k, op.pairs
    width = m + n
    in_buf, out_buf = space.buf_of["ifmap"], space.buf_of["ofmap"]
    budget = min(space.budget[in_buf], space.budget[out_buf])
    x_fetch = operand_expansion(op.x, N * n * g)[1]
    dy_fetch = min(op.dy.elems, N * m * g) * op.dy.elem_bytes
    stream = (0 if op.x.name in resident else x_fetch) + (0 if op.dy.name in resident else dy_fetch)
    factor_bytes = op.dt.bytes + op.xt.bytes
    keep = space.ideal or factor_bytes <= budget / 2
    dram_w = 0 if keep else factor_bytes
    dram_r = stream
    sram_r = {b: 0 for b in space.budget}
    sram_w = {b: 0 for b in space.budget}
    pair_bytes = N * width * ob * g
    sram_r[in_buf] += pair_bytes                  # the sign pass reads every pair once
    sram_w[in_buf] += pair_bytes                  # and writes the signed pairs
    vec_ops = (c["sign_mul"] + c["scale_mul"]) * g
    arr_cyc, adds_on_array = 0, 0
    if c["method"] == "rows" and op.unit == "array":
        adds_on_array = c["sketch_adds"] * g
        arr_cyc = g * (gemm_compute_cycles(a.dataflow, k, N, width, a.rows, a.cols) + 1)
        sram_r[in_buf] += g * sram_reads_words(a.dataflow, k, N, width, a.rows, a.cols)[1] * ob
        unit, gemm = "array", (k, N, width)
    else:
        vec_ops += c["sketch_adds"] * g
        unit, gemm = "vector", (0, 0, 0)
        if c["method"] == "rows":
            sram_r[in_buf] += k * pair_bytes      # one pass over the pairs per sampled row
        else:
            ws = c["workspace_numbers"] * ab      # N'·(m+n) per group
            passes = c["log2_padded"]
            sram_r[in_buf] += 2 * passes * ws * g
            sram_w[in_buf] += 2 * passes * ws * g
            if not (space.ideal or ws <= budget / 2):
                dram_r += passes * ws * g
                dram_w += passes * ws * g
    sram_w[out_buf] += factor_bytes
    sram_w[in_buf] += dram_r                      # DMA fills
    sram_r[out_buf] += dram_w                     # results read out for the write-back
    compute = arr_cyc + ceil_div(vec_ops, hw.vector.lanes)
    bpc = min(space.bpc[in_buf], space.bpc[out_buf])
    port = sum(sram_r.values()) + sum(sram_w.values())
    total = max(compute, math.ceil(port / bpc) if math.isfinite(bpc) else 0)
    nchunks = 1 if space.ideal else max(1, math.ceil((dram_r + dram_w) / max(budget / 2, 1)))
    q_c, r_c = divmod(total, nchunks)
    q_r, r_r = divmod(dram_r, nchunks)
    q_w, r_w = divmod(dram_w, nchunks)
    steps = ([Step(nchunks - 1, q_r, q_c, q_w)] if nchunks > 1 else []) + [Step(1, q_r + r_r, q_c + r_c, q_w + r_w)]
    kept = (op.dt.name, op.xt.name) if keep else ()
    return MappedOp(op.layer, op.phase, unit, "sketch", *gemm, g, 0, vec_ops,
                    f"k={k} pairs={N} method={c['method']} on {unit}{' factors-on-chip' if keep else ''}",
                    tuple(steps), total, dram_r, dram_w, sram_r, sram_w, kept, array_adds=adds_on_array)
