"""All training rules side by side (``asicsim compare --rules``): one simulated step per rule on the
same accelerator, network and batch, and one row per rule.

A rule is ``full``, ``sbpca:K``, ``sketch:K`` (update rules, backward by BP) or ``dfa``, ``bdfa``,
``hybrid`` (backward rules, with the full-gradient update). Each row: whole-step cycles and time,
DRAM bytes, energy in total and by phase, cycles by phase, the training-state bytes the rule keeps
(`state_bytes`) and, where a trained record exists, its test accuracy (`trained_accuracy`). The
summary carries the simulator fingerprint (`code`, as sweep.json records it).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from asicsim.config.hardware import HardwareConfig
from asicsim.config.update import UpdateConfig
from asicsim.errors import InputError
from asicsim.inputs import load_json
from asicsim.studies.step import simulate_detail
from asicsim.studies.sweep import code_fingerprint
from asicsim.workload.lowering import PHASES, Lowered, op_tensors
from asicsim.workload.network import Network

ALLOWED = "full, sbpca:K, sketch:K, dfa, bdfa, hybrid (K a positive integer), comma-separated"
BACKWARD_RULES = ("dfa", "bdfa", "hybrid")
RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@dataclass(frozen=True)
class RuleComparison:
    rows: pd.DataFrame      # rules.csv: one row per rule
    table: pd.DataFrame     # compare.csv: layers.csv columns + rule, update, rank, backward
    summary: dict


def parse_rules(text: str, base: UpdateConfig) -> list[tuple[str, UpdateConfig]]:
    """``full,sbpca:4,…`` → [(label, UpdateConfig)], labels ``full``, ``sbpca_k4``, ``sketch_k4``,
    ``dfa``, … The other settings (momentum, sub-batch, placement) come from ``base``."""
    out: list[tuple[str, UpdateConfig]] = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        name, _, k = item.partition(":")
        if name in ("sbpca", "sketch"):
            if not k.strip().isdigit() or int(k) < 1:
                raise InputError(f"rule '{name}' needs a positive rank, e.g. {name}:4", field="--rules",
                                 value=item, allowed=ALLOWED)
            upd = base.model_copy(update={"rule": name, "rank": int(k), "backward": "bp"})
            label = f"{name}_k{int(k)}"
        elif name == "full" and not k:
            upd, label = base.model_copy(update={"rule": "full", "backward": "bp"}), "full"
        elif name in BACKWARD_RULES and not k:
            upd, label = base.model_copy(update={"rule": "full", "backward": name}), name
        else:
            raise InputError("unknown rule", field="--rules", value=item, allowed=ALLOWED)
        if label not in (lab for lab, _ in out):
            out.append((label, upd))
    if not out:
        raise InputError("no rule given", field="--rules", value=text, allowed=ALLOWED)
    return out


def state_bytes(lowered: Lowered, update: UpdateConfig) -> int:
    """Bytes of the training state a rule keeps besides weights and activations: full's gradient G
    (m·n per layer), momentum, SBPCA's Δ, X, σ, the sketch factors D̃, X̃, DFA feedback matrices."""
    sizes: dict[str, int] = {}
    for op in lowered.ops:
        for t in op_tensors(op):
            sizes[t.name] = max(sizes.get(t.name, 0), t.bytes)

    def counted(name: str) -> bool:
        if name.endswith(".G"):        # sbpca and sketch expand Ĝ tile by tile: never stored whole
            return update.rule == "full"
        return name.endswith((".v", ".fb")) or ".sbpca_" in name or ".sketch_" in name

    return sum(b for name, b in sizes.items() if counted(name))


class TrainedAccuracy(NamedTuple):
    accuracy: float | None   # test accuracy, fraction
    runs: int
    records: str             # the run folders, space-separated, relative to benchmarks/results/
    basis: str               # how ``accuracy`` was formed ("" without a record)


STUDY_INDEX = Path("accuracy_study") / "chosen.json"


def _matches(rec: dict, network: str, update: UpdateConfig) -> bool:
    if rec.get("network") != network or rec.get("update") != update.rule:
        return False
    if update.rule != "full" and rec.get("rank") != update.rank:
        return False
    if update.rule == "sbpca" and rec.get("sub_batch") not in (None, update.sub_batch):
        return False
    return (rec.get("backward") or "bp") == update.backward


