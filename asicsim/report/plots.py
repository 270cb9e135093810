"""Matplotlib figures for reports (Agg backend; every figure is saved as PNG and SVG).

Each function takes plain tables (pandas) and returns the figure's file stem (``figures/<stem>.png``
and ``.svg`` under the report folder). No function reads files or knows about report layout.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from asicsim.outputs import write_with  # noqa: E402

plt.rcParams.update({
    "figure.dpi": 110, "savefig.dpi": 110, "font.size": 9, "axes.titlesize": 10,
    "axes.grid": True, "grid.alpha": 0.3, "axes.axisbelow": True, "svg.fonttype": "none",
    "svg.hashsalt": "asicsim",   # stable SVG ids, so regenerated reports diff cleanly
})

PHASE_ORDER = ("forward", "backward_data", "weight_gradient", "update")
PHASE_COLORS = {"forward": "#4C72B0", "backward_data": "#DD8452", "weight_gradient": "#55A868",
                "update": "#C44E52"}
COMPONENT_COLORS = {"mac": "#4C72B0", "array_reg": "#8172B3", "vector": "#937860",
                    "dram": "#C44E52", "static": "#8C8C8C", "crossbar": "#CCB974", "link": "#64B5CD"}
_SRAM_COLORS = ["#55A868", "#64B5CD", "#DA8BC3", "#CCB974", "#8DA0CB"]

ENERGY_UNITS = [(1e12, "J"), (1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ"), (1.0, "pJ")]
BYTE_UNITS = [(2 ** 40, "TiB"), (2 ** 30, "GiB"), (2 ** 20, "MiB"), (2 ** 10, "KiB"), (1, "B")]
COUNT_UNITS = [(1e12, "×10¹²"), (1e9, "×10⁹"), (1e6, "×10⁶"), (1e3, "×10³"), (1, "")]


def log_axes(ax, xlim, ylim, xlabel: str, ylabel: str) -> None:
    """Log-log axes with the given limits and labels."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def scale_for(values, units) -> tuple[float, str]:
    """(divisor, unit name) that brings the largest |value| into [1, 1000)."""
    vals = np.abs(np.asarray(list(values), dtype=float))
    vals = vals[np.isfinite(vals)]
    top = float(vals.max()) if vals.size else 0.0
    for div, name in units:
        if top >= div:
            return div, name
    return units[-1]


def component_color(name: str, i: int = 0) -> str:
    if name in COMPONENT_COLORS:
        return COMPONENT_COLORS[name]
    if name.startswith("sram"):
        return _SRAM_COLORS[i % len(_SRAM_COLORS)]
    return plt.get_cmap("tab20")(i % 20)


def energy_components(df: pd.DataFrame) -> list[str]:
    """Component names of the ``energy_<c>_pj`` columns (not ``energy_pj`` itself)."""
    return [c[len("energy_"):-len("_pj")] for c in df.columns
            if c.startswith("energy_") and c.endswith("_pj") and c not in ("energy_pj", "energy_per_sample_pj")]


def ordered_phases(phases: Sequence[str]) -> list[str]:
    ph = list(dict.fromkeys(phases))
    return [p for p in PHASE_ORDER if p in ph] + [p for p in ph if p not in PHASE_ORDER]


