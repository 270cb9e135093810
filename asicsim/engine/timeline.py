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
    ``phases[i]``. Intervals of one op and resource closer than ``resolution`` cycles are joined."""
    rows = []
    for res in RESOURCES:
        cur = None
        for op, s, e, b in rec.iv[res]:
            if cur is not None and cur[0] == op and s - cur[2] < resolution:
                cur[2] = max(cur[2], e)
                cur[3] += b
                continue
            if cur is not None:
                rows.append((res, *cur))
            cur = [op, s, e, b]
        if cur is not None:
            rows.append((res, *cur))
    out = pd.DataFrame([(layers[o], phases[o], res, s, e, b) for res, o, s, e, b in rows],
                       columns=TIMELINE_COLUMNS)
    return out.sort_values(["start_cycle", "resource"], kind="stable").reset_index(drop=True)
