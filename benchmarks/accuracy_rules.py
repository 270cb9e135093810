"""Accuracy study of the training rules: every update/backward rule on LeNet-5 and ResNet-8 (Fashion-MNIST),
each at its own learning rate from one documented search, 3 seeds, with the simulated energy of
each training run (co-simulation on ``edge``).

Run through ``python benchmarks/accuracy_study.py --study rules`` (this module holds the plan, the
scheduler and the report; finished runs are skipped, so the command resumes). Protocol, fixed
before any run and identical for every rule:

* **Search** (selects on a validation split, never on the test set): constant schedule, seed 0,
  ``--val``: the last images of the training pool are held out (LeNet-5: train on the first
  50,000, validate on the last 10,000; ResNet-8: pool of the first 6,000, validate on its last
  1,000). The grid is walked upwards; once a run diverges (non-finite loss) the larger rates are
  not tried. LeNet-5 grid {0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2}; ResNet-8 grid {0.01, 0.03, 0.1}
  (coarser: a ResNet-8 run costs ~25× a LeNet-5 run in this numpy trainer). Per rule and per epoch
  budget, the rate with the best validation accuracy at that epoch wins (ties: the smaller rate).
  ``full`` and ``sbpca`` are searched with 5-epoch runs, which give both the 2- and the 5-epoch
  budget: with a constant rate, epoch 2 of a 5-epoch run *is* the 2-epoch run (same weights,
  batches and rates; `tests/test_train_val.py` checks it).
* **Final runs**: each rule at its chosen rate, seeds 0, 1, 2, the whole training pool (LeNet-5 all
  60,000 images, full 10,000 test images; ResNet-8 the 6,000-image pool, first 2,000 test images),
  batch 64; the reported number is the TEST accuracy at the budget's epoch, mean ± sample std.
* **SBPCA target** (item 5): LeNet-5, k = 4, s = 32 pairs, warm start, σ from the first sub-batch
  (the SBPCA algorithm unchanged): gap = full − sbpca at 2 and at 5 epochs, mean over seeds 0–2, each rule
  at the rate its search chose for that budget. Target ≤ 1.0 pp.
* **Variant protocol** ``lenet5_cosine`` (added after the constant-rate search had shown the
  2-epoch gap; reported in full beside it, never mixed into it): the same grid, split, selection
  and final runs with a cosine schedule (to 0 at the end of the run), 2-epoch runs, ``full`` and
  ``sbpca`` only — does a decaying rate, which removes the last epoch's step noise, change the gap?
* **Grid edge extension** (protocol v2, added 2026-12-03 after the v1 results above had shown
  chosen rates on the grid's edges; applied to every rule and both schedules alike, v1's choices
  and finals are reported in full beside v2's): when a budget's best rate is the largest rate
  tried (and it did not diverge), the walk goes on upwards through ``extend_up`` (LeNet-5 0.5, 1,
  2; ResNet-8 0.3, 1), one rate at a time, until the best is no longer the largest (the new rate
  is not better, or it diverged); when the best is the smallest rate tried, it goes on downwards
  through ``extend_down`` (LeNet-5 0.001, 0.0005, 0.0002; ResNet-8 0.003, 0.001) the same way.
  Selection is unchanged: best validation accuracy at the budget's epoch, ties to the smaller rate.
* **Reference rule** ``svd_k4`` (added with v2, LeNet-5, same search and finals): the exact
  rank-4 truncation of every batch gradient — is the 2-epoch gap SBPCA's streaming estimate or
  the rank-4 truncation itself? No hardware model, so no energy. Likewise ``sbpca_k8`` (SBPCA at
  rank 8, LeNet-5, 2 epochs): which rank would meet the 2-epoch target? Neither changes the target.
* **Energy**: `asicsim.studies.cosim` charges each step its simulated cost on ``edge`` (the model
  of ``asicsim train --accelerator edge``), summed over the run's steps.

(Where: out/benchmarks/ by default; the committed benchmarks/results/ only with --record, see
benchmarks/destination.py.)
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from destination import results_dir  # noqa: E402 (benchmarks/ is sys.path[0] when run)

ROOT = Path(__file__).resolve().parent.parent
RES = results_dir()   # benchmarks/results with --record, else out/benchmarks (destination.py)
OUT = RES / "accuracy_study"
SEEDS = (0, 1, 2)
ACCEL = "edge"

RULES = {   # rule name -> trainer arguments
    "full": ["--update", "full"],
    "sbpca_k4": ["--update", "sbpca", "--rank", "4", "--sub-batch", "32"],
    "sketch_k4": ["--update", "sketch", "--rank", "4"],
    "dfa": ["--update", "full", "--backward", "dfa"],
    "bdfa": ["--update", "full", "--backward", "bdfa"],
    "hybrid": ["--update", "full", "--backward", "hybrid"],
    # reference, not a hardware rule: the exact rank-4 truncation (SVD) of each batch gradient, the
    # rank-4 update closest to G at every step; LeNet-5 only (added with protocol v2, see above)
    "svd_k4": ["--update", "svd", "--rank", "4"],
    # reference: the same SBPCA at rank 8 — which rank would meet the 2-epoch target? LeNet-5 only
    "sbpca_k8": ["--update", "sbpca", "--rank", "8", "--sub-batch", "32"],
}
LENET_GRID = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
LENET_EXTEND = {"extend_up": (0.5, 1.0, 2.0), "extend_down": (0.001, 0.0005, 0.0002)}
COMMON = ["--dataset", "fashion-mnist", "--batch", "64", "--log-every", "100"]
NETWORKS = {
    "lenet5": {"args": ["--network", "lenet5"], "pool": 60000, "val": 10000, "test": None,
               "grid": LENET_GRID, **LENET_EXTEND, "rules": list(RULES),
               "budgets": {"full": (2, 5), "sbpca_k4": (2, 5)}, "default_budgets": (2,)},
    "resnet8": {"args": ["--network", "resnet8"], "pool": 6000, "val": 1000, "test": 2000,
                "grid": (0.01, 0.03, 0.1), "extend_up": (0.3, 1.0), "extend_down": (0.003, 0.001),
                "rules": [r for r in RULES if r not in ("hybrid", "svd_k4", "sbpca_k8")],
                "budgets": {}, "default_budgets": (2,)},
    # the variant protocol (see the docstring): cosine schedule, 2-epoch runs, full and sbpca only
    "lenet5_cosine": {"args": ["--network", "lenet5"], "schedule": "cosine", "pool": 60000, "val": 10000,
                      "test": None, "grid": LENET_GRID, **LENET_EXTEND,
                      "rules": ["full", "sbpca_k4"], "budgets": {}, "default_budgets": (2,)},
}
# hybrid (BP through conv, binary DFA for FC) needs an FC layer besides the classifier: ResNet-8 has
# one FC layer, so the trainer refuses it (exit 2); the report lists it as n/a


# runs at one shared rate 0.05 on LeNet-5, no search (the records the target section compares the
# searched protocols with): folder -> (epochs, {run name: trainer arguments}), seeds SEEDS
FIXED_LR = 0.05
FIXED_RATE = {
    "shared_lr0.05": (5, {"full": RULES["full"], "sbpca_k4": RULES["sbpca_k4"]}),
    "lenet5_variants": (2, {f"sbpca_k4_s{s}": ["--update", "sbpca", "--rank", "4", "--sub-batch", str(s)]
                            for s in (8, 128)}),
}


def fixed_dir(folder: str, run: str, seed: int) -> Path:
    return OUT / folder / f"{run}_seed{seed}"


def fixed_command(folder: str, run: str, seed: int) -> list[str]:
    epochs, runs = FIXED_RATE[folder]
    return ["python", "-m", "asicsim", "train", "--network", "lenet5", *COMMON, "--schedule", "constant",
            "--epochs", str(epochs), *runs[run], "--lr", f"{FIXED_LR:g}", "--seed", str(seed), "--quiet",
            "--out", str(fixed_dir(folder, run, seed).relative_to(ROOT))]


def budgets(net: str, rule: str) -> tuple[int, ...]:
    spec = NETWORKS[net]
    return spec["budgets"].get(rule, spec["default_budgets"])


def search_dir(net: str, rule: str, lr: float) -> Path:
    return OUT / "search" / net / f"{rule}_lr{lr:g}"


def final_dir(net: str, rule: str, lr: float, seed: int) -> Path:
    return OUT / "final" / net / f"{rule}_lr{lr:g}_seed{seed}"


def _limits(net: str, search: bool) -> list[str]:
    spec = NETWORKS[net]
    lim = ["--limit-train", str(spec["pool"])] if spec["pool"] < 60000 else []
    if spec["test"]:
        lim += ["--limit-test", str(spec["test"])]
    return lim + (["--val", str(spec["val"])] if search else [])


def command(net: str, rule: str, lr: float, seed: int | None) -> list[str]:
    """``seed`` None: the search run (seed 0, validation split); else a final run."""
    out = search_dir(net, rule, lr) if seed is None else final_dir(net, rule, lr, seed)
    return ["python", "-m", "asicsim", "train", *NETWORKS[net]["args"], *COMMON,
            "--schedule", NETWORKS[net].get("schedule", "constant"), *_limits(net, seed is None),
            "--epochs", str(max(budgets(net, rule))), *RULES[rule], "--lr", f"{lr:g}",
            "--seed", str(0 if seed is None else seed), "--quiet", "--out", str(out.relative_to(ROOT))]


def _failed(d: Path) -> Path:
    """The marker of a run that stopped (diverged): ``<run folder>.failed`` beside it."""
    return d.parent / (d.name + ".failed")


def _done(d: Path) -> bool:
    return (d / "summary.json").exists() or _failed(d).exists()


def _val(d: Path, epoch: int) -> float | None:
    f = d / "summary.json"
    if not f.exists():
        return None
    v = json.loads(f.read_text()).get("val_accuracy_per_epoch", [])
    return v[epoch - 1] if len(v) >= epoch else None


def _best(net: str, rule: str, rates: list[float], epoch: int) -> float | None:
    """Best validation accuracy at ``epoch`` among ``rates`` (ties: the smaller rate)."""
    scored = [(v, -lr, lr) for lr in rates if (v := _val(search_dir(net, rule, lr), epoch)) is not None]
    return max(scored)[2] if scored else None


def search_state(net: str, rule: str) -> tuple[list[float], float | None]:
    """(rates searched so far, the next rate to run or None when the walk is over): the v1 grid
    walked upwards (stopping at a divergence), then the v2 edge extension (module docstring)."""
    spec, tried = NETWORKS[net], []
    for lr in spec["grid"]:
        d = search_dir(net, rule, lr)
        if not _done(d):
            return tried, lr
        tried.append(lr)
        if _failed(d).exists():      # diverged: larger rates are not tried
            break
    while True:
        bests = {_best(net, rule, tried, b) for b in budgets(net, rule)}
        nxt = None
        if max(tried) in bests:      # a diverged rate is never a best, so this stops the walk up
            nxt = next((r for r in spec.get("extend_up", ()) if r > max(tried)), None)
        if nxt is None and min(tried) in bests:
            nxt = next((r for r in spec.get("extend_down", ()) if r < min(tried)), None)
        if nxt is None:
            return tried, None
        if not _done(search_dir(net, rule, nxt)):
            return tried, nxt
        tried.append(nxt)


def chosen_lr(net: str, rule: str, epoch: int, v1: bool = False) -> float | None:
    """The searched rate for ``epoch`` over the finished walk; ``v1``: among the grid's rates
    only (the protocol before the edge extension)."""
    tried, nxt = search_state(net, rule)
    grid = NETWORKS[net]["grid"]
    if v1:   # the grid walk comes first, so v1 is over once the next rate is not a grid rate
        return None if nxt in grid else _best(net, rule, [r for r in tried if r in grid], epoch)
    return None if nxt is not None else _best(net, rule, tried, epoch)


def tasks():
    """Runnable commands in priority order: the SBPCA target's searches and finals first."""
    order = [("lenet5", "full"), ("lenet5", "sbpca_k4")] + \
            [(n, r) for n in NETWORKS for r in NETWORKS[n]["rules"] if (n, r) not in
             (("lenet5", "full"), ("lenet5", "sbpca_k4"))]
    for net, rule in order:
        _, nxt = search_state(net, rule)
        if nxt is not None:
            yield search_dir(net, rule, nxt), command(net, rule, nxt, None)
            continue
        for lr in sorted({chosen_lr(net, rule, b) for b in budgets(net, rule)} - {None}):
            for seed in SEEDS:
                d = final_dir(net, rule, lr, seed)
                if not _done(d):
                    yield d, command(net, rule, lr, seed)
    for folder, (_, runs) in FIXED_RATE.items():
        for run in runs:
            for seed in SEEDS:
                if not _done(fixed_dir(folder, run, seed)):
                    yield fixed_dir(folder, run, seed), fixed_command(folder, run, seed)


