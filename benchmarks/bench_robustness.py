"""Robustness record: every input kind fuzzed (seeded mutations of real files), plus hostile files in a
real process, and the CLI's numeric options; counts clean errors, valid runs and crashes.

    .venv/bin/python benchmarks/bench_robustness.py [--cases N]            # → out/benchmarks/robustness.md
    .venv/bin/python benchmarks/bench_robustness.py --cases 1000 --record  # → benchmarks/results/robustness.md

A crash is any case that exits 1 (the CLI's internal-error line), prints a traceback, or exits 2
with more than one line. The suite runs the first 200 cases of each kind (`tests/test_fuzz_inputs.py`);
this script runs more of the same seeded sequence.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import fuzz_cases  # noqa: E402
from destination import RECORD_HELP, results_dir  # noqa: E402

from asicsim.cli.main import main  # noqa: E402


def run(cases: int) -> str:
    lines = ["# Robustness: bad input of every kind", "",
             f"Command: `.venv/bin/python benchmarks/bench_robustness.py --cases {cases} --record` (this file).",
             "Each case is a real file of the repository mutated (schema boundary values 0/−1/NaN/±inf/2⁶³, wrong "
             "types, missing and unknown keys, huge lists; truncation, flipped bytes, duplicated lines, UTF-16/32 "
             "and Latin-1, random bytes) and read by the command a user would run, in-process. *valid, ran*: the "
             "mutated file was still valid and the command finished (exit 0); *clean error*: exit 2, one line "
             "naming the file; *crash*: anything else.", "",
             "| input kind | cases | clean errors | valid, ran | crashes | worst time of a case (s) |",
             "|---|---:|---:|---:|---:|---:|"]
    crashes_total = 0
    buf = io.StringIO()

    def capture() -> str:
        v = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return v

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        kinds = fuzz_cases.kinds(work)
        for name, kind in kinds.items():
            outs = []
            with contextlib.redirect_stderr(buf), contextlib.redirect_stdout(io.StringIO()):
                for i in range(cases):
                    outs.append(fuzz_cases.run_case(kind, i, work, main, capture))
            crashes = [o for o in outs if not o.clean]
            crashes_total += len(crashes)
            lines.append(f"| {name} | {len(outs)} | {sum(o.rc == 2 for o in outs)} | {sum(o.rc == 0 for o in outs)} "
                         f"| {len(crashes)} | {max(o.seconds for o in outs):.2f} |")
            for o in crashes[:3]:
                lines.append(f"|  ↳ case {o.index}: {o.mutation} | rc {o.rc} | {o.stderr.strip()[-120:]} | | | |")
        lines += ["", "ONNX files are fuzzed by `tests/test_onnx_dag.py` (240 seeded graphs and byte mutations per "
                  "run: truncated files, random bytes, unknown ops, dynamic dims).", "",
                  "## Hostile files, each in a fresh process", "",
                  "| file | exit | stderr lines | wall (s) | peak RSS (MiB) |", "|---|---:|---:|---:|---:|"]
        worst_s = worst_mib = 0.0
        for name, content in fuzz_cases.HOSTILE.items():
            f = work / name
            f.write_bytes(content if isinstance(content, bytes) else content.encode())
            rc, err, wall_s, rss = fuzz_cases.run_process(["run", "--network", "lenet5", "--accelerator", str(f),
                                                           "--out", str(work / "o")], work)
            n_lines = len([ln for ln in err.splitlines() if ln.strip()])
            crashes_total += int(rc != 2 or n_lines != 1 or "Traceback" in err or (work / "pwned.txt").exists())
            worst_s, worst_mib = max(worst_s, wall_s), max(worst_mib, rss)
            lines.append(f"| {name} | {rc} | {n_lines} | {wall_s:.2f} | {rss:.0f} |")
    lines += ["", f"**Crashes: {crashes_total}.** Worst rejection of a hostile file: {worst_s:.2f} s, "
              f"{worst_mib:.0f} MiB peak RSS (the bound checked: 15 s, 600 MiB; the whole process, Python and "
              "numpy included). No case executed code (`!!python/object` is refused by safe loading).", "",
              "## Faults during long work", "",
              "Worker and driver kills, Ctrl-C, a locked folder and a full disk: "
              "[faults.md](faults.md).", ""]
    return "\n".join(lines)


def main_cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200, help="cases per input kind")
    ap.add_argument("--record", action="store_true", help=RECORD_HELP)
    args = ap.parse_args()
    t0 = time.perf_counter()
    text = run(args.cases)
    dest = results_dir(args.record)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "robustness.md").write_text(text + f"\n_Run took {time.perf_counter() - t0:.0f} s._\n")
    print(text)


if __name__ == "__main__":
    main_cli()
