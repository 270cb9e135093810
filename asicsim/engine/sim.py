"""Event simulation (simpy): tile steps stream through DRAM, SRAM buffers and compute units.

Resources: the DRAM link (`Link`: one FIFO server at the aggregate bandwidth of all channels —
addresses are interleaved across channels, so a tile transfer uses them all), the MAC array and the
vector unit (simpy resources).
Each op's steps flow through a double-buffered pipeline: a loader fetches step i+1 while the unit
computes step i (two input slots), and a writer drains finished outputs while compute goes on
(two output slots). A transfer holds the link for bytes / (bytes per cycle) and its data arrives
one DRAM latency later; the link is not held during the latency (requests are pipelined).
Ops run one after another in program order (no inter-layer overlap). The SRAM ports enter as a
bandwidth bound on each step's duration, set in `mapping` (a step lasts at least its array-side
operand bytes plus the DMA's fill and drain bytes over the ports' bytes per cycle): with double
buffering the neighbouring steps' fills and drains share the ports with this step's stream, so a
separate port server would only reorder traffic that the bound already charges.

The processes only move tokens and wait: every duration comes from `mapping` (compute cycles per
step) or from the link's bytes-per-cycle and latency given here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import simpy

from asicsim.engine.mapped import MappedOp


@dataclass(frozen=True)
class LinkTiming:
    """DRAM link seen from the array clock: bytes per cycle (all channels) and latency (cycles)."""
    bytes_per_cycle: float
    latency_cycles: float

    def transfer_cycles(self, nbytes: int) -> float:
        return 0.0 if nbytes == 0 or math.isinf(self.bytes_per_cycle) else nbytes / self.bytes_per_cycle


@dataclass(frozen=True)
class OpTiming:
    """Simulated timing of one op (cycles)."""
    start: float
    end: float
    busy: float          # cycles the compute unit worked on this op

    @property
    def total(self) -> float:
        return self.end - self.start

    @property
    def stall(self) -> float:
        return max(0.0, self.total - self.busy)


def _expand(op: MappedOp):
    for s in op.steps:
        for _ in range(s.count):
            yield s


class Link:
    """The DRAM link as a FIFO single server in event-scheduling form: a transfer issued at ``now``
    starts when the link is free, holds it for bytes / (bytes per cycle), and its data arrives one
    latency later (requests are pipelined, so the latency does not hold the link). `transfer`
    returns the simpy event that fires on arrival. Issue order is time order, so FIFO service is
    exactly what a `simpy.Resource` would give, at one event per transfer instead of five."""

    def __init__(self, env, timing: LinkTiming):
        self.env = env
        self.timing = timing
        self.free_at = 0.0
        self.busy = 0.0

    def transfer(self, nbytes: int):
        env = self.env
        if nbytes == 0:
            return None
        start = max(env.now, self.free_at)
        dur = self.timing.transfer_cycles(nbytes)
        self.free_at = start + dur
        self.busy += dur
        return env.timeout(self.free_at + self.timing.latency_cycles - env.now)


def _run_op(env, op: MappedOp, link: Link, units, result: list):
    """Double buffering: while step i computes, step i+1 is fetched into the other input buffer;
    step i+2's fetch cannot start before step i is done. At most two outputs drain at once."""
    start = env.now
    steps = list(_expand(op))
    busy = 0.0
    draining: list = []
    with units[op.unit].request() as req:   # the op owns its unit from first to last step
        yield req
        pending = link.transfer(steps[0].load_bytes)
        for i, s in enumerate(steps):
            if pending is not None:
                yield pending
            pending = link.transfer(steps[i + 1].load_bytes) if i + 1 < len(steps) else None
            if s.write_bytes and len(draining) >= 2:
                yield draining.pop(0)
            yield env.timeout(s.compute_cycles)
            busy += s.compute_cycles
            if s.write_bytes:
                draining.append(link.transfer(s.write_bytes))
    for w in draining:
        yield w
    result.append(OpTiming(start, env.now, busy))


def simulate_ops(ops: tuple[MappedOp, ...], link: LinkTiming) -> list[OpTiming]:
    """Run all ops in order through one simpy environment; return each op's timing."""
    env = simpy.Environment()
    dram = Link(env, link)
    units = {"array": simpy.Resource(env, capacity=1), "vector": simpy.Resource(env, capacity=1)}
    timings: list[OpTiming] = []

    def program():
        for op in ops:
            yield from _run_op(env, op, dram, units, timings)

    env.process(program())
    env.run()
    return timings
