"""Report sections of a rules comparison (`asicsim compare --rules`): one row per training rule.

Every number on the page is read from the folder's ``rules.csv`` (written by
`asicsim.studies.compare_rules`); ``summary.json`` adds only the header (network, accelerator,
batch, baseline, simulator fingerprint).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from asicsim.errors import InputError
from asicsim.inputs import read_csv_frame
from asicsim.report import plots
from asicsim.report.doc import Doc, fmt_num, read_json, scaled

PHASES = ("forward", "backward_data", "weight_gradient", "update")
NEED = ["rule", "cycles", "time_ms", "dram_bytes", "energy_pj", "state_bytes", "accuracy", "accuracy_runs",
        "accuracy_records"] + [f"energy_{p}_pj" for p in PHASES] + [f"cycles_{p}" for p in PHASES]
NONE = "–"   # shown where a rule has no trained record


def read_rules_csv(p: Path) -> pd.DataFrame:
    """rules.csv, checked for the columns the report shows."""
    df = read_csv_frame(p, keep_default_na=False, na_values=[""])
    missing = [c for c in NEED if c not in df.columns]
    if missing:
        raise InputError("table lacks columns", file=p, value=", ".join(missing))
    if df.empty:
        raise InputError("table has no rows", file=p, allowed="one row per rule")
    return df


def accuracy_source(row: pd.Series) -> str:
    """How the accuracy was formed (the folders are listed under the table), or – without a record;
    tables written before ``accuracy_basis`` existed say 'mean of N runs'."""
    if pd.isna(row["accuracy"]):
        return NONE
    basis = row.get("accuracy_basis")
    if isinstance(basis, str) and basis:
        return basis
    n = int(row["accuracy_runs"])
    return f"mean of {n} run{'s' if n != 1 else ''}"


def records_table(r: pd.DataFrame) -> pd.DataFrame | None:
    """Rule → the trainer's record folders its accuracy averages (under benchmarks/results/)."""
    has = r[r["accuracy"].notna()]
    if has.empty:
        return None
    return pd.DataFrame({"rule": has["rule"], "test accuracy": has["accuracy"].map(fmt_num),
                         "records (benchmarks/results/…)": [", ".join(str(v).split()) for v in
                                                            has["accuracy_records"]]})


def typical_unit(values: pd.Series, units) -> tuple[float, str]:
    """(divisor, unit) that brings the median of the non-zero |values| into [1, 1000): the rules span
    orders of magnitude (DFA's feedback state vs SBPCA's factors), so the middle one sets the unit."""
    v = values.abs()
    return scaled([v[v > 0].median() if (v > 0).any() else 0.0], units)


def rules_table(r: pd.DataFrame) -> pd.DataFrame:
    """The one-row-per-rule table: each column in one unit (named in its header), the energy columns
    in the same one."""
    ediv, eu = typical_unit(pd.concat([r["energy_pj"]] + [r[f"energy_{p}_pj"] for p in PHASES]),
                            plots.ENERGY_UNITS)
    ddiv, du = typical_unit(r["dram_bytes"], plots.BYTE_UNITS)
    sdiv, su = typical_unit(r["state_bytes"], plots.BYTE_UNITS)
    out = pd.DataFrame({"rule": r["rule"], "cycles": r["cycles"].map(fmt_num),
                        "time (ms)": r["time_ms"].map(fmt_num),
                        f"DRAM traffic ({du})": (r["dram_bytes"] / ddiv).map(fmt_num),
                        f"energy ({eu})": (r["energy_pj"] / ediv).map(fmt_num)})
    for p in PHASES:
        out[f"{p} energy ({eu})"] = (r[f"energy_{p}_pj"] / ediv).map(fmt_num)
    out[f"training state ({su})"] = (r["state_bytes"] / sdiv).map(fmt_num)
    out["test accuracy"] = r["accuracy"].map(lambda a: NONE if pd.isna(a) else fmt_num(a))
    out["accuracy from"] = [accuracy_source(row) for _, row in r.iterrows()]
    return out


def ratio_table(r: pd.DataFrame, base: str) -> pd.DataFrame | None:
    cols = [(f"{c}_vs_{base}", what) for c, what in (("cycles", "cycles"), ("dram_bytes", "DRAM traffic"),
                                                     ("energy_pj", "energy"))]
    if not all(c in r for c, _ in cols):
        return None
    return pd.DataFrame({"rule": r["rule"], **{f"{what} / {base}": r[c].map(lambda v: f"{v:.3f}")
                                               for c, what in cols}})


def cycles_table(r: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"rule": r["rule"]})
    for p in PHASES:
        out[f"{p} cycles"] = r[f"cycles_{p}"].map(fmt_num)
    out["step cycles"] = r["cycles"].map(fmt_num)
    return out


def rules_report(d: Path, fig_dir: Path) -> Doc:
    r = read_rules_csv(d / "rules.csv")
    s = read_json(d / "summary.json")
    net, acc, batch = s.get("network", "?"), s.get("accelerator", "?"), s.get("batch", "?")
    base = s.get("baseline") or str(r["rule"].iloc[0])
    doc = Doc(f"Training rules side by side: {net} on {acc}, batch {batch}")
    head = [f"Folder `{d.name}`: {len(r)} rules ({', '.join(r['rule'])}), one simulated training step each "
            f"on the same network, accelerator and batch; ratios are relative to `{base}`."]
    if s.get("code"):
        head.append(f"Simulator fingerprint `{s['code']}` (hash of the simulator's source that computed "
                    "these numbers).")
    doc.p(" ".join(head))
    doc.p("Training state = bytes a rule keeps besides weights and activations (full: the gradient G; "
          "sbpca: Δ, X, σ; sketch: D̃, X̃; dfa/bdfa: + the feedback matrices F; momentum buffers where momentum "
          "is on). Test accuracy: from the accuracy study (`benchmarks/accuracy_study.py --study rules`) "
          "where it trained this network with the same update rule, rank and backward rule — its final runs "
          "at the rule's searched learning rate, at the longest epoch budget it has for all the rules shown; otherwise the mean final test accuracy of "
          "the trainer's records of that rule (at whatever batch, epochs and rate they were trained); "
          f"{NONE} where none exists. The column 'accuracy from' says which.")
    doc.h("Side by side")
    doc.table(rules_table(r), "One training step per rule")
    ratios = ratio_table(r, base)
    if ratios is not None:
        doc.table(ratios, f"Relative to {base}")
    doc.fig(plots.rules_phases(r, fig_dir), "Energy (left) and cycles (right) of one step per rule, stacked "
            "by phase")
    doc.fig(plots.rules_tradeoff(r, fig_dir), "Left: energy against cycles per rule (rules that give the "
            "same point share a label). Right: DRAM traffic per step and training-state bytes, log scale")
    doc.table(cycles_table(r), "Cycles by phase")
    recs = records_table(r)
    doc.h("Accuracy records")
    if recs is None:
        doc.p(f"No trained record of {net} with any of these rules exists, so the accuracy column is {NONE}.")
    else:
        doc.table(recs, "Trained records behind the accuracy column")
    files = [f"[{n}]({n})" for n in ("rules.csv", "summary.json", "compare.csv") if (d / n).exists()]
    doc.p("Files: " + ", ".join(files) + " (rules.csv: one row per rule; compare.csv, where kept: one row "
          "per layer × phase × rule).")
    return doc
