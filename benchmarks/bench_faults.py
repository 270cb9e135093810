"""Fault injection on a 200-point sweep: two Dask workers SIGKILLed mid-run, then the driver SIGKILLed,
then a resume; the resumed table must hold exactly 200 unique rows equal to an uninterrupted run.

    .venv/bin/python benchmarks/bench_faults.py            # → out/benchmarks/faults.md
    .venv/bin/python benchmarks/bench_faults.py --record   # → benchmarks/results/faults.md

The study is LeNet-5 on the edge accelerator over 5 array heights × 5 widths × 4 SRAM sizes ×
{full, SBPCA k4} (`tests/fault_helpers.study_yaml`). Workers are found as the driver's child
processes (Dask nannies restart them); each kill waits until more rows have landed in the journal.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import fault_helpers  # noqa: E402
from destination import results_dir  # noqa: E402

from asicsim.studies.journal import JOURNAL, Journal, load_results  # noqa: E402

POINTS = 200


def _sweep(study: str, out: Path, workers: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "asicsim", "sweep", study, "--out", str(out), "--workers",
                             str(workers), "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _rows(out: Path) -> int:
    return len(Journal(out / JOURNAL).read())


def _wait_rows(out: Path, n: int, proc: subprocess.Popen, limit_s: float = 600) -> None:
    t0 = time.monotonic()
    while _rows(out) < n:
        if proc.poll() is not None or time.monotonic() - t0 > limit_s:
            raise SystemExit(f"sweep ended or stalled before {n} rows")
        time.sleep(0.05)


def _workers(driver: int) -> list[psutil.Process]:
    """Dask worker processes: grandchildren of the driver (driver → nanny → worker) or children."""
    kids = psutil.Process(driver).children(recursive=True)
    return [p for p in kids if any("distributed" in part or "spawn_main" in part for part in p.cmdline())
            and not p.children()] or kids


def main() -> None:
    log: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        study = fault_helpers.study_yaml(tmp / "faults.yaml", 5, 5, 4)
        t0 = time.perf_counter()
        ref = _sweep(study, tmp / "ref", 2)
        ref.communicate()
        ref_s = time.perf_counter() - t0
        reference = fault_helpers.comparable(load_results(tmp / "ref"))
        assert len(reference) == POINTS and reference["error"].isna().all()
        log.append(f"| uninterrupted run, 2 workers | — | {len(reference)} | {ref_s:.1f} s |")

        out = tmp / "faulty"
        t0 = time.perf_counter()
        proc = _sweep(study, out, 2)
        for kill in (1, 2):
            _wait_rows(out, 30 * kill, proc)
            victims = _workers(proc.pid)
            victim = victims[0]
            before = _rows(out)
            victim.send_signal(signal.SIGKILL)
            log.append(f"| worker SIGKILL #{kill} (pid {victim.pid}) | {before} | — | at {time.perf_counter() - t0:.1f} s |")
        _wait_rows(out, 100, proc)
        before = _rows(out)
        for p in psutil.Process(proc.pid).children(recursive=True):
            p.kill()
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        log.append(f"| driver SIGKILL (and its cluster) | {before} | — | at {time.perf_counter() - t0:.1f} s |")
        t1 = time.perf_counter()
        res = _sweep(study, out, 2)
        _, err = res.communicate()
        resume_s = time.perf_counter() - t1
        rows = Journal(out / JOURNAL).read()
        table = fault_helpers.comparable(load_results(out))
        unique = len({r["key"] for r in rows})
        equal = True
        try:
            pd.testing.assert_frame_equal(table, reference)
        except AssertionError:
            equal = False
        log.append(f"| resume, 2 workers | {before} | {len(table)} | {resume_s:.1f} s |")
    text = [
        "# Faults during long work",
        "",
        "Command: `.venv/bin/python benchmarks/bench_faults.py --record` (this file). Scenario: a 200-point",
        "LeNet-5 study on 2 Dask workers; two workers SIGKILLed while tasks run (the nanny restarts each, Dask",
        "re-runs the lost task), then the driver SIGKILLed with its cluster, then the same command again.",
        "",
        "| event | journal rows before | table rows after | when / how long |",
        "|---|---:|---:|---:|",
        *log,
        "",
        f"**Result:** {len(rows)} journal lines, {unique} unique points, resumed table of {len(table)} rows "
        f"{'equal' if equal else 'NOT equal'} to the uninterrupted run (timing columns `wall_s`, `cpu_s` aside); "
        f"errors in the table: {int(table['error'].notna().sum())}.",
        "",
        "What the test suite checks on every run (`tests/test_faults.py`, 24-point study):",
        "",
        "- a worker that SIGKILLs itself mid-task: the task is retried on a restarted worker, 24 unique rows, "
        "equal to a serial run;",
        "- the driver interrupted by SIGINT: exit 130, one line saying how many points are kept and the exact "
        "resume command; by SIGKILL: the journal keeps every finished row; both resume to the reference table;",
        "- a second sweep on a locked folder: exit 2, one line naming the holder (pid, host, start time); the "
        "lock dies with its holder (an `flock`), so no stale lock can block a later run;",
        "- a full disk (ENOSPC) after five rows, with a torn sixth line: the sweep stops with one line naming "
        "the folder, the five rows survive, the torn line is dropped, the resume completes the table;",
        "- Ctrl-C during `asicsim train`: exit 130, `history.csv` keeps the logged rows, `summary.json` says "
        "`\"complete\": false` and where it stopped (training has no checkpoint: the same command, same seed, "
        "gives the same numbers from the start).",
        "",
    ]
    dest = results_dir()
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "faults.md").write_text("\n".join(text))
    print("\n".join(text))
    if err:
        print(err.decode()[-2000:], file=sys.stderr)
    if not (equal and unique == POINTS and len(table) == POINTS):
        raise SystemExit("fault injection lost or changed results")


if __name__ == "__main__":
    main()
