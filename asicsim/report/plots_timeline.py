"""Timeline figure of a run: busy intervals of the MAC array, the vector unit and the DRAM link over
the simulated step (``timeline.csv``, recorded by the event simulation, `asicsim.engine.timeline`).

Top panel: one lane per resource, bars coloured by phase; each bar spans an interval and its dark
part is as tall as the resource's busy share inside it (busy_cycles / length), so a DRAM-bound
stretch shows a full DRAM bar over a half-empty array bar. Bottom panel: a Gantt chart per layer
(rows in network order), one thin sub-lane each for array, vector unit and DRAM.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection

from asicsim.report.plots import (
    COUNT_UNITS,
    PHASE_COLORS,
    ordered_phases,
    save,
    scale_for,
)

RESOURCE_ORDER = ("array", "vector", "dram")
RESOURCE_LABELS = {"array": "MAC array", "vector": "vector unit", "dram": "DRAM link"}
RESOURCE_COLORS = {"array": "#4C72B0", "vector": "#937860", "dram": "#C44E52"}


def _rects(ax, x, y, w, h, color, alpha=1.0) -> None:
    """Many rectangles as one collection (one draw call: fast in PNG and small in SVG)."""
    x, y, w, h = (np.broadcast_to(np.asarray(v, float), np.shape(x)) for v in (x, y, w, h))
    verts = np.stack([np.stack([x, y], 1), np.stack([x + w, y], 1), np.stack([x + w, y + h], 1),
                      np.stack([x, y + h], 1)], 1)
    ax.add_collection(PolyCollection(verts, facecolors=color, alpha=alpha, linewidths=0))


def _bars(ax, rows: pd.DataFrame, y: float, h: float, color, div: float) -> None:
    start = rows["start_cycle"].to_numpy(float) / div
    span = (rows["end_cycle"] - rows["start_cycle"]).to_numpy(float)
    share = np.clip(np.divide(rows["busy_cycles"].to_numpy(float), span, out=np.zeros_like(span),
                              where=span > 0), 0, 1)
    _rects(ax, start, y, span / div, h, color, 0.25)
    _rects(ax, start, y, span / div, h * share, color)


def timeline(tl: pd.DataFrame, layer_order: list[str], fig_dir: Path, stem="timeline", title="") -> str:
    """The two-panel timeline figure; returns its stem."""
    div, unit = scale_for([tl["end_cycle"].max() if len(tl) else 0], COUNT_UNITS)
    layers = [x for x in layer_order if x in set(tl["layer"])] + \
        [x for x in dict.fromkeys(tl["layer"]) if x not in set(layer_order)]
    n = len(layers)
    fig, axes = plt.subplots(2, 1, figsize=(12, 2.2 + 0.13 * n + 1.6), sharex=True,
                             gridspec_kw={"height_ratios": [1.6, max(2.0, 0.13 * n)]})
    ax = axes[0]
    phases = ordered_phases(tl["phase"])
    for i, res in enumerate(RESOURCE_ORDER):
        r = tl[tl["resource"] == res]
        for ph in phases:
            rows = r[r["phase"] == ph]
            if len(rows):
                _bars(ax, rows, len(RESOURCE_ORDER) - 1 - i, 0.8, PHASE_COLORS.get(ph, "#888888"), div)
    ax.set_yticks([len(RESOURCE_ORDER) - 1 - i + 0.4 for i in range(len(RESOURCE_ORDER))],
                  [RESOURCE_LABELS[r] for r in RESOURCE_ORDER])
    ax.set_ylim(-0.2, len(RESOURCE_ORDER))
    handles = [plt.Rectangle((0, 0), 1, 1, color=PHASE_COLORS.get(ph, "#888888")) for ph in phases]
    ax.legend(handles, phases, fontsize=8, ncol=len(phases), loc="upper right", bbox_to_anchor=(1, 1.32))
    ax.set_title(title or "busy intervals (dark part of a bar: busy share inside it)", loc="left")
    ax = axes[1]
    ypos = {name: n - 1 - i for i, name in enumerate(layers)}
    for j, res in enumerate(RESOURCE_ORDER):
        r = tl[tl["resource"] == res]
        if not len(r):
            continue
        y0 = r["layer"].map(ypos).to_numpy(float) + 0.05 + j * 0.3
        start = r["start_cycle"].to_numpy(float) / div
        width = (r["end_cycle"] - r["start_cycle"]).to_numpy(float) / div
        _rects(ax, start, y0, width, 0.28, RESOURCE_COLORS[res])
    ax.set_yticks([ypos[x] + 0.45 for x in layers], layers, fontsize=6 if n > 40 else 8)
    ax.set_ylim(-0.2, n)
    ax.set_xlim(0, float(tl["end_cycle"].max()) / div * 1.01 if len(tl) else 1)
    ax.grid(axis="y", alpha=0.15)
    handles = [plt.Rectangle((0, 0), 1, 1, color=RESOURCE_COLORS[r]) for r in RESOURCE_ORDER]
    ax.legend(handles, [RESOURCE_LABELS[r] for r in RESOURCE_ORDER], fontsize=8, loc="upper right")
    ax.set_xlabel(f"simulated time (cycles {unit})" if unit else "simulated time (cycles)")
    ax.set_title("per layer (all phases)", loc="left")
    fig.tight_layout()
    return save(fig, fig_dir, stem)
