"""The memory section of a sweep report: peak DRAM footprint against batch, the capacity lines,
and which points fit (rows with ``footprint_peak_bytes``; see `asicsim.workload.footprint`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from asicsim.report.doc import Doc
from asicsim.report.plots import plt, save


def footprint_plot(df: pd.DataFrame, color: str | None, fig_dir: Path, stem: str) -> str:
    """Peak footprint (GiB, log) vs batch, one line per value of ``color`` (min over other axes),
    with each DRAM capacity in the table as a horizontal line."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    split = "network" if "network" in df and 1 < df["network"].nunique() <= 4 else None
    styles = dict(zip(sorted(df[split].unique()), ("-", "--", ":", "-.")) if split else [])
    colors = {v: f"C{i}" for i, v in enumerate(sorted(df[color].unique()))} if color and color in df else {}
    keys = [k for k in (color if color in df else None, split) if k]
    for label, g in (df.groupby(keys, sort=True) if keys else [((), df)]):
        label = label if isinstance(label, tuple) else (label,)
        parts = dict(zip(keys, label))
        line = g.groupby("batch")["footprint_peak_bytes"].min().sort_index()
        ax.plot(line.index, line.to_numpy(float) / 2 ** 30, marker="o", color=colors.get(parts.get(color)),
                ls=styles.get(parts.get(split), "-"), label=" · ".join(map(str, label)) or "all points")
    for cap in sorted(df["dram_capacity_bytes"].dropna().unique()) if "dram_capacity_bytes" in df else []:
        ax.axhline(cap / 2 ** 30, color="0.4", ls="--", lw=1)
        ax.text(0.01, cap / 2 ** 30, f"{cap / 2 ** 30:g} GiB", va="bottom", fontsize=7, color="0.3",
                transform=ax.get_yaxis_transform())
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch")
    ax.set_ylabel("peak DRAM footprint (GiB)")
    ax.set_title("peak footprint per batch (smallest over the other axes)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return save(fig, fig_dir, stem)


def footprint_section(doc: Doc, ok: pd.DataFrame, color: str | None, fig_dir: Path) -> None:
    if "footprint_peak_bytes" not in ok or ok["footprint_peak_bytes"].isna().all():
        return
    doc.h("Memory footprint")
    rows = ok.dropna(subset=["footprint_peak_bytes"])
    doc.fig(footprint_plot(rows, color, fig_dir, "footprint"),
            "Peak DRAM footprint (weights, master weights and optimizer state, stashed activations, workspace)")
    if "fits" in rows:
        fit = rows["fits"].astype(bool)
        by = [c for c in (color, "batch") if c and c in rows]
        t = rows.assign(fits=fit).groupby(by)["fits"].agg(["sum", "count"]).reset_index()
        t["fits"] = t["sum"].astype(int).astype(str) + " of " + t["count"].astype(int).astype(str)
        doc.table(t[by + ["fits"]], f"Points that fit their DRAM capacity ({int(fit.sum())} of {len(fit)})")
    big = rows.nlargest(1, "footprint_peak_bytes").iloc[0]
    shares = {k: float(big[f"footprint_{k}_bytes"]) / float(big["footprint_peak_bytes"]) for k in
              ("weights", "optimizer_state", "stash", "workspace") if f"footprint_{k}_bytes" in big}
    doc.p(f"The largest footprint, {big['footprint_peak_bytes'] / 2 ** 30:.2f} GiB (point {int(big['point'])}): "
          + ", ".join(f"{k.replace('_', ' ')} {v:.0%}" for k, v in shares.items() if np.isfinite(v)) + ".")
