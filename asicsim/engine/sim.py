"""Event simulation (simpy): tile steps stream through DRAM, SRAM buffers and compute units.

Resources: the DRAM link (`Link`: one FIFO server at the aggregate bandwidth of all channels —
addresses are interleaved across channels, so a tile transfer uses them all; or, with
``dram.model: banked``, `BankedLink`: per channel and bank state from `asicsim.engine.dram`), the
MAC array and the vector unit (simpy resources).
Each op's steps flow through a double-buffered pipeline: a loader fetches step i+1 while the unit
computes step i (two input slots), and a writer drains finished outputs while compute goes on
(two output slots). Single-buffered (one slot each, ``buffering: single``): step i+1 is fetched
after step i's compute, and computes once step i's output has been written back. A transfer holds the link for bytes / (bytes per cycle) and its data arrives
one DRAM latency later; the link is not held during the latency (requests are pipelined).
Ops run one after another in program order (no inter-layer overlap). The SRAM ports enter as a
bandwidth bound on each step's duration, set in `mapping` (a step lasts at least its array-side
operand bytes plus the DMA's fill and drain bytes over the ports' bytes per cycle): with double
buffering the neighbouring steps' fills and drains share the ports with this step's stream, so a
separate port server would only reorder traffic that the bound already charges.

Two ways through the same process (`_run_op`), chosen by `simulate_ops`:
* bandwidth model: at every op boundary the link is idle and no unit is held, so an op's timing
  depends on its own steps alone; each op runs in its own environment from t = 0, memoised per
  process (`asicsim.engine.memo`), with the steady-state fast-forward of identical steps.
* banked model, or when busy intervals are recorded for the report's timeline
  (`asicsim.engine.timeline.Recorder`): one environment for the whole step, every tile step
  simulated (bank and refresh state carry across ops and are not time-invariant).

The processes only move tokens and wait: every duration comes from `mapping` (compute cycles per
step) or from the link's bytes-per-cycle and latency given here (banked: from `BankedDram`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import simpy

from asicsim.engine import memo
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


class Link:
    """The DRAM link as a FIFO single server in event-scheduling form: a transfer issued at ``now``
    starts when the link is free, holds it for bytes / (bytes per cycle), and its data arrives one
    latency later (requests are pipelined, so the latency does not hold the link). `transfer`
    returns the arrival time (cycles); the op's process waits for it only when it needs the data.
    Issue order is time order, so FIFO service is exactly what a `simpy.Resource` would give."""

    activates = 0
    time_invariant = True      # the fast-forward of identical steps applies

    def __init__(self, env, timing: LinkTiming, rec: Recorder | None = None):
        self.env = env
        self.timing = timing
        self.free_at = 0.0
        self.rec = rec

    def begin_op(self) -> None:
        pass

    def transfer(self, nbytes: int, write: bool = False) -> float | None:
        if nbytes == 0:
            return None
        start = max(self.env.now, self.free_at)
        dur = self.timing.transfer_cycles(nbytes)
        self.free_at = start + dur
        if self.rec is not None:
            self.rec.add("dram", start, self.free_at)
        return self.free_at + self.timing.latency_cycles

    def shift(self, cycles: float) -> None:
        """Jump ahead by ``cycles`` (the fast-forward: every pending time moves with ``now``)."""
        self.free_at += cycles


class BankedLink:
    """The DRAM link under the banked model: each transfer is served by `BankedDram` at the next
    address of its region (reads and writes have one region each, tile-major; see
    `asicsim.engine.dram`); its data arrives after the last beat plus the controller latency.
    Calls come in issue order, so the channels see the requests FIFO."""

    time_invariant = False     # open rows and refresh windows: no fast-forward

    def __init__(self, env, timing: BankedTiming, rec: Recorder | None = None):
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

    def transfer(self, nbytes: int, write: bool = False) -> float | None:
        if nbytes == 0:
            return None
        addr = self.write_origin + self.wr if write else self.rd
        step = -(-nbytes // self.burst) * self.burst
        if write:
            self.wr += step
        else:
            self.rd += step
        start, end = self.dram.access(self.env.now, addr, nbytes, write)
        if self.rec is not None:
            self.rec.add("dram", start, end)
        return end + self.controller


def _wait_until(env, t: float | None):
    """The timeout to wait for time ``t`` (None: already there)."""
    return env.timeout(t - env.now) if t is not None and t > env.now else None


def _settled(now: float, a: tuple, b: tuple) -> bool:
    tol = 1e-9 * (1.0 + abs(now))
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def _relative(now: float, pending: float | None, link, draining: list) -> tuple:
    """The pipeline's whole carried state relative to ``now`` (cycles): pending load arrival (-1:
    none), link free time, draining write arrivals. Times in the past are clipped to 0 (waiting
    for them is a no-op; a draining write still holds its output slot)."""
    return (-1.0 if pending is None else max(pending - now, 0.0), max(link.free_at - now, 0.0),
            *(max(d - now, 0.0) for d in draining))


def _run_op(env, unit_name: str, steps: tuple, link, unit, result: list, rec: Recorder | None = None,
            fast_forward: bool = True, slots: int = 2):
    """Double buffering (``slots`` 2): while step i computes, step i+1 is fetched into the other
    input buffer; step i+2's fetch cannot start before step i is done. At most two outputs drain
    at once. Single buffering (``slots`` 1): step i+1 is fetched when step i's compute ends, and
    step i+1 computes only when step i's output has arrived in DRAM.
    Appends (start, end, busy cycles, DRAM row activations) to ``result``.

    Fast-forward (time-invariant links, nothing recorded). Everything that carries from one step
    to the next is the state relative to ``now`` (`_relative`); same state + same steps ⇒ same
    evolution, shifted in time. Two uses of that:
    (1) inside a run of identical steps the state settles after a few steps; from then on every
        step repeats with the same period, so the run's remaining steps but the last are advanced
        in one jump;
    (2) a loop nest's edge tiles make the run list repetitive (seven full tiles, an edge tile,
        seven full tiles, …), so the same run meets the same state again and again: each run's
        effect (elapsed cycles, state after) is simulated once per (run, next load, state) and
        replayed for its repeats, consecutive replays in one jump of time.
    Exact in real arithmetic (states are matched to 1e-9 relative, float noise); `tests/test_sim.py`
    checks both against the step-by-step run."""
    fast_forward = fast_forward and link.time_invariant and rec is None
    start = env.now
    busy = 0.0
    draining: list[float] = []
    acts0 = link.activates
    link.begin_op()
    seen: dict | None = {} if fast_forward and len(steps) > 2 else None
    if seen is not None:      # run kinds as small ints, and each run's next load (bytes)
        kinds: dict = {}
        ids = [kinds.setdefault(x, len(kinds)) for x in steps]
        afters = [x.load_bytes for x in steps[1:]] + [0]
    with unit.request() as req:   # the op owns its unit from first to last step
        yield req
        pending = link.transfer(steps[0].load_bytes)
        r = 0
        while r < len(steps):
            if seen is not None:      # (2): replay runs already simulated from this state
                now = env.now
                rel = _relative(now, pending, link, draining)
                elapsed, r0 = 0.0, r
                coarse = tuple(round(x, 6) for x in rel)
                while r < len(steps):
                    key = (ids[r], afters[r], coarse)
                    hit = seen.get(key)
                    if hit is None or not (rel == hit[0] or _settled(now + elapsed, rel, hit[0])):
                        break
                    elapsed += hit[1]
                    rel, coarse = hit[2], hit[3]
                    busy += steps[r].count * steps[r].compute_cycles
                    r += 1
                if r > r0:
                    yield env.timeout(elapsed)
                    now = env.now
                    pending = None if rel[0] < 0 else now + rel[0]
                    link.free_at = now + rel[1]
                    draining = [now + x for x in rel[2:]]
                if r == len(steps):
                    break
                mark = (key, rel, now)
            s = steps[r]
            after = steps[r + 1].load_bytes if r + 1 < len(steps) else 0
            prev = None
            j = 0
            while j < s.count:
                if fast_forward and j + 2 < s.count:     # (1)
                    now = env.now
                    rel = _relative(now, pending, link, draining)
                    if prev is not None and _settled(now, rel, prev[1]):
                        m = s.count - 1 - j          # leave the run's last step to its own pass
                        jump = m * (now - prev[0])
                        if m > 0 and jump > 0:
                            pending = None if pending is None else pending + jump
                            draining = [d + jump for d in draining]
                            link.shift(jump)
                            busy += m * s.compute_cycles
                            j += m
                            yield env.timeout(jump)
                            prev = None
                            continue
                    prev = (now, rel)
                w = _wait_until(env, pending)
                if w is not None:
                    yield w
                nxt = s.load_bytes if j + 1 < s.count else after
                if slots > 1:
                    pending = link.transfer(nxt)
                while draining and (slots == 1 or (s.write_bytes and len(draining) >= slots)):
                    w = _wait_until(env, draining.pop(0))
                    if w is not None:
                        yield w
                t0 = env.now
                yield env.timeout(s.compute_cycles)
                if rec is not None:
                    rec.add(unit_name, t0, env.now)
                busy += s.compute_cycles
                if s.write_bytes:
                    draining.append(link.transfer(s.write_bytes, True))
                if slots == 1:
                    pending = link.transfer(nxt)
                j += 1
            if seen is not None:
                key, rel0, t_start = mark
                rel = _relative(env.now, pending, link, draining)
                seen[key] = (rel0, env.now - t_start, rel, tuple(round(x, 6) for x in rel))
            r += 1
        for d in draining:
            w = _wait_until(env, d)
            if w is not None:
                yield w
    result.append((start, env.now, busy, link.activates - acts0))


def op_timing(unit: str, steps: tuple, link: LinkTiming, fast_forward: bool = True,
              slots: int = 2) -> tuple[float, float]:
    """(total, busy) cycles of one op's tile steps on ``unit``, simulated from an idle link at t = 0."""
    env = simpy.Environment()
    result: list = []
    env.process(_run_op(env, unit, steps, Link(env, link), simpy.Resource(env, capacity=1), result,
                        fast_forward=fast_forward, slots=slots))
    env.run()
    _, end, busy, _ = result[0]
    return end, busy


