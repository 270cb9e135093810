"""``asicsim validate``: re-simulate published silicon measurements and write the record."""
from __future__ import annotations

import argparse
from pathlib import Path

from asicsim.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CSV = ROOT / "benchmarks" / "validation" / "measurements.csv"
DEFAULT_OUT = Path("out") / "validation"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--measurements", default=str(DEFAULT_CSV), metavar="CSV",
                   help="table of published measurements [benchmarks/validation/measurements.csv]")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="folder for validation.md/.csv and figures "
                                                           "[out/validation; benchmarks/results refreshes the record]")
    p.add_argument("--chip", action="append", help="only rows of this chip (repeatable)")


def execute(args) -> int:
    from tqdm import tqdm

    from asicsim.outputs import output_dir
    from asicsim.report.validation import write_validation
    from asicsim.studies.validation import buffer_rates, goal_summary, load_measurements, validate

    rows = load_measurements(args.measurements)
    if args.chip:
        known = sorted({m.chip for m in rows})
        bad = [c for c in args.chip if c not in known]
        if bad:
            raise InputError("no rows of this chip", field="--chip", value=bad[0], allowed=", ".join(known))
        rows = [m for m in rows if m.chip in args.chip]
    out = output_dir(args.out)
    with tqdm(total=len(rows), desc="re-simulating measurements", unit="row", disable=None, leave=False) as bar:
        table = validate(rows, where=args.measurements, progress=lambda: bar.update(1))
    path = write_validation(table, out, Path(args.measurements).name, buffer_rates(rows, table))
    for _, g in goal_summary(table).iterrows():
        print(f"{g['class']:8s} {g['rows']:3d} rows  median |error| {g['median_abs_error_pct']:5.1f} % "
              f"(goal ≤ {g['goal_pct']:.0f} %)  unexplained > 30 %: {g['over_30_unexplained']}")
    print(f"wrote {path}")
    return 0
