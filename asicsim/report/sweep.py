"""Report sections of a sweep (`asicsim sweep`): Pareto fronts, heatmaps, best points.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from asicsim.report import plots, plots_sweep
from asicsim.report.footprint import footprint_section
from asicsim.report.doc import Doc, fmt_num, pct, read_json, scaled, txt

# --------------------------------------------------------------------------- sweep


def _axis_values(s: pd.Series) -> str:
    vals = sorted(s.dropna().unique(), key=lambda v: (str(type(v)), v))
    txt = ", ".join(str(v) for v in vals[:12])
    return txt + (f", … ({len(vals)} values)" if len(vals) > 12 else "")


def _points_table(df: pd.DataFrame, axes: list[str], extra: dict[str, str] | None = None,
                  per_sample: bool = False) -> pd.DataFrame:
    ediv, eu = scaled(df["energy_pj"], plots.ENERGY_UNITS)
    dram = df["dram_read_bytes"] + df["dram_write_bytes"] if "dram_read_bytes" in df else None
    out = pd.DataFrame(index=df.index)
    if extra:
        for k, v in extra.items():
            out[k] = [v.get(i, "") for i in df.index] if isinstance(v, dict) else v
    out["point"] = df["point"].astype(int)
    for a in axes:
        out[a] = df[a].map(txt)
    out["cycles per step"] = df["total_cycles"].map(fmt_num)
    if "time_s" in df:
        out["time per step (ms)"] = (df["time_s"] * 1e3).map(fmt_num)
    out[f"energy per step ({eu})"] = (df["energy_pj"] / ediv).map(fmt_num)
    if per_sample:
        sdiv, su = scaled(df["energy_per_sample_pj"], plots.ENERGY_UNITS)
        out["cycles per sample"] = df["cycles_per_sample"].map(fmt_num)
        out[f"energy per sample ({su})"] = (df["energy_per_sample_pj"] / sdiv).map(fmt_num)
    if dram is not None:
        bdiv, bu = scaled(dram, plots.BYTE_UNITS)
        out[f"DRAM traffic ({bu})"] = (dram / bdiv).map(fmt_num)
    if "utilization" in df:
        out["utilisation (%)"] = df["utilization"].map(lambda v: pct(v))
    return out.reset_index(drop=True)


def sweep_report(d: Path, fig_dir: Path) -> Doc:
    from asicsim.studies.journal import load_results
    meta = read_json(d / "sweep.json")
    df = load_results(d)
    if "system.chips" in meta.get("axes", []) and "system.step_time_s" in df:
        from asicsim.report.scaling import (
            scaling_report,  # a data-parallel scaling study
        )
        return scaling_report(d, fig_dir, meta, df)
    name = meta.get("study", d.name)
    doc = Doc(f"Design-space sweep: {name}")
    axes = [a for a in meta.get("axes", []) if a in df.columns]
    if not axes:
        skip = {"point", "key", "error", "wall_s", "cpu_s"}
        axes = [c for c in df.columns if c not in skip and not pd.api.types.is_float_dtype(df[c])][:6]
    err = df["error"].notna() & (df["error"].astype(str) != "") if "error" in df else pd.Series(False, index=df.index)
    ok = df[~err & df.get("energy_pj", pd.Series(np.nan, index=df.index)).notna()].copy()
    varying = [a for a in axes if df[a].nunique(dropna=True) > 1]
    # plots use one 'update' label (full / sbpca_k4 ...) instead of update.rule and update.rank
    plot_axes = list(varying)
    if "update" in df.columns and df["update"].nunique() > 1 and any(a in ("update.rule", "update.rank")
                                                                     for a in varying):
        i = min(plot_axes.index(a) for a in ("update.rule", "update.rank") if a in plot_axes)
        plot_axes = [a for a in plot_axes if a not in ("update.rule", "update.rank")]
        plot_axes.insert(i, "update")
    n_expected = meta.get("n_points")
    status = f"{len(df)} points recorded" + (f" of {n_expected}" if n_expected else "")
    status += f"; {len(ok)} ran, {int(err.sum())} failed."
    intro = []
    if meta.get("description"):
        intro.append(meta["description"] + ".")
    intro.append(status)
    for col, lab in (("network", "network"), ("accelerator", "base accelerator"), ("batch", "batch")):
        if col in df and col not in varying and df[col].nunique() == 1:
            intro.append(f"{lab.capitalize()}: {df[col].iloc[0]}.")
    doc.p(" ".join(intro))
    if n_expected and len(df) < n_expected:
        doc.p(f"The sweep is incomplete ({n_expected - len(df)} points missing); re-run the same `asicsim sweep` "
              "command to finish it.")
    doc.h("Axes")
    doc.table(pd.DataFrame([{"axis": a, "distinct values": df[a].nunique(dropna=True), "values": _axis_values(df[a])}
                            for a in axes]), "Configuration fields the study varies (dotted paths)")
    if ok.empty:
        doc.p("No point ran successfully, so there is nothing to plot.")
    else:
        # with batch among the axes, a step is not a common unit of work: compare per sample
        per_sample = "batch" in varying
        ok["energy_per_sample_pj"] = ok["energy_pj"] / ok["batch"]
        ok["cycles_per_sample"] = ok["total_cycles"] / ok["batch"]
        e_col, c_col = ("energy_per_sample_pj", "cycles_per_sample") if per_sample else ("energy_pj", "total_cycles")
        unit_of_work = "sample" if per_sample else "training step"
        if per_sample:
            doc.p("Batch size is one of the axes, so points are compared per training sample (energy and cycles "
                  "of one step divided by the batch size); per-step values are in the tables too.")
        ok["edp"] = ok[e_col] * ok[c_col]
        best = []
        for crit, col in ((f"lowest energy per {unit_of_work}", e_col), (f"fewest cycles per {unit_of_work}", c_col),
                          ("lowest energy × cycles", "edp")):
            best.append((crit, ok[col].idxmin()))
        bt = _points_table(ok.loc[[i for _, i in best]], plot_axes, per_sample=per_sample)
        bt.insert(0, "best by", [c for c, _ in best])
        doc.h("Best points")
        doc.table(bt, "Best design points by three criteria")
        hints = meta.get("report") or {}
        distinct = _distinct_axes(ok, plot_axes)
        hint = hints.get("color")
        if hint in ("update.rule", "update.rank") and "update" in plot_axes:
            hint = "update"
        color = hint if hint in plot_axes else (distinct[0] if distinct else None)
        doc.h("Pareto front: energy vs cycles")
        colors = [color] + [a for a in distinct if a != color][:3] if color else [None]
        for i, c in enumerate(colors):
            stem = plots_sweep.pareto(ok, c, fig_dir, f"pareto_{i}_{_slug(c or 'none')}", x=c_col, y=e_col,
                                title=f"energy vs cycles per {unit_of_work}" + (f", coloured by {c}" if c else ""),
                                xlabel=f"cycles per {unit_of_work}", ylabel=f"energy per {unit_of_work}")
            doc.fig(stem, "Every successful point; black: the Pareto front (no other point has both fewer cycles "
                          "and less energy)" + (f"; colour: {c}" if c else ""), half=len(colors) > 1)
        front = ok[plots_sweep.pareto_mask(ok[c_col].to_numpy(float), ok[e_col].to_numpy(float))]
        front = front.sort_values(c_col)
        doc.table(_points_table(front.head(25), plot_axes, per_sample=per_sample),
                  f"Pareto-optimal points ({len(front)}), by cycles" + (" — first 25" if len(front) > 25 else ""))
        comp_cols = [c for c in front.columns if c.startswith("energy_") and c.endswith("_pj")
                     and c not in ("energy_pj", "energy_per_sample_pj")]
        if comp_cols:
            top = front.head(25)
            tot = top[comp_cols].div(top["batch"] if per_sample else 1, axis=0)
            tot.index = top["point"].astype(int).map(lambda v: f"#{v}")
            doc.fig(plots_sweep.energy_bars(tot.fillna(0), fig_dir, "pareto_energy_breakdown",
                                      f"energy per {unit_of_work} by component, Pareto-optimal points"),
                    "Energy breakdown of the Pareto-optimal points (labels: point numbers)")
        pairs = [tuple(p) for p in hints.get("heatmaps", []) if p[0] in plot_axes and p[1] in plot_axes
                 and p[0] != p[1]]
        if not pairs:
            cand = [a for a in distinct if a != color and ok[a].nunique() >= 2]
            if len(cand) < 2:
                cand = [a for a in distinct if ok[a].nunique() >= 2]
            if len(cand) >= 2:
                pairs = [(cand[0], cand[1])]
        if pairs:
            doc.h("Heatmaps")
            for i, (xa, ya) in enumerate(pairs):
                facet = color if (color and color not in (xa, ya) and plots_sweep.is_categorical(ok[color])
                                  and ok[color].nunique() <= 4) else None
                for metric, lab, units in ((e_col, f"energy per {unit_of_work}", plots.ENERGY_UNITS),
                                           (c_col, f"cycles per {unit_of_work}", plots.COUNT_UNITS)):
                    stem = plots_sweep.heatmap(ok, xa, ya, metric, fig_dir, f"heatmap_{i}_{metric}", lab, units, facet)
                    doc.fig(stem, f"{lab}: minimum over the other axes for each ({ya}, {xa}) cell"
                                  + (f", one panel per {facet}" if facet else ""))
    footprint_section(doc, ok, (meta.get("report") or {}).get("color"), fig_dir)
    if err.any():
        doc.h("Failed points")
        ft = df[err][["point"] + plot_axes + ["error"]].head(50).copy()
        ft["error"] = ft["error"].astype(str)
        doc.table(ft.map(txt) if hasattr(ft, "map") else ft.applymap(txt),
                  f"{int(err.sum())} points recorded an error" + (" (first 50)" if err.sum() > 50 else ""))
    files = [f"[{p.name}]({p.name})" for p in (d / "results.parquet", d / "results.csv", d / "study.yaml")
             if p.exists()]
    doc.p("Files: " + ", ".join(files) + " (one row per point, keyed by the hash of its resolved "
          "configuration).")
    return doc


def _distinct_axes(df: pd.DataFrame, axes: list[str]) -> list[str]:
    """Axes minus those that only relabel an earlier one (e.g. array.cols set with array.rows)."""
    kept: list[str] = []
    for a in axes:
        same = False
        for b in kept:
            pair = df[[a, b]].astype(str)
            if pair.groupby(a)[b].nunique().max() == 1 and pair.groupby(b)[a].nunique().max() == 1:
                same = True
                break
        if not same:
            kept.append(a)
    return kept


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in s)
