"""Benchmark: wall time of `asicsim run --network resnet18 --batch 32 --accelerator edge`.

Target: < 10 s on one core of the 2-core CI machine, goal 2 s. Measured as the median of
N runs of the real command in a subprocess pinned to one core (taskset when available), next to a
baseline measured in the same script: the interpreter start-up plus imports alone
(`python -c "import asicsim.cli.run, asicsim.studies.step"`), so the ratio is stable on a noisy machine.
Writes benchmarks/results/run.md.

    .venv/bin/python benchmarks/bench_run.py [--repeat 3]

(Where: out/benchmarks/ by default; the committed benchmarks/results/ only with --record, see
benchmarks/destination.py.)
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from destination import RECORD_HELP, results_dir  # noqa: E402 (benchmarks/ is sys.path[0] when run)

HERE = Path(__file__).resolve().parent
CMD = ["-m", "asicsim", "run", "--network", "resnet18", "--batch", "32", "--accelerator", "edge"]


def timed(argv: list[str], env: dict | None = None) -> float:
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    t = time.perf_counter()
    subprocess.run(pin + argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--against", metavar="DIR",
                    help="also time the same command from an older checkout (its asicsim/ first on PYTHONPATH), "
                         "interleaved with this one: a same-machine ratio")
    ap.add_argument("--execution", default=None,
                    help="time the run with this execution spec (e.g. realistic: target ≤ 1.5 s); writes run_<name>.md")
    ap.add_argument("--record", action="store_true", help=RECORD_HELP)
    args = ap.parse_args()
    if args.execution:
        return main_execution(args)
    run, old = [], []
    old_env = {**os.environ, "PYTHONPATH": str(Path(args.against).resolve())} if args.against else None
    with tempfile.TemporaryDirectory() as d:
        for _ in range(args.repeat):
            run.append(timed([sys.executable, *CMD, "--out", d]))
            if old_env:
                old.append(timed([sys.executable, *CMD, "--out", d], env=old_env))
    base = [timed([sys.executable, "-c", "import asicsim.cli.run, asicsim.studies.step"]) for _ in range(args.repeat)]
    r, b = statistics.median(run), statistics.median(base)
    vs = ""
    if old:
        o = statistics.median(old)
        vs = (f"| same command from `{args.against}` (interleaved) | {o:.2f} |\n"
              f"| ratio this / that checkout | {r / o:.2f} |\n")
    text = f"""# `asicsim run` wall time

Command: `asicsim run --network resnet18 --batch 32 --accelerator edge` (full training step:
forward, backward-data, weight-gradient, update; the process pinned to one core).
Measured by `.venv/bin/python benchmarks/bench_run.py --repeat {args.repeat}` on {date.today()},
{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.

| what | median of {args.repeat} (s) |
|---|---|
| `asicsim run` (whole command) | {r:.2f} |
| baseline: interpreter + imports only | {b:.2f} |
| simulation work (difference) | {r - b:.2f} |
| ratio run / baseline | {r / b:.1f} |
{vs}
Target < 10 s (goal 2 s): {'met' if r < 10 else 'NOT met'}{' (goal met)' if r <= 2 else ''}.
For comparison, SCALE-Sim 3.0.0 took 860 s for the forward pass alone of this network
(its run `r18_scale32_os`, copied in `tests/data/scalesim_runs`).
"""
    res = results_dir(args.record)
    res.mkdir(parents=True, exist_ok=True)
    (res / "run.md").write_text(text)
    print(f"wrote {res / 'run.md'}")
    print(text)


def main_execution(args) -> None:
    """Whole-process time of the run with an execution spec, next to the default run (same script,
    interleaved): the realistic step's target is ≤ 1.5 s."""
    cmd_ex = [*CMD, "--execution", args.execution]
    run, dflt = [], []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(args.repeat):
            run.append(timed([sys.executable, *cmd_ex, "--out", d]))
            dflt.append(timed([sys.executable, *CMD, "--out", d]))
    r, b = statistics.median(run), statistics.median(dflt)
    text = f"""# `asicsim run --execution {args.execution}` wall time

Command: `asicsim {' '.join(cmd_ex[2:])}` (full training step, the process pinned to one core),
interleaved with the default execution's run. Measured by
`.venv/bin/python benchmarks/bench_run.py --execution {args.execution} --repeat {args.repeat}` on {date.today()},
{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} (machine shared with other jobs).

| what | median of {args.repeat} (s) |
|---|---|
| `asicsim run --execution {args.execution}` (whole command) | {r:.2f} |
| `asicsim run` (default execution, same script) | {b:.2f} |
| ratio | {r / b:.2f} |

Target ≤ 1.5 s: {'met' if r <= 1.5 else 'NOT met'}.
"""
    res = results_dir(args.record)
    res.mkdir(parents=True, exist_ok=True)
    (res / f"run_{args.execution}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
