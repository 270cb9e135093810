"""``asicsim sweep STUDY --out DIR [--workers N] [--scheduler ADDRESS] [--report]``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asicsim.outputs import output_dir


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", help="study file (YAML) or the name of one in models/studies/")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output folder (default: out/<study name>); re-running resumes it")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of a local Dask cluster (default: one per core; "
                        "0 = run in this process, no Dask)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on an existing Dask cluster, e.g. tcp://host:8786 (its workers need asicsim)")
    p.add_argument("--chunk", type=int, default=1, metavar="K",
                   help="points per task (default 1; larger amortises overhead on tiny points)")
    p.add_argument("--retry-failed", action="store_true", help="run again the points that recorded an error")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--dry-run", action="store_true",
                   help="check the study file and list its points (count, axes) without running any")
    p.add_argument("--report", action="store_true", help="write report.md + index.html into the folder afterwards")


def execute(args: argparse.Namespace) -> int:
    from asicsim.errors import InputError
    from asicsim.studies.expand import load_study
    from asicsim.studies.sweep import run_sweep

    if args.workers is not None and args.workers < 0:
        raise InputError("must be >= 0", field="--workers", value=args.workers,
                         allowed="0 (in this process) or a number of worker processes")
    if args.chunk < 1:
        raise InputError("must be >= 1", field="--chunk", value=args.chunk)
    study = load_study(args.study)
    dup = f" ({study.duplicates} duplicate points dropped)" if study.duplicates else ""
    if args.dry_run:
        print(f"study {study.name}: {len(study.points)} points{dup}; axes: {', '.join(study.axes) or '(none)'}")
        return 0
    out = output_dir(Path(args.out) if args.out else Path("out") / study.name)
    where = args.scheduler or ("this process" if args.workers == 0 else
                               f"local cluster, {args.workers or 'all'} worker processes")
    print(f"study {study.name}: {len(study.points)} points{dup}; running on {where}", file=sys.stderr)
    try:
        res = run_sweep(study, out, workers=args.workers, scheduler=args.scheduler,
                        progress=not args.no_progress, chunk=args.chunk, retry_failed=args.retry_failed)
    except KeyboardInterrupt:   # run_sweep's cleanup has run: journal closed, table consolidated, cluster down
        from asicsim.studies.journal import JOURNAL, Journal
        kept = len({r.get("key") for r in Journal(out / JOURNAL).read()})
        print(f"asicsim: interrupted; {kept} of {len(study.points)} points are kept in {out}. Resume with: "
              f"asicsim sweep {args.study} --out {out}", file=sys.stderr)
        return 130
    rate = res.n_run / res.elapsed_s * 60 if res.elapsed_s > 0 and res.n_run else 0.0
    print(f"{res.n_points} points: {res.n_run} run, {res.n_skipped} already done, {res.n_failed} failed; "
          f"{res.elapsed_s:.1f} s ({rate:.0f} points/min) -> {res.results_path}")
    if res.stale_code:
        print(f"warning: {res.n_skipped} points were reused from a run of a different simulator build; "
              "use a new --out folder to recompute them", file=sys.stderr)
    if res.n_failed:
        errs = res.table.loc[res.table["error"].notna(), ["point", "error"]].head(3)
        for _, r in errs.iterrows():
            print(f"  point {r['point']}: {r['error']}", file=sys.stderr)
        if res.n_failed > 3:
            print(f"  ... and {res.n_failed - 3} more (see the 'error' column)", file=sys.stderr)
    if args.report:
        from asicsim.report.write import write_report
        page = write_report(out)
        print(f"report: {page}")
    return 0
