"""The tile pipeline's steady-state fast-forward and the per-process memo change no number.

Independent truths: the step-by-step event run (fast-forward off) for arbitrary step sequences,
the no-memo pipeline for whole training steps, and closed forms for two hand-worked pipelines.
"""
from __future__ import annotations

import numpy as np
import pytest

import asicsim
from asicsim.engine import memo
from asicsim.engine.mapped import Step
from asicsim.engine.sim import LinkTiming, op_timing


def _random_steps(rng, runs):
    return tuple(Step(int(rng.integers(1, 40)), int(rng.integers(0, 5000)), int(rng.integers(1, 400)),
                      int(rng.choice([0, 0, rng.integers(1, 3000)]))) for _ in range(runs))


@pytest.mark.parametrize("seed", range(12))
def test_fast_forward_equals_step_by_step(seed):
    rng = np.random.default_rng(seed)
    link = LinkTiming(float(rng.uniform(2, 64)), float(rng.uniform(0, 300)))
    steps = _random_steps(rng, int(rng.integers(1, 6)))
    total_ff, busy_ff = op_timing("array", steps, link, fast_forward=True)
    total, busy = op_timing("array", steps, link, fast_forward=False)
    assert busy_ff == busy == sum(s.count * s.compute_cycles for s in steps)
    assert total_ff == pytest.approx(total, rel=1e-12, abs=1e-9)


def test_compute_bound_pipeline_closed_form():
    """Loads hidden behind compute: total = first load + latency + n·C (+ last write + latency)."""
    link = LinkTiming(bytes_per_cycle=10.0, latency_cycles=5.0)
    n, C, L, W = 1000, 100, 200, 0          # a 20-cycle load per 100-cycle step
    total, busy = op_timing("array", (Step(n, L, C, W),), link)
    assert busy == n * C
    assert total == pytest.approx(L / 10 + 5 + n * C)


def test_link_bound_pipeline_closed_form():
    """Link-bound: every step waits for its load; the link streams n loads back to back."""
    link = LinkTiming(bytes_per_cycle=1.0, latency_cycles=0.0)
    n, C, L = 500, 10, 100                   # 100-cycle loads, 10-cycle compute
    total, _ = op_timing("array", (Step(n, L, C, 0),), link)
    assert total == pytest.approx(n * L + C)


@pytest.mark.parametrize("kw", [dict(network="resnet18", accelerator="edge", batch=8),
                                dict(network="mobilenetv2", accelerator="cloud", batch=4, update="sbpca", rank=4),
                                dict(network="vgg_cifar_small", accelerator="edge", batch=16, momentum=0.9),
                                dict(network="lenet5", accelerator="edge", batch=8,
                                     update={"rule": "sketch", "rank": 4, "backward": "dfa"}),
                                dict(network="lenet5", accelerator="cloud", batch=8,
                                     update={"rule": "powersgd", "rank": 2, "backward": "bdfa"})])
def test_memo_changes_no_number(kw):
    memo.clear()
    cold = asicsim.simulate(**kw)
    warm = asicsim.simulate(**kw)          # every op a hit now
    with memo.disabled():
        fresh = asicsim.simulate(**kw)
    assert memo.stats()["hits"] > 0
    for r in (cold, warm):
        assert r.layers.equals(fresh.layers)
        assert r.summary == fresh.summary


def test_timeline_replay_changes_no_number():
    """The run report's timeline is a step-by-step replay: the step's numbers are those without it,
    and its busy intervals add up to the table's compute cycles."""
    plain = asicsim.simulate(network="lenet5", accelerator="edge", batch=8)
    rec = asicsim.simulate(network="lenet5", accelerator="edge", batch=8, timeline=True)
    assert plain.timeline is None and rec.layers.equals(plain.layers) and rec.summary == plain.summary
    units = rec.timeline[rec.timeline.resource != "dram"]
    assert units.busy_cycles.sum() == pytest.approx(plain.layers.compute_cycles.sum(), rel=1e-12)
    assert rec.timeline.end_cycle.max() == pytest.approx(plain.total_cycles, rel=1e-9)


