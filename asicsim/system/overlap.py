"""One data-parallel training step on one chip of N: compute timeline + gradient buckets + fabric.

The per-chip compute is the single-chip simulation (`asicsim.studies.step`): its ops' simulated
durations, in program order, are replayed here as a compute process in the same simpy environment
as the fabric (`asicsim.system.fabric`), so compute and communication overlap where they can:

* forward, then the backward pass layer by layer (backward-data, weight-gradient); a layer's
  gradient exists when its last backward op ends;
* gradients are packed into buckets in backward order (PyTorch DDP: ``bucket_cap_mb`` = 25 MiB;
  a bucket closes when it reaches the cap) and each bucket's collective is launched the moment
  its last gradient exists (``overlap``; else all after the backward pass), while backward
  continues on earlier layers; buckets in flight share the links;
* a hook's compute (PowerSGD's orthonormalisation and Q = MᵀP, between its two all-reduces) is
  queued to the compute unit when its first all-reduce ends and runs at the next op boundary;
* the update phase (and SBPCA's expansion of the gathered factors) runs once every bucket is
  synchronised (DDP: ``optimizer.step()`` after ``backward()`` has waited for all buckets).

Exposed communication = cycles the compute unit sits idle waiting for the fabric (step − compute);
each idle stretch is charged to the bucket that completes next, and a bucket's exposed cycles to
its layers in proportion to their bytes. Hidden = the rest of the time a collective was in flight.
"""
from __future__ import annotations

from dataclasses import dataclass

import simpy

from asicsim.system.config import Level
from asicsim.system.fabric import Fabric


@dataclass(frozen=True)
class Task:
    layer: str
    cycles: float


@dataclass(frozen=True)
class BucketLayer:
    layer: str
    allreduce_bytes: float
    allgather_bytes: float
    second_bytes: float
    key_bytes: float
    hook_cycles: float = 0.0      # compute between the two rounds (PowerSGD)

    @property
    def wire_bytes(self) -> float:
        return self.allreduce_bytes + self.allgather_bytes + self.second_bytes


@dataclass(frozen=True)
class Bucket:
    index: int
    layers: tuple[BucketLayer, ...]
    launch: float
    first_done: float
    end: float
    exposed: float
    spans: tuple[tuple[float, float], ...] = ()   # when its collectives were on the fabric

    @property
    def comm_cycles(self) -> float:
        """Cycles its collectives were in flight (not counting a hook's compute between rounds)."""
        return sum(b - a for a, b in self.spans)


@dataclass(frozen=True)
class Timeline:
    step_cycles: float
    compute_cycles: float
    forward_end: float
    backward_end: float
    sync_end: float
    buckets: tuple[Bucket, ...]
    per_level: tuple[dict, ...]
    exposed_cycles: float          # the compute unit's idle waits on the fabric (step − compute)

    @property
    def comm_active_cycles(self) -> float:
        """Cycles at least one collective was in flight (union of bucket intervals)."""
        total, cur_s, cur_e = 0.0, None, None
        for a, b in sorted(sp for bk in self.buckets for sp in bk.spans):
            if cur_e is None or a > cur_e:
                total += (cur_e - cur_s) if cur_e is not None else 0.0
                cur_s, cur_e = a, b
            else:
                cur_e = max(cur_e, b)
        return total + ((cur_e - cur_s) if cur_e is not None else 0.0)


def make_buckets(grads: list[BucketLayer], cap_bytes: float) -> list[list[BucketLayer]]:
    """Backward-ordered gradients into buckets of at least cap_bytes (the last may be smaller)."""
    out, cur, size = [], [], 0.0
    for g in grads:
        cur.append(g)
        size += g.key_bytes
        if size >= cap_bytes:
            out.append(cur)
            cur, size = [], 0.0
    if cur:
        out.append(cur)
    return out


