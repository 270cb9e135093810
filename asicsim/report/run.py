"""Report sections of a single run (`asicsim run`): totals, phases, components, top layers, figures.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from asicsim.report import plots
from asicsim.report.doc import Doc, fmt_num, pct, read_json, read_layers_csv, scaled
from asicsim.report.run_sections import dram_rows, network_section, timeline_section

# --------------------------------------------------------------------------- run


def run_totals(layers: pd.DataFrame) -> dict:
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
    ediv, eu = scaled(en, plots.ENERGY_UNITS)
    bdiv, bu = scaled(pd.concat([dram, sram]), plots.BYTE_UNITS)
    tot_c = cyc.sum()
    rows = []
    for ph in phases + ["total"]:
        if ph == "total":
            c, e_, dr, sr, m = cyc.sum(), en.sum(), dram.sum(), sram.sum(), macs.sum()
        else:
            c, e_, dr, sr, m = cyc[ph], en[ph], dram[ph], sram[ph], macs[ph]
        rows.append({"phase": ph, "cycles": fmt_num(c), "share of cycles (%)": pct(c / tot_c if tot_c else 0),
                     f"energy ({eu})": fmt_num(e_ / ediv), f"DRAM traffic ({bu})": fmt_num(dr / bdiv),
                     f"SRAM traffic ({bu})": fmt_num(sr / bdiv), "MACs": fmt_num(m)})
    return pd.DataFrame(rows)


def _component_table(layers: pd.DataFrame) -> pd.DataFrame:
    comps = plots.energy_components(layers)
    vals = {c: float(layers[f"energy_{c}_pj"].sum()) for c in comps}
    tot = sum(vals.values())
    div, u = scaled(list(vals.values()), plots.ENERGY_UNITS)
    rows = [{"component": c, f"energy ({u})": fmt_num(v / div), "share (%)": pct(v / tot if tot else 0)}
            for c, v in vals.items()]
    rows.append({"component": "total", f"energy ({u})": fmt_num(tot / div), "share (%)": "100.0"})
    return pd.DataFrame(rows)


def _top_layers(layers: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    t = layers.groupby("layer", sort=False)[["total_cycles", "stall_cycles", "macs", "energy_pj", "dram_read_bytes",
                                             "dram_write_bytes", "sram_read_bytes", "sram_write_bytes"]].sum()
    # ties (equal to a thousandth of a cycle, e.g. identical blocks whose sums differ in the last
    # float bits): network order, so float noise never reorders the table
    t = t.sort_values("total_cycles", ascending=False, kind="stable", key=lambda c: c.round(3)).head(n)
    tot = layers["total_cycles"].sum()
    ediv, eu = scaled(t["energy_pj"], plots.ENERGY_UNITS)
    dram = t["dram_read_bytes"] + t["dram_write_bytes"]
    sram = t["sram_read_bytes"] + t["sram_write_bytes"]
    bdiv, bu = scaled(pd.concat([dram, sram]), plots.BYTE_UNITS)
    return pd.DataFrame({
        "layer": t.index, "cycles": [fmt_num(v) for v in t["total_cycles"]],
        "share of step (%)": [pct(v / tot if tot else 0) for v in t["total_cycles"]],
        "stall share (%)": [pct(s / c if c else 0) for s, c in zip(t["stall_cycles"], t["total_cycles"])],
        "MACs": [fmt_num(v) for v in t["macs"]],
        f"DRAM traffic ({bu})": [fmt_num(v / bdiv) for v in dram],
        f"SRAM traffic ({bu})": [fmt_num(v / bdiv) for v in sram],
        f"energy ({eu})": [fmt_num(v / ediv) for v in t["energy_pj"]],
    })


def run_report(d: Path, fig_dir: Path) -> Doc:
    layers = read_layers_csv(d / "layers.csv")
    s = read_json(d / "summary.json")
    net, acc, batch = s.get("network", "?"), s.get("accelerator", "?"), s.get("batch", "?")
    upd = s.get("update") or {}
    rule = upd.get("rule", "?") if isinstance(upd, dict) else str(upd)
    rank = f", rank {upd.get('rank')}" if isinstance(upd, dict) and rule == "sbpca" else ""
    doc = Doc(f"{net} on {acc}: one training step, batch {batch}, {rule} update{rank}")
    peak = s.get("peak_macs_per_cycle")
    bw = s.get("dram_bytes_per_cycle")
    clock = s.get("clock_ghz")
    desc = []
    if s.get("array"):
        desc.append(f"array {s['array']}")
    if peak:
        desc.append(f"peak {fmt_num(peak)} MAC/cycle")
    if bw:
        desc.append(f"DRAM {fmt_num(bw)} B/cycle")
    if clock:
        desc.append(f"clock {clock} GHz")
    ex = s.get("execution") or {}
    desc.append(f"execution {ex.get('name', 'scalesim') if isinstance(ex, dict) else ex}")
    if s.get("phases_run"):
        desc.append("phases: " + ", ".join(s["phases_run"]))
    if s.get("ideal_memory"):
        desc.append("ideal memory (no DRAM stalls, unbounded SRAM)")
    doc.p(f"Folder `{d.name}`" + (": " + "; ".join(desc) if desc else "") + ".")
    stash = s.get("stash_bytes") or {}
    if stash:
        top = sorted(stash.items(), key=lambda kv: -kv[1])[:3]
        doc.p(f"Stashed for the backward pass: {fmt_num(sum(stash.values()) / 1e6)} MB of activations over "
              f"{len(stash)} layers (largest: " + ", ".join(f"{k} {fmt_num(v / 1e6)} MB" for k, v in top)
              + "; per layer in `summary.json` `stash_bytes`).")
    fp = s.get("footprint")
    if fp:
        cap = s.get("dram_capacity_bytes")
        fit = (f" of the accelerator's {fmt_num(cap / 2 ** 30)} GiB: **{'fits' if s.get('fits') else 'does not fit'}**"
               if cap else "")
        doc.p(f"Peak DRAM footprint {fmt_num(fp['peak_bytes'] / 2 ** 30)} GiB{fit} (at {fp['peak_layer']}, "
              f"{fp['peak_phase']}): weights {fmt_num(fp['weights_bytes'] / 2 ** 20)} MiB, master copies and "
              f"optimizer state {fmt_num(fp['optimizer_state_bytes'] / 2 ** 20)} MiB, stashed activations "
              f"{fmt_num(fp['stash_bytes'] / 2 ** 20)} MiB, workspace {fmt_num(fp['workspace_bytes'] / 2 ** 20)} MiB.")
    t = run_totals(layers)
    cyc = s.get("total_cycles", t["total_cycles"])
    en = s.get("energy_pj", t["energy_pj"])
    ediv, eu = scaled([en], plots.ENERGY_UNITS)
    rows = [("cycles per step", fmt_num(cyc), "cycles")]
    time_s = s.get("time_s") or (cyc / (clock * 1e9) if clock else None)
    if time_s:
        rows.append(("time per step", fmt_num(time_s * 1e3), "ms"))
    rows.append(("energy per step", fmt_num(en / ediv), eu))
    if isinstance(batch, (int, float)) and batch:
        sdiv, su = scaled([en / batch], plots.ENERGY_UNITS)
        rows.append(("energy per sample", fmt_num(en / batch / sdiv), su))
    rows.append(("MACs", fmt_num(t["macs"]), "MAC"))
    if peak and cyc:
        rows.append(("array utilisation", pct(t["macs"] / (cyc * peak)), "%"))
    rows.append(("stall share", pct(t["stall_cycles"] / t["total_cycles"] if t["total_cycles"] else 0), "%"))
    for k, lab in (("dram_read_bytes", "DRAM read"), ("dram_write_bytes", "DRAM write"),
                   ("sram_read_bytes", "SRAM read"), ("sram_write_bytes", "SRAM write")):
        bdiv, bu = scaled([t[k]], plots.BYTE_UNITS)
        rows.append((lab, fmt_num(t[k] / bdiv), bu))
    rows += dram_rows(s)
    doc.h("Summary")
    doc.table(pd.DataFrame(rows, columns=["quantity", "value", "unit"]))
    network_section(doc, d)
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
    timeline_section(doc, d, fig_dir, layers)
    doc.h("Roofline")
    doc.fig(plots.roofline({"run": layers}, peak, bw, fig_dir),
            "Each layer × phase with array work: achieved MACs/cycle against MACs per DRAM byte, "
            "under the array's compute roof and the DRAM bandwidth roof")
    files = "Files: [layers.csv](layers.csv) (one row per layer × phase), [summary.json](summary.json)"
    for f, what in (("network.csv", "layer table"), ("timeline.csv", "busy intervals")):
        if (d / f).exists():
            files += f", [{f}]({f}) ({what})"
    doc.p(files + ".")
    if isinstance(s.get("system"), dict):
        from asicsim.report.system_run import system_section
        system_section(doc, d, s["system"], clock)
    return doc


