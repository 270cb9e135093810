"""Full-gradient vs SBPCA rank-k on the same accelerator and network: run each rule, put the
results side by side, and find where SBPCA stops paying.

Only the phases the update rule changes are compared (weight_gradient + update: "wu"); forward
and backward-data are identical for both rules and are kept in the table for completeness.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from asicsim.config.hardware import HardwareConfig
from asicsim.config.update import UpdateConfig
from asicsim.studies.step import simulate
from asicsim.workload.network import Network

RULE_PHASES = ("weight_gradient", "update")
METRICS = {"cycles": "total_cycles", "dram_bytes": "dram_bytes", "sram_bytes": "sram_bytes", "energy_pj": "energy_pj"}


@dataclass(frozen=True)
class Comparison:
    table: pd.DataFrame        # compare.csv: layers.csv columns + update, rank
    totals: pd.DataFrame       # one row per rule: wu metrics, whole-step metrics, ratios vs full
    per_layer: pd.DataFrame    # per weighted layer: wu energy/cycles per rule, favoured rule
    summary: dict


def rule_label(update: UpdateConfig) -> str:
    return "full" if update.rule == "full" else f"sbpca_k{update.rank}"


def _wu(table: pd.DataFrame) -> pd.DataFrame:
    t = table[table["phase"].isin(RULE_PHASES)].copy()
    t["dram_bytes"] = t["dram_read_bytes"] + t["dram_write_bytes"]
    t["sram_bytes"] = t["sram_read_bytes"] + t["sram_write_bytes"]
    return t


def compare(hw: HardwareConfig, net: Network, batch: int, ranks: list[int], base: UpdateConfig,
            progress=None, system=None, execution=None) -> Comparison:
    """Simulate `full` and SBPCA at each rank (same momentum, sub-batch, placement options).
    With a multi-chip ``system`` each rule is a data-parallel step and the totals gain its sync
    columns (`asicsim.studies.multichip`); the per-chip table is the same. ``execution``: the
    execution spec of every single-chip step (`asicsim.config.execution`; None = scalesim)."""
    from asicsim.config.execution import as_execution, summary_entry
    ex = as_execution(execution)
    rules = [base.model_copy(update={"rule": "full"})] + [
        base.model_copy(update={"rule": "sbpca", "rank": k}) for k in ranks]
    tables, summaries, systems = [], {}, {}
    for upd in rules:
        if system is not None:
            from asicsim.studies.multichip import simulate_system
            sr = simulate_system(hw, net, batch, upd, system)
            r = sr.step
            systems[rule_label(upd)] = sr.summary["system"]
        else:
            r = simulate(hw, net, batch, upd, execution=ex)
        lab = rule_label(upd)
        t = r.layers.copy()
        t.insert(0, "update", upd.rule)
        t.insert(1, "rank", 0 if upd.rule == "full" else upd.rank)
        tables.append(t)
        summaries[lab] = r.summary
        if progress:
            progress(lab)
    table = pd.concat(tables, ignore_index=True)
    labels = list(summaries)
    totals = _totals(table, summaries, labels)
    if systems:
        totals = with_system_columns(totals, systems)
    per_layer = _per_layer(table, net, labels)
    summary = {
        "accelerator": hw.name, "network": net.name, "batch": batch, "ranks": ranks,
        "sub_batch": base.sub_batch, "momentum": base.momentum, "projections": base.projections,
        "apply": base.apply, "compared_phases": list(RULE_PHASES),
        "rules": {lab: {k: v for k, v in s.items() if k not in ("update",)} for lab, s in summaries.items()},
        "totals": totals.to_dict(orient="records"),
        "stops_paying": stops_paying(totals),
        "layers_favouring": per_layer["favoured"].value_counts().to_dict(),
        **summary_entry(ex),
    }
    if systems:
        summary["system"] = {lab: v for lab, v in systems.items()}
    return Comparison(table, totals, per_layer, summary)


def _totals(table: pd.DataFrame, summaries: dict, labels: list[str]) -> pd.DataFrame:
    rows = []
    for lab, (key, g) in zip(labels, table.groupby(["update", "rank"], sort=False)):
        wu = _wu(g)
        s = summaries[lab]
        rows.append({"rule": lab, "rank": key[1],
                     "wu_cycles": wu["total_cycles"].sum(), "wu_dram_bytes": wu["dram_bytes"].sum(),
                     "wu_sram_bytes": wu["sram_bytes"].sum(), "wu_energy_pj": wu["energy_pj"].sum(),
                     "step_cycles": s["total_cycles"], "step_energy_pj": s["energy_pj"],
                     "step_dram_bytes": s["dram_read_bytes"] + s["dram_write_bytes"]})
    t = pd.DataFrame(rows)
    full = t.iloc[0]
    for c in ("wu_cycles", "wu_dram_bytes", "wu_sram_bytes", "wu_energy_pj", "step_cycles", "step_energy_pj"):
        t[f"{c}_vs_full"] = t[c] / full[c] if full[c] else float("nan")
    return t


def _per_layer(table: pd.DataFrame, net: Network, labels: list[str]) -> pd.DataFrame:
    wu = _wu(table)
    wu["rule"] = wu.apply(lambda r: "full" if r["update"] == "full" else f"sbpca_k{r['rank']}", axis=1)
    weighted = {l.name for l in net.weighted_layers}
    wu = wu[wu["layer"].isin(weighted)]
    e = wu.pivot_table(index="layer", columns="rule", values="energy_pj", aggfunc="sum", sort=False)[labels]
    cyc = wu.pivot_table(index="layer", columns="rule", values="total_cycles", aggfunc="sum", sort=False)[labels]
    out = e.add_prefix("energy_pj_").join(cyc.add_prefix("cycles_"))
    out["favoured"] = e.idxmin(axis=1)
    out["favoured_cycles"] = cyc.idxmin(axis=1)
    # per layer: the largest rank tried whose wu energy is still below full's (0: none)
    sb = [lab for lab in labels if lab != "full"]
    ranks = {lab: int(lab.split("_k")[1]) for lab in sb}
    out["largest_paying_rank_energy"] = [
        max([ranks[lab] for lab in sb if e.loc[layer, lab] < e.loc[layer, "full"]], default=0) for layer in e.index]
    return out.reset_index()


def stops_paying(totals: pd.DataFrame) -> dict:
    """Per metric of the weight-gradient + update phases: the smallest rank tried at which SBPCA
    costs at least as much as full (None: it pays at every rank tried), and whether it paid at the
    smallest rank at all."""
    out = {}
    full = totals.iloc[0]
    sb = totals.iloc[1:].sort_values("rank")
    for metric in ("wu_cycles", "wu_dram_bytes", "wu_sram_bytes", "wu_energy_pj"):
        worse = sb[sb[metric] >= full[metric]]
        out[metric] = {"stops_paying_at_rank": int(worse["rank"].min()) if len(worse) else None,
                       "pays_at_smallest_rank": bool(len(sb) and sb.iloc[0][metric] < full[metric])}
    return out


SYNC_COLUMNS = ("step_cycles", "exposed_comm_cycles", "hidden_comm_cycles", "payload_bytes_per_chip",
                "comm_bytes_sent_per_chip", "link_energy_pj_per_chip", "step_energy_pj_per_chip")


def with_system_columns(totals: pd.DataFrame, systems: dict) -> pd.DataFrame:
    """Per rule: the multi-chip step, its exposed/hidden sync cycles and bytes (``system_*``)."""
    t = totals.copy()
    for c in SYNC_COLUMNS:
        t[f"system_{c}"] = [systems[lab][c] for lab in t["rule"]]
    t["system_step_cycles_vs_full"] = t["system_step_cycles"] / t["system_step_cycles"].iloc[0]
    return t
