"""``asicsim run``: simulate one training step (or chosen phases) and write layers.csv + summary.json.

With no network/accelerator arguments it runs the default study (ResNet-18, batch 32, ``edge``).
Without ``--out`` it writes to ``out/<network>_<accelerator>_b<batch>/`` under the working directory
(``out/`` is untracked, so a run never rewrites a committed report; ``make study`` writes the
committed record ``reports/resnet18_edge_b32/`` with an explicit ``--out``).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from asicsim.config.hardware import hardware_from_dict, load_hardware, load_hardware_dict
from asicsim.config.update import UpdateConfig
from asicsim.errors import InputError, blame_file
from asicsim.outputs import output_dir
from asicsim.workload.lowering import PHASES
from asicsim.workload.network import load_network

DEFAULT = {"network": "resnet18", "accelerator": "edge", "batch": 32}
RANKED_RULES = ("sbpca", "sketch", "powersgd")   # the rules --rank applies to
DEFAULT_RANK = 4
SBPCA_DEFAULTS = {"sub_batch": 32, "projections": "array", "apply": "digital"}   # options only SBPCA reads


def resolve_rank(rule: str, rank: int | None) -> tuple[int, str]:
    """(rank, how it was set) for ``run``. Decision: ``--rank`` given with a rule that has no rank
    (``full``, ``resist``) is an input error (exit 2) rather than silently ignored; a ranked rule
    without ``--rank`` uses 4 and the run header says so ("rank 4 (default)"). Rules without a
    rank still carry 4 in the update config, so their summary.json is unchanged."""
    if rank is not None and rule not in RANKED_RULES:
        raise InputError(f"--update {rule} has no rank; --rank applies to {', '.join(RANKED_RULES)}",
                         field="--rank", value=rank, allowed=f"--update {'|'.join(RANKED_RULES)} --rank K")
    return (DEFAULT_RANK, "default") if rank is None else (rank, "--rank")


def parse_phases(text: str) -> tuple[str, ...]:
    phases = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in phases if p not in PHASES]
    if bad or not phases:
        raise InputError("unknown phase", field="--phases", value=text, allowed=",".join(PHASES))
    return tuple(p for p in PHASES if p in phases)


def add_update_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--momentum", nargs="?", type=float, const=0.9, default=0.0, metavar="M",
                   help="SGD momentum (flag alone: 0.9)")
    p.add_argument("--sub-batch", type=int, default=None,
                   help=f"SBPCA sub-batch size s (pairs) (default: {SBPCA_DEFAULTS['sub_batch']})")
    p.add_argument("--projections", choices=["array", "vector"], default=None,
                   help=f"where SBPCA's skinny projections run (default: {SBPCA_DEFAULTS['projections']})")
    p.add_argument("--apply", choices=["digital", "crossbar"], default=None,
                   help="SBPCA update: expand Ĝ digitally or pulse an in-memory crossbar "
                        f"(default: {SBPCA_DEFAULTS['apply']})")
    p.add_argument("--backward", choices=["bp", "dfa", "bdfa", "hybrid"], default="bp",
                   help="how the error reaches each layer: backprop, direct feedback alignment, binary DFA, "
                        "BP for conv + DFA for FC layers")
    p.add_argument("--sketch-method", choices=["auto", "fwht", "rows"], default="auto",
                   help="how the sketch rule forms its SRHT (auto: fewer additions)")


def check_sbpca_options(args, rule: str) -> None:
    """Decision, as for ``--rank``: an SBPCA-only option (``--sub-batch``, ``--projections``,
    ``--apply``) given with another rule is an input error (exit 2), not silently ignored."""
    given = [name for name in SBPCA_DEFAULTS if getattr(args, name, None) is not None]
    if given and rule != "sbpca":
        flag = "--" + given[0].replace("_", "-")
        raise InputError(f"{flag} is an SBPCA option; --update {rule} does not use it", field=flag,
                         value=getattr(args, given[0]), allowed=f"--update sbpca {flag} ...")


def sbpca_option(args, name: str):
    """The option's value, or its default when not given (see `SBPCA_DEFAULTS`)."""
    value = getattr(args, name, None)
    return SBPCA_DEFAULTS[name] if value is None else value


