"""Sweep throughput: ResNet-18 training-step points per minute, and scaling from 1 to 2 workers.

    .venv/bin/python benchmarks/bench_sweep.py                       # 100 points at 1 and 2 workers
    .venv/bin/python benchmarks/bench_sweep.py --points 1000 --workers 2   # the 1,000-point target
    .venv/bin/python benchmarks/bench_sweep.py --write                # also write benchmarks/results/sweep.md

Every configuration runs the *same* points (N random samples, fixed seed, over the edge design
space: array 16²…128², global SRAM 256 KiB…8 MiB (log-uniform), LPDDR4 / HBM2, batch 8…64 (uniform), full / SBPCA k=4,16)
into a fresh folder through `asicsim.studies.sweep.run_sweep` — the code path of `asicsim sweep`, with
journaling and consolidation — on a Dask LocalCluster of 1 or 2 worker processes. The time
includes starting the cluster. ``s/point elapsed`` and ``s/point CPU`` are the mean per-point
simulation times (wall clock and CPU time of the worker); ``busy`` = Σ elapsed / (wall × workers)
shows how well the workers are kept fed. On a shared machine, elapsed > CPU time means the
workers waited for a core: compare configurations only at a similar load average.

(Where: out/benchmarks/ by default; the committed benchmarks/results/ only with --record, see
benchmarks/destination.py.)
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asicsim.studies.expand import study_from_dict  # noqa: E402
from asicsim.studies.sweep import run_sweep  # noqa: E402
from destination import RECORD_HELP, results_dir  # noqa: E402 (benchmarks/ is sys.path[0] when run)


def bench_study(n: int, seed: int = 2024, execution: str | None = None) -> dict:
    study = {
        "name": f"bench_resnet18_{n}",
        "description": f"{n} random ResNet-18 training-step points on edge-class designs",
        "base": {"accelerator": "edge", "network": "resnet18", "batch": 32},
        "random": {"samples": n, "seed": seed, "axes": {
            "array": [{"rows": r, "cols": r} for r in (16, 32, 64, 128)],
            "sram.global.capacity_kib": {"int_log_uniform": [256, 8192]},
            "dram.preset": ["lpddr4", "hbm2"],
            "batch": {"int_uniform": [8, 64]},
            "update": [{"rule": "full"}, {"rule": "sbpca", "rank": 4}, {"rule": "sbpca", "rank": 16}],
        }},
    }
    if execution:
        study["base"]["execution"] = execution
    return study


def load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run(n: int, workers: int, seed: int, execution: str | None = None) -> dict:
    study = study_from_dict(bench_study(n, seed, execution), "<bench>")
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as d:
        load0 = load()
        t0 = time.perf_counter()
        res = run_sweep(study, Path(d) / "out", workers=workers, progress=False)
        wall = time.perf_counter() - t0
        load1 = load()
    t = res.table
    compute = float(t["wall_s"].sum())
    cpu = float(t["cpu_s"].sum())
    ok = int(t["error"].isna().sum())
    return {"points": len(study.points), "ok": ok, "failed": len(t) - ok, "workers": workers, "wall_s": wall,
            "points_per_min": len(study.points) / wall * 60, "compute_s": compute,
            "s_per_point": compute / max(len(t), 1), "cpu_per_point": cpu / max(len(t), 1),
            "busy": compute / (wall * max(workers, 1)),
            "projected_1000_min": 1000 / (len(study.points) / wall * 60), "load": f"{load0} → {load1}"}


def memo_ratio(n: int, seed: int) -> dict:
    """CPU time per point of the same points in one process, memo off then on (a ratio, so robust
    to machine load), and whether every number agrees."""
    from asicsim.engine import memo
    from asicsim.studies.sweep import run_point

    study = study_from_dict(bench_study(n, seed), "<bench>")
    drop = ("wall_s", "cpu_s")
    memo.clear()
    t0 = time.process_time()
    with memo.disabled():
        cold = [run_point(p) for p in study.points]
    t1 = time.process_time()
    warm = [run_point(p) for p in study.points]
    t2 = time.process_time()
    same = all({k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items() if k not in drop}
               for a, b in zip(cold, warm))
    return {"points": n, "uncached_s": (t1 - t0) / n, "cached_s": (t2 - t1) / n, "ratio": (t1 - t0) / (t2 - t1),
            "identical": same, **memo.stats()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--execution", default=None, help="base execution of every point (preset or file)")
    ap.add_argument("--write", action="store_true", help="write sweep.md (to out/benchmarks/, or with --record to benchmarks/results/)")
    ap.add_argument("--record", action="store_true", help=RECORD_HELP)
    ap.add_argument("--memo", type=int, default=0, metavar="N",
                    help="also time N points in-process with the mapping/timing memo off and on")
    args = ap.parse_args(argv)
    memo_line = ""
    if args.memo:
        m = memo_ratio(args.memo, args.seed)
        memo_line = (f"Memo (same {m['points']} points in one process, CPU time): uncached {m['uncached_s']:.3f} s/point, "
                     f"cached {m['cached_s']:.3f} s/point, {m['ratio']:.2f}× faster; numbers identical: "
                     f"{m['identical']}; {m['hits']} hits / {m['misses']} misses.\n")
        print(memo_line, flush=True)
    rows = []
    for w in args.workers:
        r = run(args.points, w, args.seed, args.execution)
        rows.append(r)
        print(f"{r['points']} points, {w} worker(s): {r['wall_s']:.1f} s wall, {r['points_per_min']:.1f} points/min, "
              f"{r['s_per_point']:.2f} s/point elapsed, {r['cpu_per_point']:.2f} s/point CPU, busy {r['busy']:.0%}, "
              f"failed {r['failed']}, "
              f"1,000 points in {r['projected_1000_min']:.1f} min; load {r['load']}", flush=True)
    base = next((r for r in rows if r["workers"] == 1), None)
    lines = ["| points | workers | wall (s) | points/min | speed-up vs 1 worker | s/point elapsed | s/point CPU | "
             "worker busy | failed | 1,000 points (min) | load avg (1/5/15 min) before → after |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        sp = f"{r['points_per_min'] / base['points_per_min']:.2f}×" if base and r["points"] == base["points"] else ""
        lines.append(f"| {r['points']} | {r['workers']} | {r['wall_s']:.1f} | {r['points_per_min']:.1f} | {sp} | "
                     f"{r['s_per_point']:.2f} | {r['cpu_per_point']:.2f} | {r['busy']:.0%} | {r['failed']} | "
                     f"{r['projected_1000_min']:.1f} | "
                     f"{r['load']} |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        out = results_dir(args.record) / "sweep.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        head = (f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {platform.node() or 'this machine'}: "
                f"{os.cpu_count()} cores, Python {platform.python_version()}.\n")
        with out.open("a") as f:
            ex = f" --execution {args.execution}" if args.execution else ""
            f.write(f"\n### `bench_sweep.py --points {args.points} --workers {' '.join(map(str, args.workers))}{ex}`\n\n"
                    + head + "\n" + table + "\n" + ("\n" + memo_line if memo_line else ""))
        print(f"appended to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
