"""Event simulation (simpy): tile steps stream through DRAM, SRAM buffers and compute units.

Resources: the DRAM link (`Link`: one FIFO server at the aggregate bandwidth of all channels —
addresses are interleaved across channels, so a tile transfer uses them all), the MAC array and the
vector unit (simpy resources).
Each op's steps flow through a double-buffered pipeline: a loader fetches step i+1 while the unit
computes step i (two input slots), and a writer drains finished outputs while compute goes on
(two output slots). A transfer holds the link for bytes / (bytes per cycle) and its data arrives
one DRAM latency later; the link is not held during the latency (requests are pipelined).
Ops run one after another in program order (no inter-layer overlap), each simulated from an idle\nlink (see `simulate_ops`). The SRAM ports enter as a
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
from functools import partial

import simpy

from asicsim.engine import memo
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


class Link:
    """The DRAM link as a FIFO single server in event-scheduling form: a transfer issued at ``now``
    starts when the link is free, holds it for bytes / (bytes per cycle), and its data arrives one
    latency later (requests are pipelined, so the latency does not hold the link). `transfer`
    returns the arrival time (cycles); the op's process waits for it only when it needs the data.
    Issue order is time order, so FIFO service is exactly what a `simpy.Resource` would give."""

    def __init__(self, env, timing: LinkTiming):
        self.env = env
        self.timing = timing
        self.free_at = 0.0
        self.busy = 0.0

    def transfer(self, nbytes: int) -> float | None:
        if nbytes == 0:
            return None
        start = max(self.env.now, self.free_at)
        dur = self.timing.transfer_cycles(nbytes)
        self.free_at = start + dur
        self.busy += dur
        return self.free_at + self.timing.latency_cycles

    def shift(self, cycles: float, transfers_cycles: float) -> None:
        """Jump ahead by ``cycles`` during which ``transfers_cycles`` of transfers were served."""
        self.free_at += cycles
        self.busy += transfers_cycles


def _wait_until(env, t: float | None):
    """The timeout to wait for time ``t`` (None: already there)."""
    return env.timeout(t - env.now) if t is not None and t > env.now else None


def _settled(now: float, a: tuple, b: tuple) -> bool:
    tol = 1e-9 * (1.0 + abs(now))
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def _run_op(env, steps: tuple, link: Link, unit, result: list, fast_forward: bool = True):
    """Double buffering: while step i computes, step i+1 is fetched into the other input buffer;
    step i+2's fetch cannot start before step i is done. At most two outputs drain at once.

    Fast-forward: inside a run of identical steps, the pipeline's state relative to ``now``
    (pending load arrival, link free time, draining write arrivals) settles after a few steps;
    from then on every step repeats with the same period (the dynamics are time-invariant), so the
    remaining steps of the run but the last are advanced in one jump of m periods. Exact in real
    arithmetic; `tests/test_sim.py` checks it against the step-by-step run."""
    busy = 0.0
    draining: list[float] = []
    with unit.request() as req:   # the op owns its unit from first to last step
        yield req
        pending = link.transfer(steps[0].load_bytes)
        for r, s in enumerate(steps):
            after = steps[r + 1].load_bytes if r + 1 < len(steps) else 0
            per_step_link = link.timing.transfer_cycles(s.load_bytes) + link.timing.transfer_cycles(s.write_bytes)
            prev = None
            j = 0
            while j < s.count:
                if fast_forward and j + 2 < s.count:
                    now = env.now
                    rel = (-1.0 if pending is None else max(pending - now, 0.0), max(link.free_at - now, 0.0),
                           *(max(d - now, 0.0) for d in draining))
                    if prev is not None and _settled(now, rel, prev[1]):
                        m = s.count - 1 - j          # leave the run's last step to its own pass
                        jump = m * (now - prev[0])
                        if m > 0 and jump > 0:
                            pending = None if pending is None else pending + jump
                            draining = [d + jump for d in draining]
                            link.shift(jump, m * per_step_link)
                            busy += m * s.compute_cycles
                            j += m
                            yield env.timeout(jump)
                            prev = None
                            continue
                    prev = (now, rel)
                w = _wait_until(env, pending)
                if w is not None:
                    yield w
                pending = link.transfer(s.load_bytes if j + 1 < s.count else after)
                if s.write_bytes and len(draining) >= 2:
                    w = _wait_until(env, draining.pop(0))
                    if w is not None:
                        yield w
                yield env.timeout(s.compute_cycles)
                busy += s.compute_cycles
                if s.write_bytes:
                    draining.append(link.transfer(s.write_bytes))
                j += 1
        for d in draining:
            w = _wait_until(env, d)
            if w is not None:
                yield w
    result.append((env.now, busy))


def op_timing(unit: str, steps: tuple, link: LinkTiming, fast_forward: bool = True) -> tuple[float, float]:
    """(total, busy) cycles of one op's tile steps on ``unit``, simulated from an idle link at t = 0."""
    env = simpy.Environment()
    result: list = []
    env.process(_run_op(env, steps, Link(env, link), simpy.Resource(env, capacity=1), result, fast_forward))
    env.run()
    return result[0]


def simulate_ops(ops: tuple[MappedOp, ...], link: LinkTiming) -> list[OpTiming]:
    """Run the ops in program order; return each op's timing.

    Ops run one after another: an op starts when the previous one has finished its last compute
    and its last write-back has arrived, so at every op boundary the link is idle and no unit is
    held. An op's timing is therefore a function of its own steps alone: each op is simulated in
    its own environment from t = 0 (memoised, `asicsim.engine.memo`) and placed at the previous
    op's end. (When inter-layer overlap is modelled this must become one shared environment.)"""
    timings: list[OpTiming] = []
    now = 0.0
    for op in ops:
        total, busy = memo.lookup("time", (op.unit, op.steps, link), partial(op_timing, op.unit, op.steps, link))
        timings.append(OpTiming(now, now + total, busy))
        now += total
    return timings