def update_from_args(args, rule: str, rank: int) -> UpdateConfig:
    from asicsim.errors import validated
    return validated(UpdateConfig, dict(rule=rule, momentum=args.momentum, rank=rank,
                                        sub_batch=sbpca_option(args, "sub_batch"),
                                        projections=sbpca_option(args, "projections"),
                                        apply=sbpca_option(args, "apply"),
                                        backward=getattr(args, "backward", "bp"),
                                        sketch_method=getattr(args, "sketch_method", "auto")), "<command line>")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--accelerator", help="preset name (models/accelerators) or YAML file [edge]")
    p.add_argument("--network", help="preset name (models/networks), YAML file or .onnx file [resnet18]")
    p.add_argument("--batch", type=int, help="mini-batch size B [32; 1 with --topology]")
    p.add_argument("--update", choices=["full", "sbpca", "sketch", "powersgd", "resist"], default="full",
                   help="weight-update rule (powersgd, resist: see README 'Data-parallel training')")
    p.add_argument("--rank", type=int, default=None,
                   help=f"SBPCA rank k / sketch rows k / PowerSGD rank r (default: {DEFAULT_RANK}, shown in the run "
                        "header; an error with --update full|resist)")
    add_update_arguments(p)
    p.add_argument("--execution", default="scalesim", metavar="FILE|PRESET",
                   help="execution spec: preset (models/executions: scalesim, realistic) or YAML file [scalesim]")
    p.add_argument("--phases", default=",".join(PHASES), help="comma list of " + ",".join(PHASES))
    p.add_argument("--ideal-memory", action="store_true",
                   help="unbounded SRAM, infinitely fast DRAM: array cycles only (SCALE-Sim compute count)")
    p.add_argument("--scalesim-config", metavar="CFG", help="SCALE-Sim .cfg (array, dataflow, SRAM sizes)")
    p.add_argument("--dataflow", choices=["ws", "os", "is", "rs"], help="override the accelerator's dataflow")
    p.add_argument("--topology", metavar="CSV", help="SCALE-Sim topology CSV instead of --network")
    p.add_argument("--gemm", action="store_true", help="--topology is in SCALE-Sim's GEMM (M,N,K) format")
    p.add_argument("--out", help="output folder [out/<network>_<accelerator>_b<batch>]")
    p.add_argument("--report", action="store_true", help="also write report.md + index.html with figures")
    add_system_arguments(p)


def add_system_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--system", metavar="FILE|PRESET",
                   help="multi-chip system (models/systems): data-parallel step, --batch per chip")
    p.add_argument("--chips", type=int, help="override the system's chip count")


def system_from_args(args):
    """The SystemConfig of --system/--chips, or None for a single-chip run."""
    if getattr(args, "system", None) is None:
        if getattr(args, "chips", None) is not None:
            raise InputError("--chips needs --system", field="--chips", value=args.chips,
                             allowed="a preset in models/systems or a system YAML file")
        return None
    from asicsim.system.config import load_system
    if args.chips is not None and args.chips <= 0:
        raise InputError("must be a positive integer", field="--chips", value=args.chips, allowed="1, 2, …")
    return load_system(args.system, chips=args.chips)


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
    if getattr(args, "dataflow", None) and args.scalesim_config:
        hw = hw.model_copy(update={"array": hw.array.model_copy(update={"dataflow": args.dataflow})})
    elif getattr(args, "dataflow", None):
        # re-validated from the file with the new dataflow, so its defaults (the register energy
        # per MAC: pipeline registers, or a row-stationary PE's scratch pads) follow the dataflow
        data, file = load_hardware_dict(args.accelerator or DEFAULT["accelerator"])
        if isinstance(data, dict) and isinstance(data.get("array"), dict):
            data = {**data, "array": {**data["array"], "dataflow": args.dataflow}}
        hw = hardware_from_dict(data, file)
    net = load_topology(args.topology, gemm=args.gemm) if args.topology else load_network(args.network or DEFAULT["network"])
    batch = args.batch if args.batch is not None else (1 if args.topology else DEFAULT["batch"])
    if batch <= 0:
        raise InputError("must be a positive integer", field="--batch", value=batch, allowed="1, 2, …")
    return hw, net, batch


def update_header(upd: dict, rank_source: str = "--rank") -> str:
    """The update rule as the run header prints it: every setting that changes the numbers
    (rank and whether it was defaulted, SBPCA's sub-batch, momentum, backward rule)."""
    rule = upd["rule"]
    text = f"update={rule}"
    if rule in RANKED_RULES:
        text += f" rank {upd['rank']}" + (" (default)" if rank_source == "default" else "")
    if rule == "sbpca":
        text += f", sub-batch {upd['sub_batch']} pairs, projections on {upd['projections']}, apply {upd['apply']}"
    text += f", momentum {upd['momentum']:g}"
    if "backward" in upd:
        text += f", backward={upd['backward']}"
    return text


def execution_header(ex: dict) -> str:
    """The execution as the run header prints it (always, the default ``scalesim`` included)."""
    if not ex:
        return "scalesim (SCALE-Sim convention: unfused, folds back to back, SGD, accelerator widths)"
    f, fo, o, p = ex["fusion"], ex["folds"], ex["optimizer"], ex["precision"]
    fused = ", ".join(k for k, on in (("forward epilogues", f["forward_epilogues"]), ("backward", f["backward"])) if on)
    folds = ", ".join(k for k, on in (("overlapped", fo["overlap"]), ("weight preload", fo["weight_preload"])) if on)
    bits = lambda v: f"{v}b" if v else "hw"
    return (f"{ex['name']} (fusion: {fused or 'none'}, BN stats {f['bn_statistics']}; folds: {folds or 'back to back'}; "
            f"optimizer {o['kind']}; compute {bits(p['compute_bits'])}, master {bits(p['master_weight_bits'])}, "
            f"state {bits(p['optimizer_state_bits'])}, loss scaling {p['loss_scaling']})")


