"""Reports: a run, compare (or compare --rules) or sweep folder → ``report.md`` + ``index.html`` + ``figures/``.

The folder kind is found from its files:

* sweep:   ``sweep.json`` / ``results.jsonl`` / ``results.parquet`` (written by `asicsim.studies.sweep`)
* rules:   ``rules.csv`` (`asicsim compare --rules`, one row per rule; `asicsim.report.rules`)
* compare: ``compare.csv`` (layers.csv columns + ``update``, ``rank``; ``summary.json`` optional)
* run:     ``layers.csv`` + ``summary.json`` (`asicsim.engine.results.StepResult.write`)

Both documents are rendered from the same list of blocks (headings, text, tables with units in
their headers, figures), so they always say the same thing. Figures are PNG (shown) and SVG
(linked) under ``figures/``; paths are relative, so a report folder can be moved or committed.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from asicsim.errors import InputError
from asicsim.outputs import write_text
from asicsim.report.compare import compare_report
from asicsim.report.doc import FIG_DIR
from asicsim.report.rules import rules_report
from asicsim.report.run import run_report
from asicsim.report.sweep import sweep_report

# --------------------------------------------------------------------------- detection


def detect_kind(d: Path) -> str:
    if (d / "sweep.json").exists() or (d / "results.jsonl").exists() or (d / "results.parquet").exists() \
            or (d / "results.csv").exists():
        return "sweep"
    if (d / "rules.csv").exists():
        return "rules"
    if (d / "compare.csv").exists():
        return "compare"
    if (d / "layers.csv").exists() and (d / "summary.json").exists():
        return "run"
    raise InputError("not a run, compare or sweep folder", file=d,
                     allowed="a folder with layers.csv + summary.json (run), compare.csv (compare), "
                             "rules.csv (compare --rules) or results.parquet / results.jsonl (sweep)")


def write_report(out_dir: str | Path) -> Path:
    """Write ``report.md``, ``index.html`` and ``figures/`` into a run/compare/rules/sweep folder.
    Returns the path of ``index.html``."""
    d = Path(out_dir)
    if not d.is_dir():
        raise InputError("folder not found", file=d)
    kind = detect_kind(d)
    fig_dir = d / FIG_DIR
    if fig_dir.exists():
        shutil.rmtree(fig_dir)   # the report owns this folder: no stale figures
    fig_dir.mkdir()
    doc = {"run": run_report, "compare": compare_report, "rules": rules_report, "sweep": sweep_report}[kind](d, fig_dir)
    write_text(d / "report.md", doc.markdown())
    page = write_text(d / "index.html", doc.html())
    return page


