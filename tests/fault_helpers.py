"""Helpers the fault-injection tests hand to sweep workers (importable by spawned Dask workers
through PYTHONPATH, which the tests set)."""
from __future__ import annotations

import os
import signal

import yaml


def killer_simulate(*args, **kwargs):
    """`asicsim.studies.step.simulate`, except that the first call anywhere (the marker file named by
    ``ASICSIM_FAULT_MARKER`` does not exist yet) SIGKILLs its own worker process mid-task."""
    marker = os.environ.get("ASICSIM_FAULT_MARKER")
    if marker:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)
        except FileExistsError:
            pass
    from asicsim.studies.step import simulate
    return simulate(*args, **kwargs)


def study_yaml(path, n_rows: int = 3, n_cols: int = 2, n_sram: int = 2, name: str = "faults") -> str:
    """A LeNet-5 study of n_rows × n_cols × n_sram × {full, sbpca k4} points (each ~0.05 s)."""
    doc = {"name": name, "description": "fault-injection study",
           "base": {"accelerator": "edge", "network": "lenet5", "batch": 8, "update": {"rule": "full"}},
           "grid": {"array.rows": [8 * (i + 1) for i in range(n_rows)],
                    "array.cols": [8 * (i + 1) for i in range(n_cols)],
                    "sram.global.capacity_kib": [64 * (i + 1) for i in range(n_sram)]},
           "points": [{"update.rule": "full"}, {"update.rule": "sbpca", "update.rank": 4}]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def comparable(table):
    """A sweep table without the columns that differ between runs (timings), in point order."""
    from asicsim.studies.journal import TIMING_COLUMNS
    return table.drop(columns=[c for c in TIMING_COLUMNS if c in table]).sort_values("point").reset_index(drop=True)
