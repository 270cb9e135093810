"""Where a benchmark script writes what it measures.

Decision: by default every script writes under ``out/benchmarks/`` (untracked; ``/out/`` is in
.gitignore), so running a benchmark — or ``make bench`` — never rewrites the committed records.
``--record`` writes to ``benchmarks/results/`` instead: the committed records, refreshed on
purpose (commit them with the numbers). Resumable training studies resume from the folder they
write to, so a run without ``--record`` starts its own archive under ``out/benchmarks/``.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORDS = ROOT / "benchmarks" / "results"
SCRATCH = ROOT / "out" / "benchmarks"
RECORD_HELP = "write to benchmarks/results/ (the committed records) instead of out/benchmarks/"


def record_requested(argv: list[str] | None = None) -> bool:
    """True when ``--record`` is on the command line (read directly, so scripts without an
    argument parser and module-level constants see it too)."""
    return "--record" in (sys.argv[1:] if argv is None else argv)


def results_dir(record: bool | None = None) -> Path:
    """benchmarks/results/ with ``--record``, else out/benchmarks/ (not created here)."""
    return RECORDS if (record_requested() if record is None else record) else SCRATCH


def strip_record(argv: list[str] | None = None) -> list[str]:
    """The command line without ``--record`` (for scripts that check their arguments by hand)."""
    return [a for a in (sys.argv[1:] if argv is None else argv) if a != "--record"]