def run(cmd: list[str]) -> tuple[int, float, str]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, *cmd[1:]], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return p.returncode, time.perf_counter() - t0, (p.stdout + p.stderr).strip()


def run_all(jobs: int = 2) -> None:
    """``jobs`` workers take the first runnable task not taken yet; a search walk is sequential
    (the next rate depends on whether this one diverged), walks and finals run side by side."""
    lock = threading.Lock()
    busy: set[Path] = set()

    def worker():
        while True:
            with lock:
                pick = next(((d, c) for d, c in tasks() if d not in busy), None)
                if pick is None:
                    return
                busy.add(pick[0])
            d, cmd = pick
            rc, dt, text = run(cmd)
            last = text.splitlines()[-1] if text else ""
            print(f"[{d.relative_to(OUT)}] rc={rc} {dt:.0f}s: {last}", flush=True)
            with lock:
                if rc:   # a diverged run: recorded, and the report lists it
                    _failed(d).write_text(last + "\n")
                busy.discard(d)
                report()

    threads = [threading.Thread(target=worker) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def energy_j(net: str, rule: str, epochs: int, n_train: int) -> float | None:
    """Simulated energy of the whole training run on ACCEL (None: no hardware model here)."""
    from asicsim.config.hardware import load_hardware
    from asicsim.errors import InputError
    from asicsim.studies.cosim import cumulative, epoch_costs, hardware_update
    from asicsim.workload.network import load_network
    args = RULES[rule]
    update = args[args.index("--update") + 1]
    backward = args[args.index("--backward") + 1] if "--backward" in args else "bp"
    try:
        rank = int(args[args.index("--rank") + 1]) if "--rank" in args else 4
        up = hardware_update(update, rank, 32, "pairs", 0.0, backward)
    except InputError:
        return None
    full, last = epoch_costs(load_hardware(ACCEL), load_network(NETWORKS[net]["args"][1]), 64, n_train, up)
    spe = -(-n_train // 64)
    return cumulative(spe * epochs, spe, full, last)[1]


def _ms(values) -> str:
    a = 100 * np.asarray(list(values), dtype=float)
    return f"{a.mean():.2f} ± {a.std(ddof=1):.2f}" if len(a) > 1 else (f"{a[0]:.2f}" if len(a) else "–")


def _summary(d: Path) -> dict | None:
    f = d / "summary.json"
    return json.loads(f.read_text()) if f.exists() else None


def finals(net: str, rule: str, epoch: int, v1: bool = False) -> tuple[float | None, dict[int, float], dict | None]:
    """(chosen rate, {seed: test accuracy at ``epoch``}, one summary) of a rule's final runs."""
    lr = chosen_lr(net, rule, epoch, v1)
    accs, one = {}, None
    if lr is not None:
        for seed in SEEDS:
            s = _summary(final_dir(net, rule, lr, seed))
            if s is not None:
                accs[seed], one = s["test_accuracy_per_epoch"][epoch - 1], s
    return lr, accs, one


def _search_table(net: str) -> list[str]:
    spec = NETWORKS[net]
    rates = sorted({lr for rule in spec["rules"] for lr in search_state(net, rule)[0]} | set(spec["grid"]))
    L = ["| rule | epoch | " + " | ".join(f"lr {lr:g}" + ("" if lr in spec["grid"] else " (v2)") for lr in rates)
         + " | chosen v1 (grid) | chosen v2 (extended) |", "|---|---|" + "---|" * (len(rates) + 2)]
    for rule in spec["rules"]:
        tried = search_state(net, rule)[0]
        for b in budgets(net, rule):
            best, best1 = chosen_lr(net, rule, b), chosen_lr(net, rule, b, v1=True)
            cells = []
            for lr in rates:
                d = search_dir(net, rule, lr)
                v = _val(d, b)
                cell = ("" if lr not in tried else "diverged" if _failed(d).exists()
                        else "–" if v is None else f"{100 * v:.2f}")
                cells.append(f"**{cell}**" if lr == best else cell)
            L.append(f"| {rule} | {b} | " + " | ".join(cells) + " | " +
                     " | ".join("–" if x is None else f"{x:g}" for x in (best1, best)) + " |")
    return L


def _plot(net: str, points: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for p in points:
        a = 100 * np.asarray(p["accs"])
        ax.errorbar(p["energy_j"], a.mean(), yerr=a.std(ddof=1) if len(a) > 1 else 0, marker="o", capsize=3,
                    label=f"{p['rule']} (lr {p['lr']:g}, {p['epochs']} ep, n={len(a)})")
    ax.set_xlabel(f"simulated training energy on {ACCEL} (J, whole run)")
    ax.set_ylabel("test accuracy (%), mean ± std over seeds")
    ax.set_title(f"{net} / Fashion-MNIST: accuracy vs simulated energy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _gap(full: dict[int, float], other: dict[int, float], bold: bool = False) -> tuple[list[int], str]:
    """(seeds both have, 'gap per seed …, mean … pp' in pp) of full − other."""
    both = sorted(set(full) & set(other))
    gaps = [100 * (full[sd] - other[sd]) for sd in both]
    m = f"{np.mean(gaps):+.2f} pp" if gaps else ""
    return both, f"gap per seed {', '.join(f'{g:+.2f}' for g in gaps)} pp, mean {f'**{m}**' if bold else m}"


def _target(L: list[str]) -> None:
    L.append("\n## SBPCA rank 4 vs full, LeNet-5, batch 64 (target: within 1.0 pp at 2 and at 5 epochs, "
             "mean over 3 seeds)\n")
    for label, net, bs, v1 in (("Main protocol v2 (grid + edge extension)", "lenet5", (2, 5), False),
                               ("Main protocol v1 (grid only, the 2026-12-02 record)", "lenet5", (2, 5), True),
                               ("Variant, cosine schedule, v2", "lenet5_cosine", (2,), False),
                               ("Variant, cosine schedule, v1", "lenet5_cosine", (2,), True)):
        for b in bs:
            lf, f_, _ = finals(net, "full", b, v1)
            ls, s_, _ = finals(net, "sbpca_k4", b, v1)
            both, gap = _gap(f_, s_, bold=True)
            if not both:
                L.append(f"- {label}, {b} epochs: not finished yet.")
                continue
            mean = np.mean([f_[sd] - s_[sd] for sd in both]) * 100
            verdict = (("**met**" if mean <= 1.0 else "**NOT met**") if len(both) == 3
                       else f"not decided: {len(both)} of 3 seeds")
            L.append(f"- {label}, {b} epochs (full at its searched lr {lf:g}, sbpca at {ls:g}), seeds {both}: full "
                     f"{_ms(f_[sd] for sd in both)}, sbpca k=4 {_ms(s_[sd] for sd in both)}; {gap}: {verdict}.")
    _, f_, _ = finals("lenet5", "full", 2)
    # the references: is the gap the streaming estimate or the rank-4 truncation, and which rank meets it?
    for rule, what in (("svd_k4", "exact rank-4 SVD of every batch gradient"), ("sbpca_k8", "SBPCA at rank 8")):
        lr, accs, _ = finals("lenet5", rule, 2)
        both, gap = _gap(f_, accs)
        if both:
            L.append(f"- Reference, {what} (`{rule}`, v2 search, lr {lr:g}), 2 epochs, seeds {both}: "
                     f"{_ms(accs[sd] for sd in both)}; {gap.replace('gap', 'gap to full', 1)}.")
    epoch_acc = {folder: {run: {sd: s["test_accuracy_per_epoch"] for sd in SEEDS
                                if (s := _summary(fixed_dir(folder, run, sd)))} for run in runs}
                 for folder, (_, runs) in FIXED_RATE.items()}
    shared = epoch_acc["shared_lr0.05"]
    if all(len(v) == len(SEEDS) for v in shared.values()):
        at = lambda runs, b: {sd: a[b - 1] for sd, a in runs.items()}  # noqa: E731
        for b in (2, 5):
            L.append(f"- Earlier protocol, one lr {FIXED_LR:g} for both rules (no search; "
                     f"`{(OUT / 'shared_lr0.05').relative_to(ROOT)}/`): {b} epochs, "
                     f"{_gap(at(shared['full'], b), at(shared['sbpca_k4'], b))[1]}.")
        # SBPCA's sub-batch s at the same shared rate (2-epoch runs; s = 32 is the row above)
        for run, accs in epoch_acc["lenet5_variants"].items():
            if len(accs) == len(SEEDS):
                s = run.rsplit("_s", 1)[1]
                L.append(f"- Same shared lr {FIXED_LR:g}, SBPCA sub-batch s = {s} pairs instead of 32 "
                         f"(`{(OUT / 'lenet5_variants').relative_to(ROOT)}/{run}_seed*`): 2 epochs, "
                         f"sbpca {_ms(at(accs, 2).values())}, {_gap(at(shared['full'], 2), at(accs, 2))[1]}.")


def write_index() -> Path:
    """``accuracy_study/chosen.json``: per network of the main protocol (not the variant), rule and
    budget, the searched rate (v2) and its finished 3-seed final runs — what ``asicsim compare
    --rules`` shows as a rule's accuracy (asicsim.studies.compare_rules.trained_accuracy)."""
    entries = []
    for net, spec in NETWORKS.items():
        if "schedule" in spec:      # the variant protocol is reported, not indexed
            continue
        for rule in spec["rules"]:
            for b in budgets(net, rule):
                lr, accs, one = finals(net, rule, b)
                if len(accs) < len(SEEDS):
                    continue
                entries.append({"network": spec["args"][1], "rule": rule, "update": one["update"],
                                "rank": one["rank"], "sub_batch": one["sub_batch"],
                                "backward": one.get("backward") or "bp", "epochs": b, "lr": lr,
                                "batch": one["config"]["batch"], "n_train": one["n_train"],
                                "test_accuracy": {str(sd): a for sd, a in accs.items()},
                                "folders": [str(final_dir(net, rule, lr, sd).relative_to(RES)) for sd in accs]})
    path = OUT / "chosen.json"
    path.write_text(json.dumps({"protocol": "benchmarks/accuracy_rules.py (v2)", "entries": entries}, indent=1) + "\n")
    return path


def report() -> Path:
    L = ["# Accuracy study: every rule on LeNet-5 and ResNet-8, each at its searched learning rate\n",
         "Produced by `python benchmarks/accuracy_study.py --study rules` from the run folders under "
         "`benchmarks/results/accuracy_study/{search,final}/` (protocol: the docstring of "
         "`benchmarks/accuracy_rules.py`: v1 fixed before the runs, v2's edge extension added after them). Accuracies in %, mean ± sample std over "
         "the seeds that have finished (n given). Data: Fashion-MNIST (Debian package `dataset-fashion-mnist`).\n"]
    for net, spec in NETWORKS.items():
        pool = f"{spec['pool'] - spec['val']:,} train / {spec['val']:,} validation images of the first {spec['pool']:,}"
        L.append(f"\n## {net}\n\n### Search: validation accuracy (%), seed 0, {pool}\n")
        L += _search_table(net)
        L.append(f"\n### Final runs: test accuracy (%), seeds 0–2, {spec['pool']:,} training images, "
                 f"{spec['test'] or 10000:,} test images\n")
        L.append("Protocol v2 rows (the current protocol); where v1's grid-only choice differs, its row "
                 "follows, marked (v1), with Δ against v1's full.\n")
        L.append("| rule | epochs | lr | n | test accuracy | Δ vs full (pp) | gradient state (numbers) | "
                 "feedback entries | simulated energy (J) |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        points = []
        for rule, b, v1 in ((r, b, v1) for r in spec["rules"] for b in budgets(net, r) for v1 in (False, True)):
            lr, accs, one = finals(net, rule, b, v1)
            if v1 and lr == chosen_lr(net, rule, b):
                continue
            name = f"{rule} (v1)" if v1 else rule
            if not accs:
                L.append(f"| {name} | {b} | {'–' if lr is None else f'{lr:g}'} | 0 | – | – | – | – | – |")
                continue
            _, full_accs, _ = finals(net, "full", b if b in budgets(net, "full") else max(budgets(net, "full")), v1)
            d = 100 * (np.mean(list(accs.values())) - np.mean(list(full_accs.values()))) if full_accs else math.nan
            e = energy_j(net, rule, b, one["n_train"])
            if b == 2 and e is not None and not v1:
                points.append({"rule": rule, "lr": lr, "epochs": b, "accs": list(accs.values()), "energy_j": e})
            L.append(f"| {name} | {b} | {lr:g} | {len(accs)} | {_ms(accs.values())} | "
                     f"{'' if math.isnan(d) else f'{d:+.2f}'} | "
                     f"{sum(v['gradient_state_numbers'] for v in one['layers'].values()):,} | "
                     f"{one.get('feedback_numbers', 0):,} | {'n/a' if e is None else f'{e:.3f}'} |")
        if net == "resnet8":
            L.append("| hybrid | – | – | – | n/a: ResNet-8 has one FC layer (the classifier), the trainer refuses "
                     "`--backward hybrid` (exit 2) | | | | |")
        fails = sorted(p.relative_to(OUT) for p in (OUT / "final" / net).glob("*.failed")) \
            if (OUT / "final" / net).exists() else []
        if fails:
            L.append("\nFinal runs that stopped (not in the means): " + ", ".join(f"`{f}`" for f in fails))
        if points:
            png = RES / f"accuracy_rules_{net}.png"
            _plot(net, points, png)
            L.append(f"\n![accuracy vs simulated energy, {net}]({png.name})\n")
    _target(L)
    L.append("\n## Commands (S = seed, LR = the searched rate)\n\n```")
    for net, spec in NETWORKS.items():
        for rule in spec["rules"]:
            for cmd in (command(net, rule, 0.01, None), command(net, rule, 0.01, 0)):
                L.append(" ".join(cmd).replace("0.01", "LR").replace("--seed 0 --quiet --out "
                         "benchmarks/results/accuracy_study/final", "--seed S --quiet --out "
                         "benchmarks/results/accuracy_study/final").replace("_seed0", "_seedS"))
    for folder, (_, runs) in FIXED_RATE.items():
        L += [" ".join(fixed_command(folder, run, 0)).replace("--seed 0", "--seed S").replace("_seed0", "_seedS")
              for run in runs]
    L.append("```\n")
    notes = OUT / "NOTES.md"
    if notes.exists():
        L.append(notes.read_text())
    path = RES / "accuracy_rules.md"
    path.write_text("\n".join(L) + "\n")
    write_index()
    return path
