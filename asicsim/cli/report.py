"""``asicsim report DIR``: turn a run, compare or sweep folder into report.md + index.html."""
from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", help="a folder written by `asicsim run`, `compare` or `sweep`")


def execute(args: argparse.Namespace) -> int:
    from pathlib import Path

    from asicsim.report.write import write_report

    page = write_report(Path(args.folder))
    print(f"wrote {page.parent / 'report.md'} and {page}")
    return 0
