"""Report sections of a comparison (`asicsim compare`): full vs SBPCA side by side.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from asicsim.report import plots
from asicsim.report.doc import (
    Doc,
    find_key,
    fmt_num,
    read_json,
    read_layers_csv,
    scaled,
    txt,
)
from asicsim.report.run import run_totals

# --------------------------------------------------------------------------- compare


def _config_labels(df: pd.DataFrame) -> pd.Series:
    upd = df["update"].astype(str) if "update" in df else pd.Series("run", index=df.index)
    if "rank" in df:
        rank = df["rank"]
        lab = [u if (u == "full" or pd.isna(r)) else f"{u}_k{int(r) if float(r).is_integer() else r}"
               for u, r in zip(upd, rank)]
    else:
        lab = list(upd)
    return pd.Series(lab, index=df.index)


def compare_report(d: Path, fig_dir: Path) -> Doc:
    df = read_layers_csv(d / "compare.csv")
    s = read_json(d / "summary.json")
    df = df.assign(_config=_config_labels(df))
    labels = list(dict.fromkeys(df["_config"]))
    groups = {lab: df[df["_config"] == lab].drop(columns="_config") for lab in labels}
    net, acc, batch = find_key(s, "network"), find_key(s, "accelerator"), find_key(s, "batch")
    title = "Full-gradient vs SBPCA updates"
    if net and acc:
        title += f": {net} on {acc}" + (f", batch {batch}" if batch else "")
    doc = Doc(title)
    peak, bw, clock = (find_key(s, "peak_macs_per_cycle"), find_key(s, "dram_bytes_per_cycle"),
                       find_key(s, "clock_ghz"))
    doc.p(f"Folder `{d.name}`: {len(labels)} update configurations ({', '.join(labels)}), the same "
          "network, accelerator and batch. Ratios are relative to the first configuration.")
    totals = pd.DataFrame({lab: run_totals(g) for lab, g in groups.items()}).T
    for c in totals.columns:
        totals[c] = totals[c].fillna(0.0)
    ref = labels[0]
    metrics: list[tuple[str, str, Any, Any]] = []   # (name, column, units, scale)
    metrics.append(("cycles per step", "total_cycles", None, None))
    metrics.append(("stall cycles", "stall_cycles", None, None))
    metrics.append(("energy per step", "energy_pj", plots.ENERGY_UNITS, None))
    for c in plots.energy_components(totals):
        metrics.append((f"energy: {c}", f"energy_{c}_pj", plots.ENERGY_UNITS, None))
    metrics += [("MACs", "macs", None, None), ("DRAM read", "dram_read_bytes", plots.BYTE_UNITS, None),
                ("DRAM write", "dram_write_bytes", plots.BYTE_UNITS, None),
                ("SRAM read", "sram_read_bytes", plots.BYTE_UNITS, None),
                ("SRAM write", "sram_write_bytes", plots.BYTE_UNITS, None)]
    for ph in plots.ordered_phases([c[:-7] for c in totals.columns if c.endswith("_cycles")
                                    and c[:-7] in plots.PHASE_ORDER]):
        metrics.append((f"{ph}: cycles", f"{ph}_cycles", None, None))
        metrics.append((f"{ph}: energy", f"{ph}_energy_pj", plots.ENERGY_UNITS, None))
        metrics.append((f"{ph}: DRAM traffic", f"{ph}_dram_bytes", plots.BYTE_UNITS, None))
    rows = []
    for name, col, units, _ in metrics:
        if col not in totals:
            continue
        vals = totals[col]
        if units is None:
            div, u = 1.0, ("cycles" if "cycles" in col else "MAC")
        else:
            div, u = scaled(vals, units)
        row = {"quantity": name, "unit": u}
        for lab in labels:
            row[lab] = fmt_num(vals[lab] / div)
        for lab in labels[1:]:
            row[f"{lab} / {ref}"] = (f"{vals[lab] / vals[ref]:.3f}" if vals[ref] else "")
        rows.append(row)
    if clock:
        row = {"quantity": "time per step", "unit": "ms"}
        for lab in labels:
            row[lab] = fmt_num(totals.loc[lab, "total_cycles"] / (float(clock) * 1e9) * 1e3)
        for lab in labels[1:]:
            r = totals.loc[ref, "total_cycles"]
            row[f"{lab} / {ref}"] = f"{totals.loc[lab, 'total_cycles'] / r:.3f}" if r else ""
        rows.insert(1, row)
    doc.h("Side by side")
    doc.table(pd.DataFrame(rows), "Totals per update configuration")
    doc.fig(plots.compare_overview(totals, fig_dir), "Energy by component, cycles by phase and DRAM traffic "
            "by phase, per update configuration")
    sp = s.get("stops_paying")
    if isinstance(sp, dict) and sp:
        names = {"wu_cycles": "cycles", "wu_dram_bytes": "DRAM traffic", "wu_sram_bytes": "SRAM traffic",
                 "wu_energy_pj": "energy"}
        rows = []
        for k, v in sp.items():
            if isinstance(v, dict):
                rows.append({"metric (weight_gradient + update)": names.get(k, k),
                             "SBPCA better at the smallest rank": "yes" if v.get("pays_at_smallest_rank") else "no",
                             "stops paying at rank": txt(v.get("stops_paying_at_rank"))})
        if rows:
            doc.h("Where SBPCA stops paying")
            doc.p("Over the phases the update rule changes (weight gradient and update): whether SBPCA beats the "
                  "full gradient at the smallest rank compared, and the first rank at which it no longer does.")
            doc.table(pd.DataFrame(rows))
    fav = s.get("layers_favouring")
    if isinstance(fav, dict) and fav:
        doc.p("Weighted layers whose weight-gradient + update energy is lowest under each rule: "
              + ", ".join(f"{k}: {v}" for k, v in fav.items()) + ".")
    doc.h("Per layer")
    weighted = df.groupby("layer", sort=False)["macs"].sum()
    wl = set(weighted[weighted > 0].index)
    per = {lab: g[g["layer"].isin(wl)] for lab, g in groups.items()}
    doc.fig(plots.compare_per_layer(per, "total_cycles", "cycles", plots.COUNT_UNITS, fig_dir,
                                    "compare_cycles_per_layer", "cycles per weighted layer (all phases)"),
            "Cycles per layer with array work, one bar per configuration")
    per_t = {lab: g.assign(dram_bytes=g["dram_read_bytes"] + g["dram_write_bytes"]) for lab, g in per.items()}
    doc.fig(plots.compare_per_layer(per_t, "dram_bytes", "DRAM traffic", plots.BYTE_UNITS, fig_dir,
                                    "compare_dram_per_layer", "DRAM traffic per weighted layer (all phases)"),
            "DRAM bytes per layer with array work, one bar per configuration")
    upd = {lab: g[g["phase"] == "update"] for lab, g in groups.items()}
    if all(len(g) for g in upd.values()):
        doc.fig(plots.compare_per_layer(upd, "total_cycles", "cycles", plots.COUNT_UNITS, fig_dir,
                                        "compare_update_per_layer", "update-phase cycles per layer"),
                "Cycles of the update phase per layer (SBPCA's factor updates vs the dense SGD update)")
    doc.h("Roofline")
    doc.fig(plots.roofline(groups, peak, bw, fig_dir, title="roofline: layers × phases per configuration"),
            "Layer × phase points of every configuration (marker shape = configuration, colour = phase) "
            "against the compute and DRAM roofs")
    files = [f"[{n}]({n})" for n in ("compare.csv", "compare_layers.csv", "summary.json") if (d / n).exists()]
    doc.p("Files: " + ", ".join(files) + ".")
    return doc


