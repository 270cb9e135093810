"""Reports: a run, compare or sweep folder → ``report.md`` + ``index.html`` + ``figures/``.

The folder kind is found from its files:

* sweep:   ``sweep.json`` / ``results.jsonl`` / ``results.parquet`` (written by `asicsim.sweep`)
* compare: ``compare.csv`` (layers.csv columns + ``update``, ``rank``; ``summary.json`` optional)
* run:     ``layers.csv`` + ``summary.json`` (`asicsim.results.StepResult.write`)

Both documents are rendered from the same list of blocks (headings, text, tables with units in
their headers, figures), so they always say the same thing. Figures are PNG (shown) and SVG
(linked) under ``figures/``; paths are relative, so a report folder can be moved or committed.
"""
from __future__ import annotations

import html
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import plots
from .errors import InputError

FIG_DIR = "figures"


# --------------------------------------------------------------------------- document model


@dataclass
class Doc:
    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def h(self, text: str, level: int = 2):
        self.blocks.append(("h", (level, text)))

    def p(self, text: str):
        self.blocks.append(("p", text))

    def table(self, df: pd.DataFrame, caption: str = ""):
        self.blocks.append(("table", (df, caption)))

    def fig(self, stem: str, caption: str, half: bool = False):
        self.blocks.append(("fig", (stem, caption, half)))

    # ---- renderers
    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, val in self.blocks:
            if kind == "h":
                level, text = val
                out += ["#" * level + " " + text, ""]
            elif kind == "p":
                out += [val, ""]
            elif kind == "table":
                df, cap = val
                if cap:
                    out += [f"*{cap}*", ""]
                cols = [str(c) for c in df.columns]
                out.append("| " + " | ".join(_md_cell(c) for c in cols) + " |")
                out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|")
                for _, row in df.iterrows():
                    out.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
                out.append("")
            elif kind == "fig":
                stem, cap, _ = val
                out += [f"![{stem}]({FIG_DIR}/{stem}.png)", "",
                        f"*{cap}* ([SVG]({FIG_DIR}/{stem}.svg))", ""]
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        e = html.escape
        body = [f"<h1>{e(self.title)}</h1>"]
        for kind, val in self.blocks:
            if kind == "h":
                level, text = val
                body.append(f"<h{level}>{e(text)}</h{level}>")
            elif kind == "p":
                body.append(f"<p>{_inline_html(val)}</p>")
            elif kind == "table":
                df, cap = val
                rows = ['<div class="scroll"><table>']
                if cap:
                    rows.append(f"<caption>{e(cap)}</caption>")
                rows.append("<thead><tr>" + "".join(f"<th>{e(str(c))}</th>" for c in df.columns) + "</tr></thead><tbody>")
                for _, row in df.iterrows():
                    rows.append("<tr>" + "".join(f"<td>{e(_txt(v))}</td>" for v in row) + "</tr>")
                rows.append("</tbody></table></div>")
                body.append("\n".join(rows))
            elif kind == "fig":
                stem, cap, half = val
                cls = ' class="half"' if half else ""
                body.append(f'<figure{cls}><a href="{FIG_DIR}/{stem}.svg"><img src="{FIG_DIR}/{stem}.png" '
                            f'alt="{e(cap)}"></a><figcaption>{e(cap)} '
                            f'(<a href="{FIG_DIR}/{stem}.svg">SVG</a>)</figcaption></figure>')
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"<title>{e(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
                + "\n".join(body) + "\n</body>\n</html>\n")


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #ddd;padding-bottom:.3em}h2{margin-top:1.8em;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}caption{text-align:left;font-style:italic;
padding:.3em 0}th,td{border:1px solid #ddd;padding:.25em .6em}th{background:#f5f5f5}
td{text-align:right;font-variant-numeric:tabular-nums}td:first-child{text-align:left}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figure.half{display:inline-block;vertical-align:top;width:49%;margin:.6em 0}.scroll{overflow-x:auto}
figcaption{font-size:.9em;color:#555}code{background:#f3f3f3;padding:0 .2em}
"""


def _txt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def _md_cell(v: Any) -> str:
    return _txt(v).replace("|", "\\|").replace("\n", " ")


def _inline_html(text: str) -> str:
    """Escape, then turn `code` spans and [text](link) into HTML."""
    import re
    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    t = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', t)
    return t


# --------------------------------------------------------------------------- number formatting


def fmt_num(v: Any, digits: int = 4) -> str:
    """Numbers for tables: ≥ 1000 as integers with thousands separators, else 4 significant digits."""
    if v is None:
        return ""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "∞"
    if x == 0:
        return "0"
    if 1000 <= abs(x) < 1e18:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _scaled(values, units) -> tuple[float, str]:
    return plots.scale_for(values, units)


def _pct(v: float) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v * 100:.1f}"


def _find_key(obj: Any, key: str) -> Any:
    """First value of ``key`` anywhere in a nested JSON object."""
    if isinstance(obj, dict):
        if key in obj and not isinstance(obj[key], (dict, list)):
            return obj[key]
        for v in obj.values():
            r = _find_key(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = _find_key(v, key)
            if r is not None:
                return r
    return None


# --------------------------------------------------------------------------- detection


def detect_kind(d: Path) -> str:
    if (d / "sweep.json").exists() or (d / "results.jsonl").exists() or (d / "results.parquet").exists() \
            or (d / "results.csv").exists():
        return "sweep"
    if (d / "compare.csv").exists():
        return "compare"
    if (d / "layers.csv").exists() and (d / "summary.json").exists():
        return "run"
    raise InputError("not a run, compare or sweep folder", file=d,
                     allowed="a folder with layers.csv + summary.json (run), compare.csv (compare), "
                             "or results.parquet / results.jsonl (sweep)")


def write_report(out_dir: str | Path) -> Path:
    """Write ``report.md``, ``index.html`` and ``figures/`` into a run/compare/sweep folder.
    Returns the path of ``index.html``."""
    d = Path(out_dir)
    if not d.is_dir():
        raise InputError("folder not found", file=d)
    kind = detect_kind(d)
    fig_dir = d / FIG_DIR
    if fig_dir.exists():
        shutil.rmtree(fig_dir)   # the report owns this folder: no stale figures
    fig_dir.mkdir()
    doc = {"run": _run_report, "compare": _compare_report, "sweep": _sweep_report}[kind](d, fig_dir)
    (d / "report.md").write_text(doc.markdown())
    page = d / "index.html"
    page.write_text(doc.html())
    return page


def _read_json(p: Path) -> dict:
    try:
        return json.loads(p.read_text()) if p.exists() else {}
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc}", file=p) from None


def _read_csv(p: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(p)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read table: {exc}", file=p) from None
    need = {"layer", "phase", "macs", "total_cycles", "compute_cycles", "stall_cycles", "energy_pj",
            "dram_read_bytes", "dram_write_bytes", "sram_read_bytes", "sram_write_bytes"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise InputError("table lacks columns", file=p, value=", ".join(missing))
    return df


# --------------------------------------------------------------------------- run


def _totals(layers: pd.DataFrame) -> dict:
    s = {c: float(layers[c].sum()) for c in layers.columns
         if c not in ("layer", "phase", "m", "k", "n", "utilization", "tiling", "update", "rank")
         and pd.api.types.is_numeric_dtype(layers[c])}
    for ph, g in layers.groupby("phase"):
        s[f"{ph}_cycles"] = float(g["total_cycles"].sum())
        s[f"{ph}_energy_pj"] = float(g["energy_pj"].sum())
        s[f"{ph}_dram_bytes"] = float(g["dram_read_bytes"].sum() + g["dram_write_bytes"].sum())
        s[f"{ph}_macs"] = float(g["macs"].sum())
    return s


def _phase_table(layers: pd.DataFrame) -> pd.DataFrame:
    phases = plots.ordered_phases(layers["phase"])
    g = layers.groupby("phase")
    cyc = g["total_cycles"].sum()
    en = g["energy_pj"].sum()
    dram = g["dram_read_bytes"].sum() + g["dram_write_bytes"].sum()
    sram = g["sram_read_bytes"].sum() + g["sram_write_bytes"].sum()
    macs = g["macs"].sum()
    ediv, eu = _scaled(en, plots.ENERGY_UNITS)
    bdiv, bu = _scaled(pd.concat([dram, sram]), plots.BYTE_UNITS)
    tot_c = cyc.sum()
    rows = []
    for ph in phases + ["total"]:
        if ph == "total":
            c, e_, dr, sr, m = cyc.sum(), en.sum(), dram.sum(), sram.sum(), macs.sum()
        else:
            c, e_, dr, sr, m = cyc[ph], en[ph], dram[ph], sram[ph], macs[ph]
        rows.append({"phase": ph, "cycles": fmt_num(c), "share of cycles (%)": _pct(c / tot_c if tot_c else 0),
                     f"energy ({eu})": fmt_num(e_ / ediv), f"DRAM traffic ({bu})": fmt_num(dr / bdiv),
                     f"SRAM traffic ({bu})": fmt_num(sr / bdiv), "MACs": fmt_num(m)})
    return pd.DataFrame(rows)


def _component_table(layers: pd.DataFrame) -> pd.DataFrame:
    comps = plots.energy_components(layers)
    vals = {c: float(layers[f"energy_{c}_pj"].sum()) for c in comps}
    tot = sum(vals.values())
    div, u = _scaled(list(vals.values()), plots.ENERGY_UNITS)
    rows = [{"component": c, f"energy ({u})": fmt_num(v / div), "share (%)": _pct(v / tot if tot else 0)}
            for c, v in vals.items()]
    rows.append({"component": "total", f"energy ({u})": fmt_num(tot / div), "share (%)": "100.0"})
    return pd.DataFrame(rows)


def _top_layers(layers: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    t = layers.groupby("layer", sort=False)[["total_cycles", "stall_cycles", "macs", "energy_pj", "dram_read_bytes",
                                             "dram_write_bytes", "sram_read_bytes", "sram_write_bytes"]].sum()
    t = t.sort_values("total_cycles", ascending=False).head(n)
    tot = layers["total_cycles"].sum()
    ediv, eu = _scaled(t["energy_pj"], plots.ENERGY_UNITS)
    dram = t["dram_read_bytes"] + t["dram_write_bytes"]
    sram = t["sram_read_bytes"] + t["sram_write_bytes"]
    bdiv, bu = _scaled(pd.concat([dram, sram]), plots.BYTE_UNITS)
    return pd.DataFrame({
        "layer": t.index, "cycles": [fmt_num(v) for v in t["total_cycles"]],
        "share of step (%)": [_pct(v / tot if tot else 0) for v in t["total_cycles"]],
        "stall share (%)": [_pct(s / c if c else 0) for s, c in zip(t["stall_cycles"], t["total_cycles"])],
        "MACs": [fmt_num(v) for v in t["macs"]],
        f"DRAM traffic ({bu})": [fmt_num(v / bdiv) for v in dram],
        f"SRAM traffic ({bu})": [fmt_num(v / bdiv) for v in sram],
        f"energy ({eu})": [fmt_num(v / ediv) for v in t["energy_pj"]],
    })


def _run_report(d: Path, fig_dir: Path) -> Doc:
    layers = _read_csv(d / "layers.csv")
    s = _read_json(d / "summary.json")
    net, acc, batch = s.get("network", "?"), s.get("accelerator", "?"), s.get("batch", "?")
    upd = s.get("update") or {}
    rule = upd.get("rule", "?") if isinstance(upd, dict) else str(upd)
    rank = f", rank {upd.get('rank')}" if isinstance(upd, dict) and rule == "sbpca" else ""
    doc = Doc(f"{net} on {acc}: one training step, batch {batch}, {rule} update{rank}")
    peak = s.get("peak_macs_per_cycle")
    bw = s.get("dram_bytes_per_cycle")
    clock = s.get("clock_ghz")
    desc = [f"Folder `{d.name}`."]
    if s.get("array"):
        desc.append(f"Array {s['array']}")
    if peak:
        desc.append(f"peak {fmt_num(peak)} MAC/cycle")
    if bw:
        desc.append(f"DRAM {fmt_num(bw)} B/cycle")
    if clock:
        desc.append(f"clock {clock} GHz")
    if s.get("phases_run"):
        desc.append("phases: " + ", ".join(s["phases_run"]))
    if s.get("ideal_memory"):
        desc.append("ideal memory (no DRAM stalls, unbounded SRAM)")
    doc.p("; ".join(desc) + ".")
    t = _totals(layers)
    cyc = s.get("total_cycles", t["total_cycles"])
    en = s.get("energy_pj", t["energy_pj"])
    ediv, eu = _scaled([en], plots.ENERGY_UNITS)
    rows = [("cycles per step", fmt_num(cyc), "cycles")]
    time_s = s.get("time_s") or (cyc / (clock * 1e9) if clock else None)
    if time_s:
        rows.append(("time per step", fmt_num(time_s * 1e3), "ms"))
    rows.append(("energy per step", fmt_num(en / ediv), eu))
    if isinstance(batch, (int, float)) and batch:
        sdiv, su = _scaled([en / batch], plots.ENERGY_UNITS)
        rows.append(("energy per sample", fmt_num(en / batch / sdiv), su))
    rows.append(("MACs", fmt_num(t["macs"]), "MAC"))
    if peak and cyc:
        rows.append(("array utilisation", _pct(t["macs"] / (cyc * peak)), "%"))
    rows.append(("stall share", _pct(t["stall_cycles"] / t["total_cycles"] if t["total_cycles"] else 0), "%"))
    for k, lab in (("dram_read_bytes", "DRAM read"), ("dram_write_bytes", "DRAM write"),
                   ("sram_read_bytes", "SRAM read"), ("sram_write_bytes", "SRAM write")):
        bdiv, bu = _scaled([t[k]], plots.BYTE_UNITS)
        rows.append((lab, fmt_num(t[k] / bdiv), bu))
    doc.h("Summary")
    doc.table(pd.DataFrame(rows, columns=["quantity", "value", "unit"]))
    doc.h("Energy")
    doc.fig(plots.energy_by_phase(layers, fig_dir), "Energy per phase, stacked by component; right: each "
            "component's share of the step's energy")
    doc.table(_component_table(layers), "Energy by component")
    doc.table(_phase_table(layers), "Per phase")
    doc.h("Traffic per layer")
    doc.fig(plots.traffic_per_layer(layers, fig_dir), "DRAM and SRAM bytes per layer (reads and writes, "
            "all phases)")
    doc.h("Cycles per layer")
    doc.fig(plots.cycles_per_layer(layers, fig_dir), "Cycles per layer, compute vs stall; dots: stall share")
    doc.table(_top_layers(layers), "Layers with the most cycles")
    doc.h("Roofline")
    doc.fig(plots.roofline({"run": layers}, peak, bw, fig_dir),
            "Each layer × phase with array work: achieved MACs/cycle against MACs per DRAM byte, "
            "under the array's compute roof and the DRAM bandwidth roof")
    doc.p("Files: [layers.csv](layers.csv) (one row per layer × phase), [summary.json](summary.json).")
    return doc


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


def _compare_report(d: Path, fig_dir: Path) -> Doc:
    df = _read_csv(d / "compare.csv")
    s = _read_json(d / "summary.json")
    df = df.assign(_config=_config_labels(df))
    labels = list(dict.fromkeys(df["_config"]))
    groups = {lab: df[df["_config"] == lab].drop(columns="_config") for lab in labels}
    net, acc, batch = _find_key(s, "network"), _find_key(s, "accelerator"), _find_key(s, "batch")
    title = "Full-gradient vs SBPCA updates"
    if net and acc:
        title += f": {net} on {acc}" + (f", batch {batch}" if batch else "")
    doc = Doc(title)
    peak, bw, clock = (_find_key(s, "peak_macs_per_cycle"), _find_key(s, "dram_bytes_per_cycle"),
                       _find_key(s, "clock_ghz"))
    doc.p(f"Folder `{d.name}`: {len(labels)} update configurations ({', '.join(labels)}), the same "
          "network, accelerator and batch. Ratios are relative to the first configuration.")
    totals = pd.DataFrame({lab: _totals(g) for lab, g in groups.items()}).T
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
            div, u = _scaled(vals, units)
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
                             "stops paying at rank": _txt(v.get("stops_paying_at_rank"))})
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


# --------------------------------------------------------------------------- sweep


def _axis_values(s: pd.Series) -> str:
    vals = sorted(s.dropna().unique(), key=lambda v: (str(type(v)), v))
    txt = ", ".join(str(v) for v in vals[:12])
    return txt + (f", … ({len(vals)} values)" if len(vals) > 12 else "")


def _points_table(df: pd.DataFrame, axes: list[str], extra: dict[str, str] | None = None,
                  per_sample: bool = False) -> pd.DataFrame:
    ediv, eu = _scaled(df["energy_pj"], plots.ENERGY_UNITS)
    dram = df["dram_read_bytes"] + df["dram_write_bytes"] if "dram_read_bytes" in df else None
    out = pd.DataFrame(index=df.index)
    if extra:
        for k, v in extra.items():
            out[k] = [v.get(i, "") for i in df.index] if isinstance(v, dict) else v
    out["point"] = df["point"].astype(int)
    for a in axes:
        out[a] = df[a].map(_txt)
    out["cycles per step"] = df["total_cycles"].map(fmt_num)
    if "time_s" in df:
        out["time per step (ms)"] = (df["time_s"] * 1e3).map(fmt_num)
    out[f"energy per step ({eu})"] = (df["energy_pj"] / ediv).map(fmt_num)
    if per_sample:
        sdiv, su = _scaled(df["energy_per_sample_pj"], plots.ENERGY_UNITS)
        out["cycles per sample"] = df["cycles_per_sample"].map(fmt_num)
        out[f"energy per sample ({su})"] = (df["energy_per_sample_pj"] / sdiv).map(fmt_num)
    if dram is not None:
        bdiv, bu = _scaled(dram, plots.BYTE_UNITS)
        out[f"DRAM traffic ({bu})"] = (dram / bdiv).map(fmt_num)
    if "utilization" in df:
        out["utilisation (%)"] = df["utilization"].map(lambda v: _pct(v))
    return out.reset_index(drop=True)


def _sweep_report(d: Path, fig_dir: Path) -> Doc:
    from .sweep import load_results
    meta = _read_json(d / "sweep.json")
    df = load_results(d)
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
            stem = plots.pareto(ok, c, fig_dir, f"pareto_{i}_{_slug(c or 'none')}", x=c_col, y=e_col,
                                title=f"energy vs cycles per {unit_of_work}" + (f", coloured by {c}" if c else ""),
                                xlabel=f"cycles per {unit_of_work}", ylabel=f"energy per {unit_of_work}")
            doc.fig(stem, "Every successful point; black: the Pareto front (no other point has both fewer cycles "
                          "and less energy)" + (f"; colour: {c}" if c else ""), half=len(colors) > 1)
        front = ok[plots.pareto_mask(ok[c_col].to_numpy(float), ok[e_col].to_numpy(float))]
        front = front.sort_values(c_col)
        doc.table(_points_table(front.head(25), plot_axes, per_sample=per_sample),
                  f"Pareto-optimal points ({len(front)}), by cycles" + (" — first 25" if len(front) > 25 else ""))
        comp_cols = [c for c in front.columns if c.startswith("energy_") and c.endswith("_pj")
                     and c not in ("energy_pj", "energy_per_sample_pj")]
        if comp_cols:
            top = front.head(25)
            tot = top[comp_cols].div(top["batch"] if per_sample else 1, axis=0)
            tot.index = top["point"].astype(int).map(lambda v: f"#{v}")
            doc.fig(plots.energy_bars(tot.fillna(0), fig_dir, "pareto_energy_breakdown",
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
                facet = color if (color and color not in (xa, ya) and plots.is_categorical(ok[color])
                                  and ok[color].nunique() <= 4) else None
                for metric, lab, units in ((e_col, f"energy per {unit_of_work}", plots.ENERGY_UNITS),
                                           (c_col, f"cycles per {unit_of_work}", plots.COUNT_UNITS)):
                    stem = plots.heatmap(ok, xa, ya, metric, fig_dir, f"heatmap_{i}_{metric}", lab, units, facet)
                    doc.fig(stem, f"{lab}: minimum over the other axes for each ({ya}, {xa}) cell"
                                  + (f", one panel per {facet}" if facet else ""))
    if err.any():
        doc.h("Failed points")
        ft = df[err][["point"] + plot_axes + ["error"]].head(50).copy()
        ft["error"] = ft["error"].astype(str)
        doc.table(ft.map(_txt) if hasattr(ft, "map") else ft.applymap(_txt),
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
