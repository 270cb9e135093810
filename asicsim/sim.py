"""Event simulation (simpy): tile steps stream through DRAM, SRAM buffers and compute units.

Resources: the DRAM link (one server at the aggregate bandwidth of all channels — addresses are
interleaved across channels, so a tile transfer uses them all), the MAC array and the vector unit.
Each op's steps flow through a double-buffered pipeline: a loader fetches step i+1 while the unit
computes step i (two input slots), and a writer drains finished outputs while compute goes on
(two output slots). A transfer holds the link for bytes / (bytes per cycle) and its data arrives
one DRAM latency later; the link is not held during the latency (requests are pipelined).
Ops run one after another in program order (no inter-layer overlap).

The processes only move tokens and wait: every duration comes from `mapping` (compute cycles per
step) or from the link's bytes-per-cycle and latency given here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import simpy

from .mapping import MappedOp


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


def _transfer(env, link_res, link: LinkTiming, nbytes: int):
    if nbytes == 0:
        return
    with link_res.request() as req:
        yield req
        yield env.timeout(link.transfer_cycles(nbytes))
    if link.latency_cycles:
        yield env.timeout(link.latency_cycles)


def _run_op(env, op: MappedOp, link_res, units, link: LinkTiming, result: list):
    """Double buffering: while step i computes, step i+1 is fetched into the other input buffer;
    step i+2's fetch cannot start before step i is done. At most two outputs drain at once."""
    start = env.now
    steps = list(_expand(op))
    busy = 0.0
    draining: list = []

    def fetch(s):
        return env.process(_transfer(env, link_res, link, s.load_bytes)) if s.load_bytes else None

    with units[op.unit].request() as req:   # the op owns its unit from first to last step
        yield req
        pending = fetch(steps[0])
        for i, s in enumerate(steps):
            if pending is not None:
                yield pending
            pending = fetch(steps[i + 1]) if i + 1 < len(steps) else None
            if s.write_bytes and len(draining) >= 2:
                yield draining.pop(0)
            yield env.timeout(s.compute_cycles)
            busy += s.compute_cycles
            if s.write_bytes:
                draining.append(env.process(_transfer(env, link_res, link, s.write_bytes)))
    for w in draining:
        yield w
    result.append(OpTiming(start, env.now, busy))


def simulate_ops(ops: tuple[MappedOp, ...], link: LinkTiming) -> list[OpTiming]:
    """Run all ops in order through one simpy environment; return each op's timing."""
    env = simpy.Environment()
    link_res = simpy.Resource(env, capacity=1)
    units = {"array": simpy.Resource(env, capacity=1), "vector": simpy.Resource(env, capacity=1)}
    timings: list[OpTiming] = []

    def program():
        for op in ops:
            yield from _run_op(env, op, link_res, units, link, timings)

    env.process(program())
    env.run()
    return timings
