"""Report of a data-parallel scaling sweep (a study with a ``system.chips`` axis): time per step
and scaling efficiency against chips per update rule, exposed-communication bars, and tables.

Every number is read from the sweep's rows (the ``system.*`` columns of `asicsim.studies.rows`);
the sentences under the figures are computed from the same rows.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from asicsim.report.doc import Doc, fmt_num
from asicsim.report.plots import save

STYLES = ("-", "--", ":", "-.")
RULE_ORDER = ("full", "sbpca_k1", "sbpca_k4", "sbpca_k16", "powersgd_r4", "resist")


def _rules(df: pd.DataFrame) -> list[str]:
    """The series (rule, plus any other varied axis) in a stable order."""
    present = list(dict.fromkeys(df["series"]))
    rank = {r: i for i, r in enumerate(RULE_ORDER)}
    return sorted(present, key=lambda x: (rank.get(x.split(",")[0], len(rank)), x.split(",")[0],
                                          _num(x.split("=")[-1]) if "=" in x else 0.0))


def _num(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return 0.0


def _series(df: pd.DataFrame, axes: list[str]) -> pd.Series:
    """Label each row by its rule and the values of any other axis the study varies."""
    skip = {"network", "system.chips", "update.rule", "update.rank", "update"}
    extra = [a for a in axes if a not in skip and a in df and df[a].nunique() > 1]
    lab = df["update"].astype(str)
    for a in extra:
        lab = lab + f", {a.split('.')[-1]}=" + df[a].astype(str)
    return lab


def _lines(df: pd.DataFrame, col: str, ylabel: str, fig_dir: Path, stem: str, scale: float = 1.0,
           logy: bool = False) -> str:
    nets = list(dict.fromkeys(df["network"]))
    fig, axes = plt.subplots(1, len(nets), figsize=(5.2 * len(nets), 3.8), squeeze=False)
    for ax, net in zip(axes[0], nets):
        g = df[df["network"] == net]
        series = _rules(g)
        rules = list(dict.fromkeys(x.split(",")[0] for x in series))
        variants = list(dict.fromkeys(x.split(",", 1)[1] if "," in x else "" for x in series))
        for lab in series:
            r = g[g["series"] == lab].sort_values("system.chips")
            rule, var = lab.split(",")[0], (lab.split(",", 1)[1] if "," in lab else "")
            ax.plot(r["system.chips"], r[col] * scale, marker="o", ms=3, label=lab,
                    color=f"C{rules.index(rule) % 10}", linestyle=STYLES[variants.index(var) % len(STYLES)])
        ax.set_xscale("log", base=2)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("chips")
        ax.set_ylabel(ylabel)
        ax.set_title(net)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save(fig, fig_dir, stem)


def _exposed_bars(df: pd.DataFrame, chips: list[int], fig_dir: Path, stem: str) -> str:
    nets = list(dict.fromkeys(df["network"]))
    fig, axes = plt.subplots(1, len(nets), figsize=(6.0 * len(nets), 3.8), squeeze=False)
    for ax, net in zip(axes[0], nets):
        g = df[df["network"] == net]
        rules = _rules(g)
        width = 0.8 / max(len(chips), 1)
        x = np.arange(len(rules))
        for j, n in enumerate(chips):
            sel = g[g["system.chips"] == n].set_index("series")
            comp = np.array([sel["system.compute_cycles"].get(r, np.nan) for r in rules]) / sel["clock_ghz"].iloc[0] / 1e6
            expo = np.array([sel["system.exposed_comm_cycles"].get(r, np.nan) for r in rules]) / sel["clock_ghz"].iloc[0] / 1e6
            pos = x - 0.4 + width * (j + 0.5)
            ax.bar(pos, comp, width * 0.95, color=plt.cm.Blues(0.35 + 0.5 * j / max(len(chips) - 1, 1)),
                   label=f"compute, {n} chips")
            ax.bar(pos, expo, width * 0.95, bottom=comp, color=plt.cm.Reds(0.35 + 0.5 * j / max(len(chips) - 1, 1)),
                   label=f"exposed sync, {n} chips")
        ax.set_xticks(x)
        ax.set_xticklabels(rules, rotation=20, fontsize=8)
        ax.set_ylabel("ms per step (per chip)")
        ax.set_title(net)
        ax.grid(axis="y", alpha=0.3)
    axes[0][-1].legend(fontsize=7, ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save(fig, fig_dir, stem)


def _table(g: pd.DataFrame) -> pd.DataFrame:
    ms = 1e3
    return pd.DataFrame({
        "rule": g["series"], "chips": g["system.chips"].astype(int),
        "step (ms)": (g["system.step_time_s"] * ms).map(fmt_num),
        "exposed sync (ms)": (g["system.exposed_comm_cycles"] / g["clock_ghz"] / 1e6).map(fmt_num),
        "hidden sync (ms)": (g["system.hidden_comm_cycles"] / g["clock_ghz"] / 1e6).map(fmt_num),
        "sent per chip (MB)": (g["system.comm_bytes_sent_per_chip"] / 1e6).map(fmt_num),
        "scaling efficiency": g["system.scaling_efficiency"].map(lambda v: f"{v:.1%}"),
        "samples/s": g["system.samples_per_s"].map(lambda v: f"{v:,.0f}"),
        "energy per chip-step (mJ)": (g["system.step_energy_pj_per_chip"] / 1e9).map(fmt_num),
    }).reset_index(drop=True)


def _reading(g: pd.DataFrame, net: str) -> str:
    top = int(g["system.chips"].max())
    at = g[g["system.chips"] == top].set_index("series")
    fastest = at["system.step_time_s"].idxmin()
    full = at["system.step_time_s"].get("full")
    parts = [f"At {top} chips the fastest step on {net} is **{fastest}** "
             f"({at.loc[fastest, 'system.step_time_s'] * 1e3:.3f} ms"
             + (f", {full / at.loc[fastest, 'system.step_time_s']:.2f}× full's {full * 1e3:.3f} ms)" if full else ")")]
    for rule in _rules(g):
        r = g[g["series"] == rule].sort_values("system.chips")
        eff = r["system.scaling_efficiency"].iloc[-1]
        expo = r["system.exposed_comm_cycles"].iloc[-1] / max(r["system.step_cycles"].iloc[-1], 1)
        parts.append(f"{rule}: efficiency {eff:.1%} at {top} chips, {expo:.1%} of its step exposed sync")
    return "; ".join(parts) + "."


def scaling_report(d: Path, fig_dir: Path, meta: dict, df: pd.DataFrame) -> Doc:
    name = meta.get("study", d.name)
    doc = Doc(f"Data-parallel scaling: {name}")
    if meta.get("description"):
        doc.p(meta["description"])
    err = df["error"].notna() & (df["error"].astype(str) != "") if "error" in df else pd.Series(False, index=df.index)
    ok = df[~err & df["system.step_time_s"].notna()].copy()
    ok["system.chips"] = ok["system.chips"].astype(int)
    ok["series"] = _series(ok, meta.get("axes", []))
    sysname = ", ".join(sorted(ok["system.name"].astype(str).unique()))
    doc.p(f"{len(ok)} points ({int(err.sum())} failed) on system {sysname}, accelerator "
          f"{', '.join(sorted(ok['accelerator'].astype(str).unique()))}, batch "
          f"{', '.join(str(b) for b in sorted(ok['batch'].unique()))} per chip (weak scaling: the global batch "
          "grows with the chips). Step = one chip's compute plus the communication it could not hide; "
          "scaling efficiency = the same rule's one-chip step / this step (ResIST: one chip training the "
          "whole network); samples/s = chips × batch / step. Model: README, 'Data-parallel training'.")
    doc.h("Time per step")
    doc.fig(_lines(ok, "system.step_time_s", "ms per step", fig_dir, "scaling_step_time", 1e3),
            "time per training step (per chip, including exposed communication) against chips, per rule")
    doc.h("Scaling efficiency")
    doc.fig(_lines(ok, "system.scaling_efficiency", "scaling efficiency", fig_dir, "scaling_efficiency"),
            "one-chip step of the same rule / N-chip step (1 = perfect weak scaling)")
    doc.fig(_lines(ok, "system.comm_bytes_sent_per_chip", "MB sent per chip per step", fig_dir, "scaling_bytes",
                   1e-6, logy=True), "bytes each chip sends per step (all levels), per rule", half=True)
    doc.h("Exposed communication")
    all_chips = sorted(ok["system.chips"].unique())
    picks = [n for n in (8, 64, all_chips[-1]) if n in all_chips] or all_chips[-1:]
    doc.fig(_exposed_bars(ok, sorted(set(picks)), fig_dir, "scaling_exposed"),
            "compute (blue) and exposed synchronisation (red) per step, at " + ", ".join(map(str, sorted(set(picks)))) + " chips")
    for net in dict.fromkeys(ok["network"]):
        g = ok[ok["network"] == net]
        order = {r: i for i, r in enumerate(_rules(g))}
        g = g.sort_values(["series", "system.chips"], key=lambda s: s.map(order) if s.name == "series" else s)
        doc.h(f"{net}", 3)
        doc.p(_reading(g, net))
        doc.table(_table(g[g["system.chips"].isin(picks + [1])]), f"{net}: selected chip counts (all in the results file)")
    if err.any():
        doc.h("Failed points")
        doc.table(df[err][["point", "network", "update", "system.chips", "error"]].astype(str).head(50), "")
    files = [f"[{p.name}]({p.name})" for p in (d / "results.parquet", d / "results.csv", d / "study.yaml") if p.exists()]
    doc.p("Files: " + ", ".join(files) + ".")
    return doc
