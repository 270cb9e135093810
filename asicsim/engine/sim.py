"""Event simulation (simpy): tile steps stream through DRAM, SRAM buffers and compute units.

Resources: the DRAM link (`Link`: one FIFO server at the aggregate bandwidth of all channels —
addresses are interleaved across channels, so a tile transfer uses them all; or, with
``dram.model: banked``, `BankedLink`: per channel and bank state from `asicsim.engine.dram`), the
MAC array and the vector unit (simpy resources).
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
step) or from the link's bytes-per-cycle and latency given here (banked: from `BankedDram`).
Busy intervals of the units and the link go to a `asicsim.engine.timeline.Recorder` (for the
report's timeline); recording does not change any timing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import simpy

from asicsim.engine.dram import BankedDram, BankedTiming
from asicsim.engine.mapped import MappedOp
from asicsim.engine.timeline import Recorder


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
    dram_activates: int = 0   # row activations (banked DRAM model only)

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

    activates = 0

    def __init__(self, env, timing: LinkTiming, rec: Recorder):
        self.env = env
        self.timing = timing
        self.free_at = 0.0
        self.busy = 0.0
        self.rec = rec

    def begin_op(self) -> None:
        pass

    def transfer(self, nbytes: int, write: bool = False):
        env = self.env
        if nbytes == 0:
            return None
        start = max(env.now, self.free_at)
        dur = self.timing.transfer_cycles(nbytes)
        self.free_at = start + dur
        self.busy += dur
        self.rec.add("dram", start, self.free_at)
        return env.timeout(self.free_at + self.timing.latency_cycles - env.now)


class BankedLink:
    """The DRAM link under the banked model: each transfer is served by `BankedDram` at the next
    address of its region (reads and writes have one region each, tile-major; see
    `asicsim.engine.dram`); its data arrives after the last beat plus the controller latency.
    Calls come in issue order, so the channels see the requests FIFO."""

    def __init__(self, env, timing: BankedTiming, rec: Recorder):
        self.env = env
        self.dram = BankedDram(timing)
        self.controller = timing.controller
        self.rec = rec
        self.stripe = self.dram.stripe_bytes
        self.burst = timing.burst_bytes
        # the write region: far above any read address, shifted by half the banks so that at equal
        # offsets reads and writes fall in different banks
        self.write_origin = (1 << 40) + (timing.banks // 2) * timing.row_bytes * timing.channels
        self.rd = 0           # next read offset
        self.wr = 0           # next write offset (from write_origin)

    @property
    def activates(self) -> int:
        return self.dram.activates

    def begin_op(self) -> None:
        """A new op's blocks start at a fresh row stripe of each region."""
        st = self.stripe
        self.rd = -(-self.rd // st) * st
        self.wr = -(-self.wr // st) * st

    def transfer(self, nbytes: int, write: bool = False):
        env = self.env
        if nbytes == 0:
            return None
        addr = self.write_origin + self.wr if write else self.rd
        step = -(-nbytes // self.burst) * self.burst
        if write:
            self.wr += step
        else:
            self.rd += step
        start, end = self.dram.access(env.now, addr, nbytes, write)
        self.rec.add("dram", start, end)
        return env.timeout(end + self.controller - env.now)


def _run_op(env, op: MappedOp, link, units, result: list, rec: Recorder):
    """Double buffering: while step i computes, step i+1 is fetched into the other input buffer;
    step i+2's fetch cannot start before step i is done. At most two outputs drain at once."""
    start = env.now
    steps = list(_expand(op))
    busy = 0.0
    draining: list = []
    acts0 = link.activates
    link.begin_op()
    add = rec.add
    with units[op.unit].request() as req:   # the op owns its unit from first to last step
        yield req
        pending = link.transfer(steps[0].load_bytes)
        for i, s in enumerate(steps):
            if pending is not None:
                yield pending
            pending = link.transfer(steps[i + 1].load_bytes) if i + 1 < len(steps) else None
            if s.write_bytes and len(draining) >= 2:
                yield draining.pop(0)
            t0 = env.now
            yield env.timeout(s.compute_cycles)
            add(op.unit, t0, env.now)
            busy += s.compute_cycles
            if s.write_bytes:
                draining.append(link.transfer(s.write_bytes, True))
    for w in draining:
        yield w
    result.append(OpTiming(start, env.now, busy, link.activates - acts0))
    rec.op += 1


def simulate_ops(ops: tuple[MappedOp, ...], link: LinkTiming | BankedTiming,
                 rec: Recorder | None = None) -> list[OpTiming]:
    """Run all ops in order through one simpy environment; return each op's timing. ``link``: the
    bandwidth model (`LinkTiming`) or the banked model (`BankedTiming`, in array cycles). Busy
    intervals go to ``rec`` when one is given."""
    env = simpy.Environment()
    rec = rec if rec is not None else Recorder()
    dram = BankedLink(env, link, rec) if isinstance(link, BankedTiming) else Link(env, link, rec)
    units = {"array": simpy.Resource(env, capacity=1), "vector": simpy.Resource(env, capacity=1)}
    timings: list[OpTiming] = []

    def program():
        for op in ops:
            yield from _run_op(env, op, dram, units, timings, rec)

    env.process(program())
    env.run()
    return timings