def save(fig, fig_dir: Path, stem: str) -> str:
    fig_dir.mkdir(parents=True, exist_ok=True)
    write_with(fig_dir / f"{stem}.png", lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight"))
    write_with(fig_dir / f"{stem}.svg",
               lambda tmp: fig.savefig(tmp, format="svg", bbox_inches="tight", metadata={"Date": None}))
    plt.close(fig)
    return stem


def _layer_width(n: int) -> float:
    return min(max(6.0, 0.22 * n + 2.0), 28.0)


def stacked_bars(ax, labels, series: dict[str, np.ndarray], colors: dict[str, str], width=0.7, offset=0.0,
             hatch=None, legend=True):
    x = np.arange(len(labels)) + offset
    bottom = np.zeros(len(labels))
    for name, vals in series.items():
        ax.bar(x, vals, width, bottom=bottom, color=colors.get(name), label=name if legend else None,
               hatch=hatch, edgecolor="white" if hatch is None else "black", linewidth=0.3)
        bottom = bottom + vals
    return bottom


# --------------------------------------------------------------------------- single run


def energy_by_phase(layers: pd.DataFrame, fig_dir: Path, stem="energy_breakdown", title="") -> str:
    """Stacked bars: one bar per phase (and the total), stacks = energy components."""
    comps = energy_components(layers)
    phases = ordered_phases(layers["phase"])
    by = layers.groupby("phase")[[f"energy_{c}_pj" for c in comps]].sum()
    rows = [by.loc[p] for p in phases]
    total = by.sum()
    labels = phases + ["step total"]
    mat = np.array([[r[f"energy_{c}_pj"] for c in comps] for r in rows + [total]])
    div, unit = scale_for(mat.sum(axis=1), ENERGY_UNITS)
    colors = {c: component_color(c, i) for i, c in enumerate(comps)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    ax = axes[0]
    stacked_bars(ax, labels, {c: mat[:, i] / div for i, c in enumerate(comps)}, colors)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel(f"energy ({unit})")
    ax.set_title("energy by phase and component")
    ax.legend(fontsize=8, ncol=2)
    # share of each component in the step total
    ax = axes[1]
    tot = mat[-1]
    share = tot / tot.sum() * 100 if tot.sum() else tot
    ax.barh(comps, share, color=[colors[c] for c in comps])
    for i, s in enumerate(share):
        ax.text(s, i, f" {s:.1f}%", va="center", fontsize=8)
    ax.set_xlabel("share of step energy (%)")
    ax.set_xlim(0, max(share.max() * 1.25, 1) if len(share) else 1)
    ax.invert_yaxis()
    ax.set_title("component share")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save(fig, fig_dir, stem)


def _per_layer(layers: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    order = list(dict.fromkeys(layers["layer"]))
    return layers.groupby("layer", sort=False)[cols].sum().reindex(order)


def traffic_per_layer(layers: pd.DataFrame, fig_dir: Path, stem="traffic_per_layer", title="") -> str:
    """DRAM (top) and SRAM (bottom) bytes per layer, reads and writes stacked, all phases summed."""
    cols = ["dram_read_bytes", "dram_write_bytes", "sram_read_bytes", "sram_write_bytes"]
    t = _per_layer(layers, cols)
    n = len(t)
    fig, axes = plt.subplots(2, 1, figsize=(_layer_width(n), 6.5), sharex=True)
    for ax, lvl, colors in ((axes[0], "dram", ("#C44E52", "#E8A0A2")), (axes[1], "sram", ("#55A868", "#A5D6A7"))):
        r, w = t[f"{lvl}_read_bytes"].to_numpy(float), t[f"{lvl}_write_bytes"].to_numpy(float)
        div, unit = scale_for(r + w, BYTE_UNITS)
        x = np.arange(n)
        ax.bar(x, r / div, color=colors[0], label="read")
        ax.bar(x, w / div, bottom=r / div, color=colors[1], label="write")
        ax.set_ylabel(f"{lvl.upper()} traffic ({unit})")
        ax.legend(fontsize=8, loc="upper right")
    axes[1].set_xticks(range(n), t.index, rotation=90, fontsize=7 if n > 30 else 8)
    axes[0].set_title(title or "DRAM and SRAM traffic per layer (all phases)")
    fig.tight_layout()
    return save(fig, fig_dir, stem)


def cycles_per_layer(layers: pd.DataFrame, fig_dir: Path, stem="cycles_per_layer", title="") -> str:
    """Compute and stall cycles per layer (stacked), stall share on a second axis."""
    t = _per_layer(layers, ["compute_cycles", "stall_cycles", "total_cycles"])
    n = len(t)
    comp, stall = t["compute_cycles"].to_numpy(float), t["stall_cycles"].to_numpy(float)
    div, unit = scale_for(comp + stall, COUNT_UNITS)
    fig, ax = plt.subplots(figsize=(_layer_width(n), 4.2))
    x = np.arange(n)
    ax.bar(x, comp / div, color="#4C72B0", label="compute (busy) cycles")
    ax.bar(x, stall / div, bottom=comp / div, color="#DD8452", label="stall cycles")
    ax.set_ylabel(f"cycles ({unit})" if unit else "cycles")
    ax2 = ax.twinx()
    tot = comp + stall
    share = np.divide(stall, tot, out=np.zeros_like(stall), where=tot > 0) * 100
    ax2.plot(x, share, "k.", markersize=4, label="stall share (%)")
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("stall share (%)")
    ax2.grid(False)
    ax.set_xticks(range(n), t.index, rotation=90, fontsize=7 if n > 30 else 8)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper right")
    ax.set_title(title or "cycles per layer (all phases): compute vs stall")
    fig.tight_layout()
    return save(fig, fig_dir, stem)


def roofline(groups: dict[str, pd.DataFrame], peak_macs_per_cycle: float | None,
             dram_bytes_per_cycle: float | None, fig_dir: Path, stem="roofline", title="") -> str:
    """Achieved MACs/cycle against operational intensity (MACs per DRAM byte), one marker per
    layer×phase with array work, against the compute roof and the DRAM-bandwidth roof.
    ``groups``: label -> layers table (several for compare runs)."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    markers = ["o", "s", "^", "D", "v", "P", "X"]
    xs_all, ys_all = [], []
    inf_note = 0
    for gi, (label, layers) in enumerate(groups.items()):
        d = layers[(layers["macs"] > 0) & (layers["total_cycles"] > 0)]
        dram = (d["dram_read_bytes"] + d["dram_write_bytes"]).to_numpy(float)
        macs = d["macs"].to_numpy(float)
        y = macs / d["total_cycles"].to_numpy(float)
        x = np.divide(macs, dram, out=np.full_like(macs, np.nan), where=dram > 0)
        inf_note += int(np.sum(dram <= 0))
        for ph in ordered_phases(d["phase"]):
            m = (d["phase"] == ph).to_numpy() & np.isfinite(x)
            if m.any():
                lab = ph if len(groups) == 1 else f"{label}: {ph}"
                ax.scatter(x[m], y[m], s=22, marker=markers[gi % len(markers)], color=PHASE_COLORS.get(ph),
                           alpha=0.75, edgecolors="black" if gi else "none", linewidths=0.4, label=lab)
        xs_all += list(x[np.isfinite(x)])
        ys_all += list(y[np.isfinite(x)])
    ridge = (peak_macs_per_cycle / dram_bytes_per_cycle) if peak_macs_per_cycle and dram_bytes_per_cycle else None
    if xs_all:
        lo, hi = min(xs_all) / 3, max(xs_all) * 3
    else:
        lo, hi = 0.1, 1e4
    if ridge:
        lo, hi = min(lo, ridge / 10), max(hi, ridge * 10)
    ylo = max(min(ys_all) / 3, 1e-3) if ys_all else 1e-1
    yhi = max(ys_all) * 1.5 if ys_all else 1e4
    if peak_macs_per_cycle and dram_bytes_per_cycle:
        xr = np.logspace(math.log10(lo), math.log10(hi), 200)
        roof = np.minimum(peak_macs_per_cycle, xr * dram_bytes_per_cycle)
        ax.plot(xr, roof, "k-", linewidth=1.5, label="roof")
        ridge = peak_macs_per_cycle / dram_bytes_per_cycle
        ax.axvline(ridge, color="gray", linestyle=":", linewidth=1)
        yhi = max(yhi, peak_macs_per_cycle * 2.5)
        ylo = min(ylo, peak_macs_per_cycle / 30)
        ax.text(ridge, peak_macs_per_cycle * 1.12, f" ridge {ridge:.3g} MAC/B", fontsize=8, color="gray")
        ax.text(lo * 1.2, peak_macs_per_cycle * 1.12, f"compute roof {peak_macs_per_cycle:.0f} MAC/cycle",
                fontsize=8)
        xt = max(lo * 1.2, ylo * 1.5 / dram_bytes_per_cycle)
        if xt < ridge / 2:
            ax.text(xt * 1.3, xt * dram_bytes_per_cycle * 0.6, f"DRAM roof {dram_bytes_per_cycle:.3g} B/cycle",
                    fontsize=8, clip_on=True)
    log_axes(ax, (lo, hi), (ylo, yhi), "operational intensity (MACs per DRAM byte)",
             "achieved throughput (MACs per cycle)")
    note = f" ({inf_note} layer-phases with no DRAM traffic not shown)" if inf_note else ""
    ax.set_title((title or "roofline: layers × phases") + note, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return save(fig, fig_dir, stem)


# --------------------------------------------------------------------------- compare


def compare_overview(totals: pd.DataFrame, fig_dir: Path, stem="compare_overview") -> str:
    """Side-by-side bars per configuration: energy by component, cycles by phase, DRAM by phase.
    ``totals``: index = config label; columns energy_<c>_pj, <phase>_cycles, <phase>_dram_bytes."""
    labels = list(totals.index)
    comps = energy_components(totals)
    phases = ordered_phases([c[:-len("_cycles")] for c in totals.columns
                             if c.endswith("_cycles") and c[:-len("_cycles")] in PHASE_ORDER])
    fig, axes = plt.subplots(1, 3, figsize=(max(12, 1.6 * len(labels) * 3), 4.5))
    e = {c: totals[f"energy_{c}_pj"].to_numpy(float) for c in comps}
    div, unit = scale_for(sum(e.values()), ENERGY_UNITS)
    stacked_bars(axes[0], labels, {c: v / div for c, v in e.items()},
             {c: component_color(c, i) for i, c in enumerate(comps)})
    axes[0].set_ylabel(f"energy ({unit})")
    axes[0].set_title("energy by component")
    cy = {p: totals[f"{p}_cycles"].to_numpy(float) for p in phases}
    div, cunit = scale_for(sum(cy.values()) if cy else [0], COUNT_UNITS)
    stacked_bars(axes[1], labels, {p: v / div for p, v in cy.items()}, PHASE_COLORS)
    axes[1].set_ylabel(f"cycles ({cunit})" if cunit else "cycles")
    axes[1].set_title("cycles by phase")
    dr = {p: totals[f"{p}_dram_bytes"].to_numpy(float) for p in phases if f"{p}_dram_bytes" in totals}
    div, bunit = scale_for(sum(dr.values()) if dr else [0], BYTE_UNITS)
    stacked_bars(axes[2], labels, {p: v / div for p, v in dr.items()}, PHASE_COLORS)
    axes[2].set_ylabel(f"DRAM traffic ({bunit})")
    axes[2].set_title("DRAM traffic by phase")
    for ax in axes:
        ax.set_xticks(range(len(labels)), labels, rotation=20 if len(labels) > 3 else 0)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, fig_dir, stem)


def compare_per_layer(per_layer: dict[str, pd.DataFrame], metric: str, ylabel: str, units, fig_dir: Path,
                      stem: str, title: str) -> str:
    """Grouped bars per layer, one bar per configuration (``per_layer``: label -> table with
    ``layer`` and ``metric``)."""
    labels = list(per_layer)
    order = list(dict.fromkeys(l for t in per_layer.values() for l in t["layer"]))
    vals = {lab: t.groupby("layer", sort=False)[metric].sum().reindex(order).fillna(0).to_numpy(float)
            for lab, t in per_layer.items()}
    div, unit = scale_for(np.concatenate(list(vals.values())) if vals else [0], units)
    n = len(order)
    fig, ax = plt.subplots(figsize=(_layer_width(n * max(1, len(labels)) * 0.6), 4.2))
    w = 0.8 / max(1, len(labels))
    cmap = plt.get_cmap("tab10")
    for i, lab in enumerate(labels):
        ax.bar(np.arange(n) + (i - (len(labels) - 1) / 2) * w, vals[lab] / div, w, label=lab, color=cmap(i % 10))
    ax.set_xticks(range(n), order, rotation=90, fontsize=7 if n > 30 else 8)
    ax.set_ylabel(f"{ylabel} ({unit})" if unit else ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, fig_dir, stem)




# --------------------------------------------------------------------------- rules (compare --rules)


def rules_phases(rows: pd.DataFrame, fig_dir: Path, stem="rules_phases") -> str:
    """Two panels, one bar per rule: energy stacked by phase, cycles stacked by phase.
    ``rows``: rules.csv (columns ``rule``, ``energy_<phase>_pj``, ``cycles_<phase>``)."""
    labels = list(rows["rule"])
    phases = [p for p in PHASE_ORDER if f"energy_{p}_pj" in rows and f"cycles_{p}" in rows]
    fig, axes = plt.subplots(1, 2, figsize=(max(10, 1.5 * len(labels) * 2), 4.5))
    for ax, col, units, what in ((axes[0], "energy_{}_pj", ENERGY_UNITS, "energy"),
                                 (axes[1], "cycles_{}", COUNT_UNITS, "cycles")):
        vals = {p: rows[col.format(p)].to_numpy(float) for p in phases}
        div, unit = scale_for(sum(vals.values()), units)
        stacked_bars(ax, labels, {p: v / div for p, v in vals.items()}, PHASE_COLORS)
        ax.set_ylabel(f"{what} per step ({unit})" if unit else f"{what} per step")
        ax.set_title(f"{what} by phase")
        ax.set_xticks(range(len(labels)), labels, rotation=20 if len(labels) > 3 else 0)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, fig_dir, stem)


def rules_tradeoff(rows: pd.DataFrame, fig_dir: Path, stem="rules_tradeoff") -> str:
    """Left: energy against cycles, one labelled point per rule (rules with the same point share a
    label, joined by "=" where they are equal). Right: DRAM traffic and training-state bytes per rule,
    log scale."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    cdiv, cunit = scale_for(rows["cycles"], COUNT_UNITS)
    ediv, eunit = scale_for(rows["energy_pj"], ENERGY_UNITS)
    x, y = rows["cycles"].to_numpy(float) / cdiv, rows["energy_pj"].to_numpy(float) / ediv
    cmap = plt.get_cmap("tab10")
    span = lambda v: (np.ptp(v) or abs(v[0]) or 1.0)
    clusters: list[list[int]] = []    # points within 3 % of the axes' spans share one label
    for i in range(len(x)):
        near = next((c for c in clusters if abs(x[c[0]] - x[i]) < 0.03 * span(x)
                     and abs(y[c[0]] - y[i]) < 0.03 * span(y)), None)
        if near is None:
            clusters.append([i])
        else:
            near.append(i)
    for c in clusters:
        for i in c:
            ax.scatter(x[i], y[i], s=40, color=cmap(i % 10), zorder=3)
        same = all(x[i] == x[c[0]] and y[i] == y[c[0]] for i in c)
        ax.annotate((" = " if same else ", ").join(str(rows["rule"].iloc[i]) for i in c), (x[c[0]], y[c[0]]),
                    textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xlabel(f"cycles per step ({cunit})" if cunit else "cycles per step")
    ax.set_ylabel(f"energy per step ({eunit})")
    ax.set_title("energy vs cycles (lower left is better)")
    ax.margins(0.15)
    ax = axes[1]
    labels = list(rows["rule"])
    n = np.arange(len(labels))
    series = {"DRAM traffic per step": rows["dram_bytes"].to_numpy(float),
              "training state": rows["state_bytes"].to_numpy(float)}
    bdiv, bunit = scale_for(np.concatenate(list(series.values())), BYTE_UNITS)
    for j, (name, v) in enumerate(series.items()):
        ax.bar(n + (j - 0.5) * 0.38, np.where(v > 0, v / bdiv, np.nan), 0.38, label=name,
               color=("#C44E52", "#8172B3")[j])
    ax.set_yscale("log")
    top = np.nanmax(np.concatenate(list(series.values()))) / bdiv
    ax.set_ylim(top=top * 10)         # room for the legend above the bars
    ax.set_ylabel(f"bytes ({bunit})")
    ax.set_title("DRAM traffic and training-state bytes")
    ax.set_xticks(n, labels, rotation=20 if len(labels) > 3 else 0)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, fig_dir, stem)
