"""``asicsim compare``: full-gradient vs SBPCA rank-k side by side on one accelerator and network.

Writes DIR/compare.csv (one row per layer × phase × rule), DIR/summary.json (per-rule totals,
ratios vs full, where SBPCA stops paying) and prints the comparison table.
With ``--rules full,sbpca:4,sketch:4,dfa,bdfa,hybrid`` it compares any training rules instead
(`asicsim.studies.compare_rules`): DIR/rules.csv (one row per rule), DIR/compare.csv (layers ×
phases × rule) and DIR/summary.json (with the simulator fingerprint); ``--report`` adds the
one-row-per-rule report pages (`asicsim.report.rules`).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from asicsim.cli.run import (
    add_system_arguments,
    add_update_arguments,
    system_from_args,
    update_from_args,
)
from asicsim.config.hardware import load_hardware
from asicsim.errors import InputError
from asicsim.outputs import output_dir, write_csv, write_json
from asicsim.workload.network import load_network


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--accelerator", default="edge", help="preset name or YAML file [edge]")
    p.add_argument("--network", default="resnet18", help="preset name, YAML file or .onnx file [resnet18]")
    p.add_argument("--batch", type=int, default=32, help="mini-batch size B [32]")
    p.add_argument("--rank", default=None, help="comma list of SBPCA ranks [1,4,16]")
    p.add_argument("--rules", default=None,
                   help="compare training rules instead: comma list of full, sbpca:K, sketch:K, dfa, bdfa, hybrid")
    add_update_arguments(p)
    p.add_argument("--execution", default="scalesim", metavar="FILE|PRESET",
                   help="execution spec of every step: preset (models/executions) or YAML file [scalesim]")
    p.add_argument("--out", help="output folder [out/compare_<network>_<accelerator>_b<batch>; with --rules out/rules_…]")
    p.add_argument("--report", action="store_true", help="also write report.md + index.html (with --rules: the one-row-per-rule report)")
    add_system_arguments(p)


def parse_ranks(text: str) -> list[int]:
    try:
        ranks = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        ranks = []
    if not ranks or min(ranks) < 1:
        raise InputError("must be a comma list of positive integers", field="--rank", value=text, allowed="e.g. 1,4,16")
    return ranks


def execute(args) -> int:
    from tqdm import tqdm

    from asicsim.studies.compare import compare

    t0 = time.perf_counter()
    if args.batch <= 0:
        raise InputError("must be a positive integer", field="--batch", value=args.batch)
    from asicsim.config.execution import load_execution
    execution = load_execution(args.execution)
    if not execution.is_default and (args.rules is not None or getattr(args, "system", None)):
        raise InputError("--execution applies to the single-chip rank comparison",
                         field="--execution", value=args.execution, allowed="scalesim with --rules or --system")
    if args.rules is not None:
        return execute_rules(args, t0)
    ranks = parse_ranks(args.rank if args.rank is not None else "1,4,16")
    hw = load_hardware(args.accelerator)
    net = load_network(args.network)
    base = update_from_args(args, "full", ranks[0])
    system = system_from_args(args)
    out = Path(args.out) if args.out else Path("out") / f"compare_{net.name}_{hw.name}_b{args.batch}"
    output_dir(out, create=False)
    with tqdm(total=1 + len(ranks), desc="rules", unit="rule", leave=False, disable=None) as bar:
        cmp = compare(hw, net, args.batch, ranks, base, progress=lambda _label: bar.update(1), system=system,
                      execution=execution)
    output_dir(out)
    write_csv(out / "compare.csv", cmp.table)
    write_csv(out / "compare_layers.csv", cmp.per_layer)
    write_json(out / "summary.json", cmp.summary, default=float)
    print(f"execution: {execution.name}")
    print_comparison(cmp)
    print(f"wrote {out}/compare.csv, compare_layers.csv, summary.json  ({time.perf_counter() - t0:.1f} s)")
    if args.report:
        from asicsim.report.write import write_report
        print(f"report: {write_report(out)}")
    return 0


def execute_rules(args, t0: float) -> int:
    import math

    from tqdm import tqdm

    from asicsim.studies.compare_rules import compare_rules, parse_rules
    from asicsim.workload.backward import check_backward

    if args.rank is not None:
        raise InputError("give ranks inside --rules (sbpca:K, sketch:K), not with --rank", field="--rank",
                         value=args.rank)
    if args.backward != "bp":
        raise InputError("with --rules the backward rule is part of each rule (dfa, bdfa, hybrid)",
                         field="--backward", value=args.backward)
    base = update_from_args(args, "full", 4)
    rules = parse_rules(args.rules, base)
    hw = load_hardware(args.accelerator)
    net = load_network(args.network)
    for _, upd in rules:
        check_backward(net, upd.backward, field="--rules")
    out = Path(args.out) if args.out else Path("out") / f"rules_{net.name}_{hw.name}_b{args.batch}"
    output_dir(out, create=False)
    with tqdm(total=len(rules), desc="rules", unit="rule", leave=False, disable=None) as bar:
        cmp = compare_rules(hw, net, args.batch, rules, progress=lambda _label: bar.update(1))
    output_dir(out)
    write_csv(out / "rules.csv", cmp.rows)
    write_csv(out / "compare.csv", cmp.table)
    clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v
    summary = {**cmp.summary, "rules": [{k: clean(v) for k, v in r.items()} for r in cmp.summary["rules"]]}
    write_json(out / "summary.json", summary, default=float)
    print_rules(cmp)
    print(f"wrote {out}/rules.csv, compare.csv, summary.json  ({time.perf_counter() - t0:.1f} s)")
    if args.report:
        from asicsim.report.write import write_report
        print(f"report: {write_report(out)}")
    return 0


def print_rules(cmp) -> None:
    import pandas as pd

    r = cmp.rows
    s = cmp.summary
    view = pd.DataFrame({"rule": r["rule"], "Mcycles": r["cycles"] / 1e6, "DRAM MB": r["dram_bytes"] / 1e6,
                         "energy mJ": r["energy_pj"] / 1e9,
                         **{f"{ph[:8]} mJ": r[f"energy_{ph}_pj"] / 1e9
                            for ph in ("forward", "backward_data", "weight_gradient", "update")},
                         "state MB": r["state_bytes"] / 1e6,
                         "accuracy": r["accuracy"].map(lambda a: "" if pd.isna(a) else f"{a:.4f}")})
    print(f"{s['network']} batch {s['batch']} on {s['accelerator']}: one training step per rule")
    print(view.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))


def print_comparison(cmp) -> None:
    import pandas as pd

    s = cmp.summary
    t = cmp.totals
    view = pd.DataFrame({
        "rule": t["rule"],
        "wgrad+upd Mcyc": t["wu_cycles"] / 1e6, "×full": t["wu_cycles_vs_full"],
        "DRAM MB": t["wu_dram_bytes"] / 1e6, "×full ": t["wu_dram_bytes_vs_full"],
        "SRAM MB": t["wu_sram_bytes"] / 1e6, "×full  ": t["wu_sram_bytes_vs_full"],
        "energy mJ": t["wu_energy_pj"] / 1e9, "×full   ": t["wu_energy_pj_vs_full"],
        "step mJ": t["step_energy_pj"] / 1e9,
    })
    print(f"{s['network']} batch {s['batch']} on {s['accelerator']}: weight-gradient + update phases "
          f"(sub-batch {s['sub_batch']}, momentum {s['momentum']}, projections on {s['projections']}, apply {s['apply']})")
    print(view.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    for metric, v in s["stops_paying"].items():
        k = v["stops_paying_at_rank"]
        what = metric.replace("wu_", "").replace("_", " ")
        if not v["pays_at_smallest_rank"]:
            print(f"  {what}: SBPCA does not pay at any rank tried")
        elif k is None:
            print(f"  {what}: SBPCA pays at every rank tried")
        else:
            print(f"  {what}: SBPCA stops paying at rank {k}")
    if "system_step_cycles" in t:
        sysd = next(iter(s["system"].values()))
        print(f"on {sysd['name']} ({sysd['chips']} chips), per chip:")
        print(pd.DataFrame({
            "rule": t["rule"], "step Mcyc": t["system_step_cycles"] / 1e6, "×full": t["system_step_cycles_vs_full"],
            "exposed sync Mcyc": t["system_exposed_comm_cycles"] / 1e6, "hidden Mcyc": t["system_hidden_comm_cycles"] / 1e6,
            "payload MB": t["system_payload_bytes_per_chip"] / 1e6, "sent MB": t["system_comm_bytes_sent_per_chip"] / 1e6,
            "link mJ": t["system_link_energy_pj_per_chip"] / 1e9,
        }).to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    fav = cmp.per_layer["favoured"].value_counts()
    print("layers favouring each rule (energy of weight-gradient + update): "
          + ", ".join(f"{r}: {n}" for r, n in fav.items()))
