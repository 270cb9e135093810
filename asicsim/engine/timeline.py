"""Busy intervals of the array, the vector unit and the DRAM link, recorded by the event simulation.

`Recorder.add` is called once per compute step and once per DRAM transfer; touching intervals of
the same op and resource are merged at once (exact: a step that starts when the previous one ends
extends it), so memory stays proportional to the number of idle gaps, not of steps.
`timeline_table` then coarsens the intervals for reports: within one op and resource, intervals
separated by less than ``resolution`` cycles are drawn as one bar, and each row keeps the exact
busy cycles inside it (``busy_cycles``), so nothing is lost from the totals.

DRAM link intervals: with the bandwidth model, the time the link is held (bytes / bytes per
cycle); with the banked model, the span from a transfer's first to its last data beat.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

RESOURCES = ("array", "vector", "dram")
TIMELINE_COLUMNS = ["layer", "phase", "resource", "start_cycle", "end_cycle", "busy_cycles"]


class Recorder:
    """Per resource, a list of [op index, start, end, busy] (cycles), merged as they arrive."""

    def __init__(self):
        self.iv: dict[str, list[list[float]]] = {r: [] for r in RESOURCES}
        self.op = 0

    def add(self, resource: str, start: float, end: float) -> None:
        if end <= start:
            return
        lst = self.iv[resource]
        if lst:
            last = lst[-1]
            if last[0] == self.op and start <= last[2]:
                if end > last[2]:
                    last[3] += end - max(start, last[2])
                    last[2] = end
                return
        lst.append([self.op, start, end, end - start])


def timeline_table(rec: Recorder, layers: list[str], phases: list[str], resolution: float) -> pd.DataFrame:
    """Rows (layer, phase, resource, start_cycle, end_cycle, busy_cycles); op i is ``layers[i]``,
    ``phases[i]``. Intervals of one op and resource closer than ``resolution`` cycles are joined.
    Ops run one after another, so a resource's interval ends grow with time and a running maximum
    is the current bar's end."""
    parts = []
    for res in RESOURCES:
        if not rec.iv[res]:
            continue
        op, s, e, b = np.array(rec.iv[res], dtype=np.float64).T
        run_end = np.maximum.accumulate(e)
        brk = np.ones(len(op), dtype=bool)
        brk[1:] = (op[1:] != op[:-1]) | (s[1:] - run_end[:-1] >= resolution)
        idx = np.flatnonzero(brk)
        ops = op[idx].astype(np.int64)
        parts.append(pd.DataFrame({
            "layer": [layers[o] for o in ops], "phase": [phases[o] for o in ops], "resource": res,
            "start_cycle": s[idx], "end_cycle": np.maximum.reduceat(e, idx), "busy_cycles": np.add.reduceat(b, idx)}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TIMELINE_COLUMNS)
    return out[TIMELINE_COLUMNS].sort_values(["start_cycle", "resource"], kind="stable").reset_index(drop=True)
