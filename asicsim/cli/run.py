"""``asicsim run``: simulate one training step (or chosen phases) and write layers.csv + summary.json.

With no network/accelerator arguments it runs the default study (ResNet-18, batch 32, ``edge``)
into ``reports/resnet18_edge_b32/`` (under the working directory).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from asicsim.config.hardware import load_hardware
from asicsim.config.update import UpdateConfig
from asicsim.errors import InputError
from asicsim.workload.lowering import PHASES
from asicsim.workload.network import load_network

DEFAULT = {"network": "resnet18", "accelerator": "edge", "batch": 32}


def parse_phases(text: str) -> tuple[str, ...]:
    phases = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in phases if p not in PHASES]
    if bad or not phases:
        raise InputError("unknown phase", field="--phases", value=text, allowed=",".join(PHASES))
    return tuple(p for p in PHASES if p in phases)


def add_update_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--momentum", nargs="?", type=float, const=0.9, default=0.0, metavar="M",
                   help="SGD momentum (flag alone: 0.9)")
    p.add_argument("--sub-batch", type=int, default=32, help="SBPCA sub-batch size s (pairs)")
    p.add_argument("--projections", choices=["array", "vector"], default="array",
                   help="where SBPCA's skinny projections run")
    p.add_argument("--apply", choices=["digital", "crossbar"], default="digital",
                   help="SBPCA update: expand Ĝ digitally or pulse an in-memory crossbar")
    p.add_argument("--backward", choices=["bp", "dfa", "bdfa", "hybrid"], default="bp",
                   help="how the error reaches each layer: backprop, direct feedback alignment, binary DFA, "
                        "BP for conv + DFA for FC layers")
    p.add_argument("--sketch-method", choices=["auto", "fwht", "rows"], default="auto",
                   help="how the sketch rule forms its SRHT (auto: fewer additions)")


def update_from_args(args, rule: str, rank: int) -> UpdateConfig:
    from asicsim.errors import validated
    return validated(UpdateConfig, dict(rule=rule, momentum=args.momentum, rank=rank, sub_batch=args.sub_batch,
                                        projections=args.projections, apply=args.apply,
                                        backward=getattr(args, "backward", "bp"),
                                        sketch_method=getattr(args, "sketch_method", "auto")), "<command line>")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--accelerator", help="preset name (models/accelerators) or YAML file [edge]")
    p.add_argument("--network", help="preset name (models/networks) or YAML file [resnet18]")
    p.add_argument("--batch", type=int, help="mini-batch size B [32; 1 with --topology]")
    p.add_argument("--update", choices=["full", "sbpca", "sketch"], default="full", help="weight-update rule")
    p.add_argument("--rank", type=int, default=4, help="SBPCA rank k / sketch rows k")
    add_update_arguments(p)
    p.add_argument("--phases", default=",".join(PHASES), help="comma list of " + ",".join(PHASES))
    p.add_argument("--ideal-memory", action="store_true",
                   help="unbounded SRAM, infinitely fast DRAM: array cycles only (SCALE-Sim compute count)")
    p.add_argument("--scalesim-config", metavar="CFG", help="SCALE-Sim .cfg (array, dataflow, SRAM sizes)")
    p.add_argument("--dataflow", choices=["ws", "os", "is"], help="override the accelerator's dataflow")
    p.add_argument("--topology", metavar="CSV", help="SCALE-Sim topology CSV instead of --network")
    p.add_argument("--gemm", action="store_true", help="--topology is in SCALE-Sim's GEMM (M,N,K) format")
    p.add_argument("--out", help="output folder [reports/<network>_<accelerator>_b<batch>]")
    p.add_argument("--report", action="store_true", help="also write report.md + index.html with figures")


def resolve_inputs(args):
    """(hardware, network, batch) from the command line, with the documented defaults."""
    from asicsim.workload.topology import (
        hardware_from_scalesim,
        load_scalesim_config,
        load_topology,
    )

    if args.scalesim_config and args.accelerator:
        raise InputError("give either --accelerator or --scalesim-config, not both", field="--scalesim-config")
    if args.topology and args.network:
        raise InputError("give either --network or --topology, not both", field="--topology")
    if args.gemm and not args.topology:
        raise InputError("--gemm describes a --topology file; no topology given", field="--gemm")
    hw = (hardware_from_scalesim(load_scalesim_config(args.scalesim_config)) if args.scalesim_config
          else load_hardware(args.accelerator or DEFAULT["accelerator"]))
    if getattr(args, "dataflow", None):
        hw = hw.model_copy(update={"array": hw.array.model_copy(update={"dataflow": args.dataflow})})
    net = load_topology(args.topology, gemm=args.gemm) if args.topology else load_network(args.network or DEFAULT["network"])
    batch = args.batch if args.batch is not None else (1 if args.topology else DEFAULT["batch"])
    if batch <= 0:
        raise InputError("must be a positive integer", field="--batch", value=batch, allowed="1, 2, …")
    return hw, net, batch


def print_summary(summary: dict, out: Path, wall_s: float) -> None:
    import pandas as pd

    rows = [{"phase": ph, "Mcycles": v["cycles"] / 1e6, "GMAC": v["macs"] / 1e9,
             "DRAM MB": v["dram_bytes"] / 1e6, "energy mJ": v["energy_pj"] / 1e9}
            for ph, v in summary["phases"].items()]
    rows.append({"phase": "total", "Mcycles": summary["total_cycles"] / 1e6, "GMAC": summary["macs"] / 1e9,
                 "DRAM MB": (summary["dram_read_bytes"] + summary["dram_write_bytes"]) / 1e6,
                 "energy mJ": summary["energy_pj"] / 1e9})
    print(f"{summary['network']} batch {summary['batch']} on {summary['accelerator']} ({summary['array']}), "
          f"update={summary['update']['rule']}"
          + (f", backward={summary['update']['backward']}" if "backward" in summary["update"] else ""))
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    print(f"time {summary['time_s'] * 1e3:,.3f} ms at {summary['clock_ghz']} GHz, utilization "
          f"{summary['utilization']:.1%}, stalls {summary['stall_cycles'] / max(summary['total_cycles'], 1):.1%}")
    print("energy by component (mJ): " + ", ".join(f"{k} {v / 1e9:,.3f}" for k, v in summary["energy_breakdown_pj"].items()))
    print(f"wrote {out}/layers.csv and {out}/summary.json  ({wall_s:.2f} s)")


def execute(args) -> int:
    from asicsim.studies.step import simulate

    t0 = time.perf_counter()
    hw, net, batch = resolve_inputs(args)
    phases = parse_phases(args.phases)
    update = update_from_args(args, args.update, args.rank)
    from asicsim.workload.backward import check_backward
    check_backward(net, update.backward, field="--backward")
    out = Path(args.out) if args.out else Path("reports") / f"{net.name}_{hw.name}_b{batch}"
    result = simulate(hw, net, batch, update, phases, ideal_memory=args.ideal_memory)
    result.write(out)
    print_summary(result.summary, out, time.perf_counter() - t0)
    if args.report:
        from asicsim.report.write import write_report
        print(f"report: {write_report(out)}")
    return 0
