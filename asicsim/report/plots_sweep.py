"""Sweep figures: Pareto fronts, heatmaps and energy bars (Agg backend, PNG + SVG).
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize

from asicsim.report.plots import (
    ENERGY_UNITS,
    component_color,
    energy_components,
    save,
    scale_for,
    stacked_bars,
)

# --------------------------------------------------------------------------- sweeps


def pareto_mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points not dominated in (x, y), both minimised."""
    idx = np.lexsort((y, x))
    keep = np.zeros(len(x), dtype=bool)
    best = math.inf
    for i in idx:
        if y[i] < best:
            keep[i] = True
            best = y[i]
    return keep


def is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or s.nunique() <= 6


def pareto(df: pd.DataFrame, color: str | None, fig_dir: Path, stem: str, x="total_cycles", y="energy_pj",
           title="", xlabel="cycles per training step", ylabel="energy per training step") -> str:
    """Energy vs cycles of every point (log-log), coloured by an axis, with the Pareto front."""
    d = df[np.isfinite(df[x].astype(float)) & np.isfinite(df[y].astype(float))]
    xv, yv = d[x].to_numpy(float), d[y].to_numpy(float)
    ediv, eunit = scale_for(yv, ENERGY_UNITS)
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    if color and color in d:
        c = d[color]
        if is_categorical(c):
            cats = sorted(c.dropna().unique(), key=natural_key)
            cmap = plt.get_cmap("tab10")
            for i, cat in enumerate(cats):
                m = (c == cat).to_numpy()
                ax.scatter(xv[m], yv[m] / ediv, s=16, color=cmap(i % 10), alpha=0.75, label=f"{color} = {cat}")
        else:
            cv = c.to_numpy(float)
            pos = cv[np.isfinite(cv) & (cv > 0)]
            norm = (LogNorm(pos.min(), pos.max()) if pos.size and pos.min() > 0 and pos.max() / pos.min() > 10
                    else Normalize(np.nanmin(cv), np.nanmax(cv)))
            sc = ax.scatter(xv, yv / ediv, s=16, c=cv, cmap="viridis", norm=norm, alpha=0.8)
            fig.colorbar(sc, ax=ax, label=color)
    else:
        ax.scatter(xv, yv / ediv, s=16, alpha=0.75)
    front = pareto_mask(xv, yv)
    fo = np.argsort(xv[front])
    ax.step(xv[front][fo], yv[front][fo] / ediv, where="post", color="black", linewidth=1.2,
            label="Pareto front")
    ax.scatter(xv[front], yv[front] / ediv, s=40, facecolors="none", edgecolors="black", linewidths=1)
    ax.legend(fontsize=8)
    _auto_scale(ax, xv, yv / ediv)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel} ({eunit})")
    ax.set_title(title or f"energy vs cycles, coloured by {color}")
    fig.tight_layout()
    return save(fig, fig_dir, stem)


def _auto_scale(ax, x: np.ndarray, y: np.ndarray) -> None:
    """Log axes where the data spans more than 20×, linear otherwise; engineering tick labels."""
    from matplotlib.ticker import EngFormatter
    for vals, set_scale, axis in ((x, ax.set_xscale, ax.xaxis), (y, ax.set_yscale, ax.yaxis)):
        v = vals[np.isfinite(vals) & (vals > 0)]
        if v.size and v.max() / v.min() > 20:
            set_scale("log")
        axis.set_major_formatter(EngFormatter(sep=""))
        axis.set_minor_formatter(plt.NullFormatter())


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return ""
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def natural_key(v):
    """Sort key that puts sbpca_k4 before sbpca_k16 and numbers in numeric order."""
    import re
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return (0, float(v), ())
    parts = re.split(r"(\d+)", str(v))
    return (1, 0.0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts))


def heatmap(df: pd.DataFrame, xa: str, ya: str, metric: str, fig_dir: Path, stem: str, label: str,
            units, facet: str | None = None) -> str:
    """Minimum of ``metric`` over the other axes, for each (xa, ya) cell; one panel per value of
    ``facet`` (e.g. the update rule) when given."""
    facets = [None] if facet is None else sorted(df[facet].dropna().unique(), key=natural_key)
    xs = sorted(df[xa].dropna().unique(), key=natural_key)
    ys = sorted(df[ya].dropna().unique(), key=natural_key)
    pivots = []
    for fv in facets:
        d = df if fv is None else df[df[facet] == fv]
        piv = d.pivot_table(index=ya, columns=xa, values=metric, aggfunc="min").reindex(index=ys, columns=xs)
        pivots.append(piv.to_numpy(float))
    allv = np.concatenate([p.ravel() for p in pivots])
    div, unit = scale_for(allv, units)
    vals = allv[np.isfinite(allv) & (allv > 0)] / div
    norm = (LogNorm(vals.min(), vals.max()) if vals.size and vals.max() / vals.min() > 20
            else Normalize(vals.min() if vals.size else 0, vals.max() if vals.size else 1))
    fig, axes = plt.subplots(1, len(facets), figsize=(max(4.5, 0.9 * len(xs) + 2.5) * len(facets),
                                                     max(3.2, 0.55 * len(ys) + 1.8)), squeeze=False,
                             layout="constrained")
    im = None
    for ax, fv, mat in zip(axes[0], facets, pivots):
        mat = mat / div
        im = ax.imshow(mat, origin="lower", aspect="auto", cmap="viridis_r", norm=norm)
        ax.set_xticks(range(len(xs)), [str(v) for v in xs])
        ax.set_yticks(range(len(ys)), [str(v) for v in ys])
        ax.set_xlabel(xa)
        if ax is axes[0][0]:
            ax.set_ylabel(ya)
        ax.grid(False)
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                if np.isfinite(mat[i, j]):
                    rgba = im.cmap(im.norm(mat[i, j]))
                    lum = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
                    ax.text(j, i, _fmt(mat[i, j]), ha="center", va="center", fontsize=7,
                            color="black" if lum > 0.5 else "white")
                else:
                    ax.text(j, i, "n/a", ha="center", va="center", fontsize=7, color="gray")
        if fv is not None:
            ax.set_title(f"{facet} = {fv}")
    unit_txt = f" ({unit})" if unit else ""
    fig.colorbar(im, ax=list(axes[0]), label=f"{label}{unit_txt}")
    fig.suptitle(f"{label}: {ya} × {xa} (best over the other axes)", fontsize=10)
    return save(fig, fig_dir, stem)


def energy_bars(totals: pd.DataFrame, fig_dir: Path, stem: str, title: str) -> str:
    """Stacked energy-by-component bars, one per row of ``totals`` (index = label)."""
    comps = energy_components(totals)
    labels = [str(i) for i in totals.index]
    e = {c: totals[f"energy_{c}_pj"].to_numpy(float) for c in comps}
    div, unit = scale_for(sum(e.values()) if e else [0], ENERGY_UNITS)
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(labels) + 3), 4.5))
    stacked_bars(ax, labels, {c: v / div for c, v in e.items()}, {c: component_color(c, i) for i, c in enumerate(comps)})
    ax.set_xticks(range(len(labels)), labels, rotation=90 if len(labels) > 6 else 0, fontsize=7)
    ax.set_ylabel(f"energy ({unit})")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return save(fig, fig_dir, stem)