def _simulate_shared(ops: tuple[MappedOp, ...], link: LinkTiming | BankedTiming,
                     rec: Recorder | None, slots: int) -> list[OpTiming]:
    """All ops in one environment, every tile step simulated (banked DRAM, or a timeline)."""
    env = simpy.Environment()
    dram = BankedLink(env, link, rec) if isinstance(link, BankedTiming) else Link(env, link, rec)
    units = {"array": simpy.Resource(env, capacity=1), "vector": simpy.Resource(env, capacity=1)}
    out: list = []

    def program():
        for op in ops:
            yield from _run_op(env, op.unit, op.steps, dram, units[op.unit], out, rec, fast_forward=False,
                               slots=slots)
            if rec is not None:
                rec.op += 1

    env.process(program())
    env.run()
    return [OpTiming(*t) for t in out]


def simulate_ops(ops: tuple[MappedOp, ...], link: LinkTiming | BankedTiming,
                 rec: Recorder | None = None, slots: int = 2) -> list[OpTiming]:
    """Run the ops in program order; return each op's timing. ``link``: the bandwidth model
    (`LinkTiming`) or the banked model (`BankedTiming`, in array cycles). With ``rec``, busy
    intervals are recorded (every step simulated, in one environment). ``slots``: buffers per
    operand (2 double-buffered, 1 single-buffered; `HardwareConfig.tile_slots`).

    Bandwidth model without a recorder: an op starts when the previous one has finished its last
    compute and its last write-back has arrived, so the link is idle and no unit is held at every
    op boundary; each op is simulated from t = 0 (memoised) and placed at the previous op's end."""
    if rec is not None or isinstance(link, BankedTiming):
        return _simulate_shared(ops, link, rec, slots)
    timings: list[OpTiming] = []
    now = 0.0
    for op in ops:
        total, busy = memo.lookup("time", (op.unit, op.steps, link, slots),
                                  partial(op_timing, op.unit, op.steps, link, slots=slots))
        timings.append(OpTiming(now, now + total, busy))
        now += total
    return timings