def print_summary(summary: dict, out: Path, wall_s: float, rank_source: str = "--rank") -> None:
    import pandas as pd

    rows = [{"phase": ph, "Mcycles": v["cycles"] / 1e6, "GMAC": v["macs"] / 1e9,
             "DRAM MB": v["dram_bytes"] / 1e6, "energy mJ": v["energy_pj"] / 1e9}
            for ph, v in summary["phases"].items()]
    rows.append({"phase": "total", "Mcycles": summary["total_cycles"] / 1e6, "GMAC": summary["macs"] / 1e9,
                 "DRAM MB": (summary["dram_read_bytes"] + summary["dram_write_bytes"]) / 1e6,
                 "energy mJ": summary["energy_pj"] / 1e9})
    print(f"{summary['network']} batch {summary['batch']} on {summary['accelerator']} ({summary['array']}), "
          + update_header(summary["update"], rank_source))
    ex = summary.get("execution") or {}
    print(f"execution: {execution_header(ex)}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    print(f"time {summary['time_s'] * 1e3:,.3f} ms at {summary['clock_ghz']} GHz, utilization "
          f"{summary['utilization']:.1%}, stalls {summary['stall_cycles'] / max(summary['total_cycles'], 1):.1%}")
    b = summary.get("dram_banked")
    if b:
        print(f"DRAM banked: {b['activates']:,} row activations, row-hit rate {b['row_hit_rate']:.1%}")
    fp = summary.get("footprint")
    if fp:
        cap = summary.get("dram_capacity_bytes")
        fit = (f" of {cap / 2 ** 30:g} GiB: {'fits' if summary['fits'] else 'DOES NOT FIT'}") if cap else ""
        print(f"DRAM footprint at peak {fp['peak_bytes'] / 2 ** 30:.3f} GiB{fit} (weights {fp['weights_bytes'] / 2 ** 20:,.1f}"
              f" MiB, optimizer state + master {fp['optimizer_state_bytes'] / 2 ** 20:,.1f} MiB, stash "
              f"{fp['stash_bytes'] / 2 ** 20:,.1f} MiB, workspace {fp['workspace_bytes'] / 2 ** 20:,.1f} MiB; "
              f"at {fp['peak_layer']} {fp['peak_phase']})")
    print("energy by component (mJ): " + ", ".join(f"{k} {v / 1e9:,.3f}" for k, v in summary["energy_breakdown_pj"].items()))
    print(f"wrote {out}/layers.csv and {out}/summary.json  ({wall_s:.2f} s)")


def execute(args) -> int:
    from asicsim.studies.step import simulate

    t0 = time.perf_counter()
    hw, net, batch = resolve_inputs(args)
    phases = parse_phases(args.phases)
    rank, rank_source = resolve_rank(args.update, args.rank)
    check_sbpca_options(args, args.update)
    update = update_from_args(args, args.update, rank)
    from asicsim.workload.backward import check_backward
    check_backward(net, update.backward, field="--backward")
    system = system_from_args(args)
    from asicsim.config.execution import load_execution
    execution = load_execution(args.execution)
    if system is None and update.rule == "resist":
        raise InputError("the ResIST protocol is multi-chip", field="--update", value="resist",
                         allowed="--update resist with --system FILE|PRESET")
    suffix = f"_{system.name}_x{system.chips}" if system is not None else ""
    out = output_dir(Path(args.out) if args.out else Path("out") / f"{net.name}_{hw.name}_b{batch}{suffix}",
                     create=False)
    try:
        if system is not None:
            from asicsim.studies.multichip import check_phases, simulate_system
            check_phases(phases)
            result = simulate_system(hw, net, batch, update, system, ideal_memory=args.ideal_memory,
                                     execution=execution)
        else:
            result = simulate(hw, net, batch, update, phases, ideal_memory=args.ideal_memory, timeline=True,
                              execution=execution)
    except InputError as exc:   # e.g. no tiling fits the SRAM: say which accelerator file that is
        raise blame_file(exc, args.accelerator or args.scalesim_config) from None
    result.write(out)
    print_summary(result.summary, out, time.perf_counter() - t0, rank_source)
    if system is not None:
        from asicsim.cli.system_print import print_system
        print_system(result.summary["system"], out, resized=args.chips is not None)
    if args.report:
        from asicsim.report.write import write_report
        print(f"report: {write_report(out)}")
    return 0
