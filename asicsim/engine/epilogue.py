"""Fused epilogues share time with their GEMM: the vector unit works on each output tile while the
array makes the next, so a chain of fused epilogue ops (`asicsim.workload.fusion`, ``fused``
vector ops right after their GEMM) is charged only the vector cycles beyond the GEMM's compute
cycles, in chain order: hidden = min(cycles left of the GEMM's, the op's own); the op keeps the
rest (cycles) and all its DRAM transfers (side inputs, stashes), so its time never falls below
its transfers. Element ops and their energy are unchanged."""
from __future__ import annotations

import dataclasses

from asicsim.engine.mapped import Mapping, MappedOp, Step
from asicsim.workload.lowering import GemmOp, Lowered, VectorOp


def _rescale(mo: MappedOp, cycles: int) -> MappedOp:
    """``mo`` with its compute cycles cut to ``cycles`` (spread over its steps as `map_vector` does)."""
    n = sum(s.count for s in mo.steps)
    q, r = divmod(cycles, n)
    steps = []
    if n > 1:
        first = mo.steps[0]
        steps.append(Step(n - 1, first.load_bytes, q, first.write_bytes))
    last = mo.steps[-1]
    steps.append(Step(1, last.load_bytes, q + r, last.write_bytes))
    return dataclasses.replace(mo, steps=tuple(steps), compute_cycles=cycles)


def hide_epilogues(lowered: Lowered, mapping: Mapping) -> Mapping:
    """The mapping with each fused epilogue's cycles hidden behind its GEMM's (module docstring)."""
    ops = list(mapping.ops)
    budget = 0
    for i, (op, mo) in enumerate(zip(lowered.ops, mapping.ops)):
        if isinstance(op, GemmOp):
            budget = mo.compute_cycles
        elif isinstance(op, VectorOp) and op.fused and len(mo.steps) <= 2:
            hidden = min(budget, mo.compute_cycles)
            budget -= hidden
            if hidden:
                ops[i] = _rescale(mo, mo.compute_cycles - hidden)
        else:
            budget = 0
    return dataclasses.replace(mapping, ops=tuple(ops))
