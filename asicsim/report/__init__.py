"""Reports: a run, compare or sweep folder → ``report.md`` + ``index.html`` + ``figures/``."""
from asicsim.report.write import detect_kind, write_report

__all__ = ["detect_kind", "write_report"]
