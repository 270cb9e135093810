"""Accuracy study: LeNet-5 on Fashion-MNIST, full-gradient SGD vs SBPCA rank k vs exact rank-k SVD.

Every run uses the same network, batch, epochs, learning-rate schedule and seed (so the same
initial weights and the same batch order); only the update rule differs. Each run is one
``asicsim train`` command; its history.csv and summary.json land in
``benchmarks/results/accuracy_lenet5/<run>/`` and the table in
``benchmarks/results/accuracy_lenet5.md``.

    python benchmarks/accuracy_study.py                 # all runs, 2 at a time (~20 min on 2 cores)
    python benchmarks/accuracy_study.py --report-only   # rebuild the markdown from the results
    python benchmarks/accuracy_study.py --study rules   # every training rule, LeNet-5 + ResNet-8,
                                                        # 3 seeds (plan: benchmarks/accuracy_rules.py)

(Where: out/benchmarks/ by default; the committed benchmarks/results/ only with --record, see
benchmarks/destination.py.)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from destination import RECORD_HELP, results_dir  # noqa: E402 (benchmarks/ is sys.path[0] when run)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = results_dir()   # benchmarks/results with --record, else out/benchmarks (destination.py)
OUT = RESULTS / "accuracy_lenet5"

COMMON = ["--network", "lenet5", "--dataset", "fashion-mnist", "--batch", "64", "--epochs", "5",
          "--lr", "0.05", "--schedule", "cosine", "--momentum", "0", "--seed", "0", "--log-every", "100"]

RUNS = {
    "full": ["--update", "full"],
    "sbpca_k4": ["--update", "sbpca", "--rank", "4", "--sub-batch", "32"],
    "svd_k4": ["--update", "svd", "--rank", "4"],
    "sbpca_k1": ["--update", "sbpca", "--rank", "1", "--sub-batch", "32"],
    "sbpca_k2": ["--update", "sbpca", "--rank", "2", "--sub-batch", "32"],
    "sbpca_k8": ["--update", "sbpca", "--rank", "8", "--sub-batch", "32"],
    # the sub-batch knob at rank 4: fewer pairs per step, and s counted in samples (conv layers
    # then stream 2 sub-batches of 32·H_out·W_out pairs per batch instead of ~1,600 of 32 pairs)
    "sbpca_k4_s8": ["--update", "sbpca", "--rank", "4", "--sub-batch", "8"],
    "sbpca_k4_s32samples": ["--update", "sbpca", "--rank", "4", "--sub-batch", "32", "--sub-batch-unit", "samples"],
}


def command(name: str) -> list[str]:
    return ["python", "-m", "asicsim", "train", *COMMON, *RUNS[name], "--quiet",
            "--out", str((OUT / name).relative_to(ROOT))]


def run_one(name: str) -> tuple[str, float, int, str]:
    cmd = command(name)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, *cmd[1:]], cwd=ROOT, env=env, capture_output=True, text=True)
    return name, time.perf_counter() - t0, p.returncode, (p.stdout + p.stderr).strip()


def report() -> Path:
    rows = []
    for name in RUNS:
        f = OUT / name / "summary.json"
        if not f.exists():
            continue
        s = json.loads(f.read_text())
        h = pd.read_csv(OUT / name / "history.csv")
        last = h[h.epoch == s["epochs"]]
        err = {l: float(last[f"{l}_err"].mean()) for l in s["layers"]}
        svd = {l: float(last[f"{l}_svd_err"].mean()) for l in s["layers"]}
        rows.append({"run": name, "update": s["update"], "rank": s["rank"] or "-",
                     "s": (f"{s['sub_batch']} {s['config']['sub_batch_unit']}" if s["sub_batch"] else "-"),
                     "final_acc": s["final_test_accuracy"], "best_acc": s["best_test_accuracy"],
                     "per_epoch": s["test_accuracy_per_epoch"], "final_loss": s["final_train_loss"],
                     "wall_s": s["wall_s"], "img_s": s["train_images_per_s"], "err": err, "svd": svd,
                     "state": sum(v["gradient_state_numbers"] for v in s["layers"].values())})
    if not rows:
        raise SystemExit("no results yet")
    full = next((r for r in rows if r["run"] == "full"), None)
    L = []
    L.append("# Accuracy study: LeNet-5 on Fashion-MNIST, full SGD vs SBPCA rank k vs exact rank-k SVD\n")
    L.append("Produced by `python benchmarks/accuracy_study.py` (runs below, 2 at a time, "
             "`OPENBLAS_NUM_THREADS=1`). Same network, batch, epochs, schedule and seed for every run "
             "(same initial weights, same batch order); only the update rule differs. Data: Fashion-MNIST "
             "60,000 train / 10,000 test from the Debian package `dataset-fashion-mnist`.\n")
    L.append(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} "
             "(shared with other jobs while it ran: wall times and images/s are indicative only).\n")
    L.append("## Results\n")
    L.append("| run | update | rank | sub-batch | final test acc | Δ vs full (pp) | best | acc per epoch | "
             "final train loss | gradient state (numbers) | wall s | train images/s |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        d = f"{100 * (r['final_acc'] - full['final_acc']):+.2f}" if full else "n/a"
        L.append(f"| {r['run']} | {r['update']} | {r['rank']} | {r['s']} | {r['final_acc']:.4f} | {d} | "
                 f"{r['best_acc']:.4f} | {' '.join(f'{a:.4f}' for a in r['per_epoch'])} | {r['final_loss']:.4f} | "
                 f"{r['state']:,} | {r['wall_s']:.0f} | {r['img_s']:.0f} |")
    layers = list(rows[0]["err"])
    L.append("\n## How well the update tracks the batch gradient (last epoch, mean over sampled steps)\n")
    L.append("‖Ĝ−G‖/‖G‖ per layer (for `full` Ĝ = G, so 0; for `svd` it is the rank-k truncation error). "
             "In brackets: ‖G_k−G‖/‖G‖ of the exact rank-k truncation of the same batch, the floor "
             "for any rank-k update.\n")
    L.append("| run | " + " | ".join(layers) + " |")
    L.append("|---|" + "---|" * len(layers))
    for r in rows:
        if r["update"] == "full":
            continue
        L.append(f"| {r['run']} | " + " | ".join(f"{r['err'][l]:.3f} ({r['svd'][l]:.3f})" for l in layers) + " |")
    L.append("\n## Commands\n")
    L.append("```")
    for r in rows:
        L.append(" ".join(shlex.quote(c) for c in command(r["run"])))
    L.append("```\n")
    L.append("Histories: `benchmarks/results/accuracy_lenet5/<run>/history.csv` (epoch, step, lr, "
             "train_loss, train_accuracy, test_accuracy at epoch ends, and per layer `<layer>_err` = "
             "‖Ĝ−G‖/‖G‖, `<layer>_err_k` = ‖Ĝ−G_k‖/‖G_k‖, `<layer>_svd_err` = ‖G_k−G‖/‖G‖ every 100 steps).\n")
    notes = OUT / "NOTES.md"
    if notes.exists():
        L.append(notes.read_text())
    path = RESULTS / "accuracy_lenet5.md"
    path.write_text("\n".join(L) + "\n")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="*", default=list(RUNS), choices=list(RUNS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--record", action="store_true", help=RECORD_HELP)
    ap.add_argument("--study", choices=("ranks", "rules"), default="ranks",
                    help="ranks: the LeNet-5 rank study above; rules: the training-rules study (every rule on "
                         "LeNet-5 and ResNet-8 at its searched lr, 3 seeds, and the SBPCA target)")
    args = ap.parse_args()
    if args.study == "rules":
        return rules_study(args.jobs, args.report_only, args.study)
    if not args.report_only:
        OUT.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(args.jobs) as ex:
            for name, dt, rc, text in ex.map(run_one, args.runs):
                print(f"[{name}] rc={rc} {dt:.0f}s: {text.splitlines()[0] if text else ''}", flush=True)
                if rc:
                    print(text, file=sys.stderr)
    print(f"wrote {report()}")
    return 0


def rules_study(jobs: int, report_only: bool, which: str) -> int:
    """The training-rules study (search walks, then final runs; see benchmarks/accuracy_rules.py):
    runs without a summary.json yet, 2 at a time; the report is rebuilt after each run."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import accuracy_rules as AR
    if not report_only:
        AR.run_all(jobs)
    print(f"wrote {AR.report()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
