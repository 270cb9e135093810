"""The validation record: measured vs simulated table, goal summary, scatter and error histogram.

Takes the table of `asicsim.studies.validation.validate` and writes ``validation.md`` (with
``validation.csv`` beside it and the figures under ``figures/``)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from asicsim.outputs import write_csv, write_text
from asicsim.report.plots import log_axes, save
from asicsim.studies.validation import EXPLAIN_ABOVE_PCT, METRIC_CLASS, goal_summary

MARKERS = "osD^v<>Pp*hX"


def scatter(table: pd.DataFrame, fig_dir: Path) -> str:
    """Simulated vs measured, log-log, one marker per chip, the y = x line and ±15 % band."""
    fig, ax = plt.subplots(figsize=(5.6, 5.0))
    lo = float(min(table["measured"].min(), table["simulated"].min())) / 2
    hi = float(max(table["measured"].max(), table["simulated"].max())) * 2
    x = np.geomspace(lo, hi, 50)
    ax.plot(x, x, color="k", lw=0.8, label="simulated = measured")
    ax.fill_between(x, x * 0.85, x * 1.15, color="0.85", label=f"±{EXPLAIN_ABOVE_PCT:.0f} %")
    for i, (chip, g) in enumerate(table.groupby("chip", sort=True)):
        for phase, face in (("inference", "none"), ("training", None)):
            h = g[g["phase"] == phase]
            if len(h):
                ax.scatter(h["measured"], h["simulated"], marker=MARKERS[i % len(MARKERS)], s=36,
                           facecolors=face, edgecolors=f"C{i}", color=f"C{i}",
                           label=f"{chip} ({phase})")
    log_axes(ax, (lo, hi), (lo, hi), "published measurement (row's unit)", "asicsim (same unit)")
    ax.set_title("asicsim vs measured silicon")
    ax.legend(fontsize=7, loc="upper left")
    stem = save(fig, fig_dir, "validation_scatter")
    plt.close(fig)
    return stem


def histogram(table: pd.DataFrame, fig_dir: Path) -> str:
    fig, ax = plt.subplots(figsize=(5.6, 3.2))
    err = table["error_pct"].clip(-200, 200)
    bins = np.arange(-100, 105, 10) if err.abs().max() <= 100 else np.arange(-200, 210, 20)
    for cls, color in (("time", "C0"), ("energy", "C3"), ("traffic", "C2"), ("mapping", "C7")):
        sel = table["metric"].map(METRIC_CLASS) == cls
        if sel.any():
            ax.hist(err[sel], bins=bins, alpha=0.6, color=color, label=cls)
    for v in (-EXPLAIN_ABOVE_PCT, EXPLAIN_ABOVE_PCT):
        ax.axvline(v, color="k", lw=0.8, ls="--")
    ax.set_xlabel("error % = (asicsim − measured) / measured")
    ax.set_ylabel("rows")
    ax.legend(fontsize=8)
    stem = save(fig, fig_dir, "validation_errors")
    plt.close(fig)
    return stem


def _num(v: float) -> str:
    return f"{v:.4g}"


def _rate_lines(rates: pd.DataFrame) -> list[str]:
    """The buffer-rate section: bytes per processing cycle and utilisation, chip against model."""
    lines = ["", "## Global-buffer bytes per processing cycle", "",
             "For every layer whose chip publishes both its buffer accesses and its processing latency "
             "(`buffer_rates`): bytes read and written in the global buffer over the processing cycles, "
             "and MACs over PEs × those cycles. A measured rate that stays flat while the utilisation "
             "moves says the buffer's port, not the array, sets the layer's time; the port column is the "
             "preset's (all of the buffer's ports together).", "",
             "| chip | workload | batch | measured B/cycle | asicsim B/cycle | preset port B/cycle | "
             "measured utilisation | asicsim utilisation |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for _, r in rates.iterrows():
        lines.append(f"| {r['chip']} | {r['workload']} | {r['batch']} | {r['measured_bytes_per_cycle']:.2f} | "
                     f"{r['simulated_bytes_per_cycle']:.2f} | {r['port_bytes_per_cycle']:.4g} | "
                     f"{r['measured_utilization'] * 100:.0f} % | {r['simulated_utilization'] * 100:.0f} % |")
    return lines


def write_validation(table: pd.DataFrame, out_dir: str | Path, csv_name: str,
                     rates: pd.DataFrame | None = None) -> Path:
    """``rates``: `asicsim.studies.validation.buffer_rates` of the same rows (a section when not empty)."""
    out = Path(out_dir)
    fig_dir = out / "figures"
    write_csv(out / "validation.csv", table)
    s1, s2 = scatter(table, fig_dir), histogram(table, fig_dir)
    goals = goal_summary(table)
    n_chips, n_train = table["chip"].nunique(), int((table["phase"] == "training").sum())
    lines = [
        "# Validation against published silicon measurements",
        "",
        f"Written by `asicsim validate` from `{csv_name}`: {len(table)} rows, {n_chips} chips, "
        f"{n_train} training rows. Every row is re-simulated with the preset it names; error % = "
        "(asicsim − measured) / measured. A row over "
        f"{EXPLAIN_ABOVE_PCT:.0f} % carries the reason (`known_gap` in the CSV); a row without one "
        "is marked UNEXPLAINED.",
        "",
        "## Against the goals",
        "",
        "| metric class | rows | median abs error | goal | met | unexplained > 30 % |",
        "|---|---:|---:|---:|:---:|---:|",
    ]
    for _, g in goals.iterrows():
        lines.append(f"| {g['class']} | {g['rows']} | {g['median_abs_error_pct']:.1f} % | ≤ {g['goal_pct']:.0f} % | "
                     f"{'yes' if g['met'] else 'no'} | {g['over_30_unexplained']} |")
    lines += ["", f"![simulated vs measured](figures/{s1}.png)", "", f"![errors](figures/{s2}.png)", "",
              "## Every row", "",
              "| id | chip | workload | batch | phase | metric | measured | asicsim | error | status |",
              "|---|---|---|---:|---|---|---:|---:|---:|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['id']} | {r['chip']} | {r['workload']} | {r['batch']} | {r['phase']} | {r['metric']} "
                     f"({r['unit']}) | {_num(r['measured'])} | {_num(r['simulated'])} | {r['error_pct']:+.1f} % | "
                     f"{r['status']} |")
    big = table[table["status"] != "ok"]
    if len(big):
        lines += ["", f"## Why rows are off by more than {EXPLAIN_ABOVE_PCT:.0f} %", ""]
        for _, r in big.iterrows():
            lines.append(f"- **{r['id']}** ({r['error_pct']:+.1f} %): {r['known_gap'] or 'UNEXPLAINED'}")
    if rates is not None and len(rates):
        lines += _rate_lines(rates)
    lines += ["", "## Sources", ""]
    for _, r in table.drop_duplicates("source").iterrows():
        lines.append(f"- {r['source']}")
    return write_text(out / "validation.md", "\n".join(lines) + "\n")