def _loop_nest_steps(rng) -> tuple:
    """A run list shaped like a tiled loop nest: an inner block of full tiles and an edge tile,
    repeated, with an outer edge block and a different last run (what `_gemm_steps` emits)."""
    kind = lambda: Step(int(rng.integers(1, 9)), int(rng.integers(0, 9000)), int(rng.integers(50, 3000)),
                        int(rng.choice([0, rng.integers(1, 6000)])))
    inner = [kind() for _ in range(int(rng.integers(1, 4)))] + [kind()]
    outer = inner * int(rng.integers(2, 9)) + [kind()]
    return tuple(outer * int(rng.integers(2, 6)) + [kind() for _ in range(int(rng.integers(1, 4)))])


def _count_events(steps, link, fast_forward):
    import simpy

    from asicsim.engine.sim import Link, _run_op
    env = simpy.Environment()
    out: list = []
    env.process(_run_op(env, "array", steps, Link(env, link), simpy.Resource(env, 1), out, fast_forward=fast_forward))
    n = 0
    while env.peek() != float("inf"):
        env.step()
        n += 1
    return n, out[0]


@pytest.mark.parametrize("seed", range(16))
def test_run_replay_equals_step_by_step_on_loop_nests(seed):
    """Repeated runs replayed from the same pipeline state give the step-by-step timing, on run
    lists with the periodic structure of real tilings, compute- and link-bound alike."""
    rng = np.random.default_rng(100 + seed)
    link = LinkTiming(float(rng.uniform(1, 64)), float(rng.uniform(0, 300)))
    steps = _loop_nest_steps(rng)
    total_ff, busy_ff = op_timing("array", steps, link, fast_forward=True)
    total, busy = op_timing("array", steps, link, fast_forward=False)
    assert busy_ff == busy == sum(s.count * s.compute_cycles for s in steps)
    assert total_ff == pytest.approx(total, rel=1e-12, abs=1e-9)


def test_run_replay_skips_the_repeats():
    """The replay is what makes long tilings cheap: a 400-run loop nest costs a few dozen events,
    not one per step (and the timing stays that of the step-by-step run)."""
    link = LinkTiming(16.0, 100.0)
    block = [Step(1, 8000, 700, 0), Step(3, 8000, 700, 0), Step(1, 5000, 400, 2000)]
    steps = tuple(block * 133 + [Step(1, 100, 50, 100)])
    n_ff, (_, end_ff, _, _) = _count_events(steps, link, True)
    n, (_, end, _, _) = _count_events(steps, link, False)
    assert n >= sum(s.count for s in steps) and n_ff < 80
    assert end_ff == pytest.approx(end, rel=1e-12)


def test_real_tilings_replay_equals_step_by_step(monkeypatch):
    """The same on the run lists the mapper emits for a ResNet-18 step (the longest 25 ops)."""
    from asicsim.engine import sim
    seen: list = []
    real = sim.op_timing

    def spy(unit, steps, link, fast_forward=True, slots=2):
        seen.append((unit, steps, link))
        return real(unit, steps, link, fast_forward, slots)

    monkeypatch.setattr(sim, "op_timing", spy)
    with memo.disabled():
        asicsim.simulate(network="resnet18", accelerator="edge", batch=8, update="sbpca", rank=4)
    longest = sorted(seen, key=lambda c: -len(c[1]))[:25]
    assert len(longest[0][1]) > 100          # long run lists are there to be replayed
    for unit, steps, link in longest:
        for slots in (2, 1):      # double- and single-buffered pipelines
            assert real(unit, steps, link, slots=slots) == pytest.approx(
                real(unit, steps, link, fast_forward=False, slots=slots), rel=1e-12)


def test_single_buffering_serialises_load_compute_write():
    """Hand-worked: one slot per operand, so step i+1's load starts after step i's compute and
    write, and computes after both have arrived. With load L, compute C, write W cycles and
    latency λ, compute i starts at L + λ + i·(L + C + W + λ) and the op ends with the last write's
    arrival: n·(L + C + W + λ) + λ. Double-buffered, the same steps overlap (link-bound here)."""
    L, C, W, lat, n = 50.0, 30.0, 20.0, 5.0, 7
    link = LinkTiming(1.0, lat)
    steps = (Step(n, int(L), int(C), int(W)),)
    for ff in (True, False):
        total, busy = op_timing("array", steps, link, fast_forward=ff, slots=1)
        assert total == pytest.approx(n * (L + C + W + lat) + lat)
        assert busy == n * C
    double, _ = op_timing("array", steps, link, slots=2)
    assert double < n * (L + C + W + lat)
    assert double >= n * (L + W)          # the link carries every byte either way