def _study_entries(network: str, update: UpdateConfig, results_dir: Path) -> list[dict]:
    """The accuracy study's index entries (``accuracy_study/chosen.json``, one per rule and epoch
    budget: the searched rate and its final runs) of this network and rule."""
    f = results_dir / STUDY_INDEX
    if not f.exists():
        return []
    try:
        return [e for e in load_json(f)["entries"] if _matches(e, network, update)]
    except (InputError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise InputError(f"unreadable accuracy-study index ({e})", file=f, field="entries",
                         allowed="the file benchmarks/accuracy_study.py --study rules writes") from None


def common_budget(network: str, updates: list[UpdateConfig], results_dir: Path = RESULTS_DIR) -> int | None:
    """The longest epoch budget the accuracy study has for every one of these rules that it
    trained, so that one table compares accuracies at one budget (None: no common budget)."""
    sets = [s for u in updates if (s := {e["epochs"] for e in _study_entries(network, u, results_dir)})]
    common = set.intersection(*sets) if sets else set()
    return max(common) if common else None


def _study_accuracy(network: str, update: UpdateConfig, results_dir: Path,
                    epochs: int | None) -> TrainedAccuracy | None:
    """The study's final runs at the rule's searched rate, at budget ``epochs`` where it has it,
    else at its longest; None where the study has no entry."""
    hits = _study_entries(network, update, results_dir)
    if not hits:
        return None
    at = [e for e in hits if e["epochs"] == epochs]
    e = at[0] if at else max(hits, key=lambda e: e["epochs"])
    accs = list(e["test_accuracy"].values())
    return TrainedAccuracy(sum(accs) / len(accs), len(accs), " ".join(e["folders"]),
                           f"accuracy study: epoch {e['epochs']}, lr {e['lr']:g} from its search, "
                           f"mean of {len(accs)} seeds")


def trained_accuracy(network: str, update: UpdateConfig, results_dir: Path = RESULTS_DIR,
                     epochs: int | None = None) -> TrainedAccuracy:
    """Test accuracy of this network, update rule, rank (and sub-batch for sbpca) and backward rule
    from the trainer's records. The accuracy study's final runs at the rule's searched rate come
    first (one protocol for every rule; at budget ``epochs`` where it has it, else its longest);
    else the mean final test accuracy over all records
    ``benchmarks/results/accuracy_*/**/summary.json`` — at whatever batch, epochs and rate they
    were trained (the folders say which), leaving out learning-rate search runs (``n_val``)."""
    study = _study_accuracy(network, update, results_dir, epochs)
    if study is not None:
        return study
    accs, where = [], []
    for f in sorted(results_dir.glob("accuracy_*/**/summary.json")):
        try:
            s = load_json(f)
        except InputError:
            continue
        if not _matches(s, network, update) or s.get("final_test_accuracy") is None:
            continue
        if s.get("n_val"):      # a learning-rate search run (trained on a split, some rates bad)
            continue
        accs.append(float(s["final_test_accuracy"]))
        where.append(str(f.parent.relative_to(results_dir)))
    if not accs:
        return TrainedAccuracy(None, 0, "", "")
    return TrainedAccuracy(sum(accs) / len(accs), len(accs), " ".join(where),
                           f"mean final accuracy of {len(accs)} record{'s' if len(accs) != 1 else ''}")


def compare_rules(hw: HardwareConfig, net: Network, batch: int, rules: list[tuple[str, UpdateConfig]],
                  progress=None, results_dir: Path = RESULTS_DIR) -> RuleComparison:
    rows, tables = [], []
    budget = common_budget(net.name, [u for _, u in rules], results_dir)
    for label, upd in rules:
        # rules that lower to the same ops (hybrid where the only FC layer is the classifier) hit
        # the engine's memo; the lowered ops also give the rule's state bytes
        r, lowered, _ = simulate_detail(hw, net, batch, upd)
        s = r.summary
        acc = trained_accuracy(net.name, upd, results_dir, budget)
        row = {"rule": label, "update": upd.rule, "rank": upd.rank if upd.rule != "full" else 0,
               "backward": upd.backward, "cycles": s["total_cycles"], "time_ms": s["time_s"] * 1e3,
               "macs": s["macs"], "dram_bytes": s["dram_read_bytes"] + s["dram_write_bytes"],
               "energy_pj": s["energy_pj"]}
        for ph in PHASES:
            row[f"energy_{ph}_pj"] = s["phases"].get(ph, {}).get("energy_pj", 0.0)
        for ph in PHASES:
            row[f"cycles_{ph}"] = s["phases"].get(ph, {}).get("cycles", 0.0)
        row["state_bytes"] = state_bytes(lowered, upd)
        row["accuracy"] = acc.accuracy
        row["accuracy_runs"] = acc.runs
        row["accuracy_records"] = acc.records
        row["accuracy_basis"] = acc.basis
        rows.append(row)
        t = r.layers.copy()
        for i, (col, val) in enumerate((("rule", label), ("update", upd.rule), ("rank", row["rank"]),
                                        ("backward", upd.backward))):
            t.insert(i, col, val)
        tables.append(t)
        if progress:
            progress(label)
    frame = pd.DataFrame(rows)
    base = frame.iloc[0]
    for c in ("cycles", "dram_bytes", "energy_pj"):
        frame[f"{c}_vs_{base['rule']}"] = frame[c] / base[c] if base[c] else float("nan")
    summary = {"accelerator": hw.name, "network": net.name, "batch": batch, "baseline": base["rule"],
               "code": code_fingerprint(), "rules": frame.to_dict(orient="records")}
    return RuleComparison(frame, pd.concat(tables, ignore_index=True), summary)