def simulate_step(levels: tuple[Level, ...], clock_ghz: float, forward_cycles: float, backward: list[Task],
                  grads: dict[str, BucketLayer], update_cycles: float, bucket_bytes: float,
                  chunks: int = 1, overlap: bool = True) -> Timeline:
    """Replay the chip's compute and run the buckets' collectives on the fabric (cycles)."""
    env = simpy.Environment()
    fab = Fabric(env, levels, clock_ghz, chunks)
    order = [grads[t.layer] for t in backward if t.layer in grads]
    groups = make_buckets(order, bucket_bytes)
    closes = {g[-1].layer: i for i, g in enumerate(groups)}
    hooks: list = []                       # (cycles, done event) queued for the compute unit
    wake = {"ev": env.event()}
    records: dict[int, dict] = {}
    idle: list[tuple[float, float]] = []
    marks: dict[str, float] = {}
    done_events: list = []

    def notify():
        if not wake["ev"].triggered:
            wake["ev"].succeed()

    def bucket_proc(i, layers):
        rec = records[i] = {"launch": env.now}
        procs = []
        ar = sum(l.allreduce_bytes for l in layers)
        ag = sum(l.allgather_bytes for l in layers)
        if ar:
            procs.append(env.process(fab.all_reduce(ar)))
        if ag:
            procs.append(env.process(fab.all_gather(ag)))
        if procs:
            yield simpy.AllOf(env, procs)
        rec["first_done"] = env.now
        rec["spans"] = [(rec["launch"], env.now)] if fab.nets else []
        second = sum(l.second_bytes for l in layers)
        hook = sum(l.hook_cycles for l in layers)
        if hook:
            ev = env.event()
            hooks.append((hook, ev))
            notify()
            yield ev
        if second:
            t0 = env.now
            yield env.process(fab.all_reduce(second))
            if fab.nets:
                rec["spans"].append((t0, env.now))
        rec["end"] = env.now

    def launch(i):
        done_events.append(env.process(bucket_proc(i, groups[i])))

    def run_hooks():
        while hooks:
            cyc, ev = hooks.pop(0)
            yield env.timeout(cyc)
            ev.succeed()

    def compute():
        yield env.timeout(forward_cycles)
        marks["forward_end"] = env.now
        for t in backward:
            yield from run_hooks()
            yield env.timeout(t.cycles)
            if overlap and t.layer in closes:
                launch(closes[t.layer])
        if not overlap:
            for i in range(len(groups)):
                launch(i)
        marks["backward_end"] = env.now
        while True:
            yield from run_hooks()
            pending = [p for p in done_events if not p.triggered]
            if not pending:
                break
            wake["ev"] = env.event()
            t0 = env.now
            yield simpy.AnyOf(env, pending + [wake["ev"]])
            if env.now > t0:
                idle.append((t0, env.now))
        marks["sync_end"] = env.now
        yield env.timeout(update_cycles)

    env.process(compute())
    env.run()
    buckets = _attribute(groups, records, idle)
    compute_total = forward_cycles + sum(t.cycles for t in backward) + update_cycles + sum(
        l.hook_cycles for g in groups for l in g)
    return Timeline(env.now, compute_total, marks["forward_end"], marks["backward_end"], marks["sync_end"],
                    tuple(buckets), tuple(fab.per_level()), sum(b - a for a, b in idle))


def _attribute(groups, records, idle) -> list[Bucket]:
    """Charge each idle stretch to the bucket that completes next."""
    ends = sorted((records[i]["end"], i) for i in records)
    exposed = {i: 0.0 for i in records}
    for a, b in idle:
        t = a
        for end, i in ends:
            if end <= t:
                continue
            seg_end = min(end, b)
            exposed[i] += seg_end - t
            t = seg_end
            if t >= b:
                break
    return [Bucket(i, tuple(groups[i]), records[i]["launch"], records[i]["first_done"], records[i]["end"], exposed[i],
                   tuple(sp for sp in records[i]["spans"] if sp[1] > sp[0])) for i in sorted(records)]
