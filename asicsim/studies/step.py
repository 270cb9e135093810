"""Composition of one simulated training step: config → lowering → mapping → events → energy → results.

This module holds no formulas: each number comes from the stage module named in the pipeline.
"""
from __future__ import annotations

import math

import pandas as pd

from asicsim.config.execution import ExecutionConfig, as_execution, summary_entry
from asicsim.config.hardware import HardwareConfig
from asicsim.errors import InputError
from asicsim.config.update import UpdateConfig
from asicsim.engine.dram import BankedTiming, banked_timing
from asicsim.engine.epilogue import hide_epilogues
from asicsim.engine.mapping import map_step
from asicsim.engine.results import (
    StepResult,
    banked_summary,
    layer_table,
    op_rows,
    summarize,
)
from asicsim.engine.sim import LinkTiming, simulate_ops
from asicsim.engine.timeline import Recorder, timeline_table
from asicsim.workload.lowering import PHASES, Lowered
from asicsim.workload.network import Network
from asicsim.workload.rules import lower_training_step
from asicsim.workload.summary import network_table

TIMELINE_BARS = 4000   # timeline resolution: the step's cycles / this (report drawing only)


def link_timing(hw: HardwareConfig, ideal_memory: bool) -> LinkTiming | BankedTiming:
    if ideal_memory:
        return LinkTiming(math.inf, 0.0)
    if hw.dram.model == "banked":
        return banked_timing(hw.dram, hw.array.clock_ghz)
    return LinkTiming(hw.dram_bytes_per_cycle, hw.dram.latency_ns * hw.array.clock_ghz)


def widths(hw: HardwareConfig, ex: ExecutionConfig) -> tuple[int, int]:
    """(operand, accumulator) bytes of the lowering: the execution's compute and weight-gradient
    widths, or the accelerator's where the execution leaves them null."""
    pr = ex.precision
    ob = pr.compute_bits // 8 if pr.compute_bits else hw.array.operand_bytes
    ab = pr.weight_gradient_bits // 8 if pr.weight_gradient_bits else hw.array.accumulator_bytes
    return ob, ab


def memory_check(lowered: Lowered, hw: HardwareConfig, ex: ExecutionConfig, net: Network | None = None) -> dict:
    """The step's peak DRAM footprint against ``dram.capacity_gib`` (`asicsim.workload.footprint`).

    A step that does not fit is an `InputError` (exit 2) under ``memory.on_overflow: error``, or
    ``fits: false`` in the summary under ``report`` (a sweep row, not a failed sweep). Recorded at
    a non-default execution or when a capacity is given; at the default with no capacity nothing
    is added, so recorded summaries stay byte-identical."""
    cap_gib = hw.dram.capacity_gib
    if ex.is_default and cap_gib is None:
        return {}
    from asicsim.workload.footprint import step_footprint
    fp = step_footprint(lowered, net)
    out = {"footprint": fp.as_dict()}
    if cap_gib is not None:
        cap = int(cap_gib * 2 ** 30)
        out["dram_capacity_bytes"] = cap
        out["fits"] = fp.peak_bytes <= cap
        if not out["fits"] and ex.memory.on_overflow == "error":
            raise InputError(
                f"the step needs {fp.peak_bytes / 2 ** 30:.2f} GiB of DRAM at its peak ({fp.peak_layer}, "
                f"{fp.peak_phase}: weights {fp.weights_bytes / 2 ** 30:.2f}, optimizer state and master copies "
                f"{fp.optimizer_state_bytes / 2 ** 30:.2f}, stashed activations {fp.stash_bytes / 2 ** 30:.2f}, "
                f"workspace {fp.workspace_bytes / 2 ** 30:.2f} GiB) but the accelerator has {cap_gib:g} GiB",
                field="dram.capacity_gib", value=cap_gib,
                allowed="a smaller batch, recomputation (execution recompute), or memory.on_overflow: report")
    return out


def simulate(hw: HardwareConfig, net: Network, batch: int, update: UpdateConfig = UpdateConfig(),
             phases: tuple[str, ...] = PHASES, ideal_memory: bool = False, timeline: bool = False,
             execution: ExecutionConfig | str | None = None) -> StepResult:
    """Simulate one training step (restricted to ``phases``) of ``net`` at ``batch`` on ``hw``.

    ``ideal_memory``: unbounded SRAM and an infinitely fast DRAM link, so every GEMM is one tile
    and cycles are the array's alone (the SCALE-Sim-compatible compute count).
    ``timeline``: also record the busy intervals of the array, vector unit and DRAM link (for the
    run report). With the bandwidth model that is a second, step-by-step replay of the same ops:
    the numbers of the step always come from the memoised run, so recording changes none."""
    return simulate_detail(hw, net, batch, update, phases, ideal_memory, timeline, execution)[0]


def simulate_detail(hw: HardwareConfig, net: Network, batch: int, update: UpdateConfig = UpdateConfig(),
                    phases: tuple[str, ...] = PHASES, ideal_memory: bool = False,
                    timeline: bool = False, execution: ExecutionConfig | str | None = None
                    ) -> tuple[StepResult, Lowered, pd.DataFrame]:
    """`simulate`, also returning the lowered ops and one row per op (in program order, with its
    simulated cycles): what the multi-chip timeline (`asicsim.studies.multichip`) replays."""
    ex = as_execution(execution)
    ob, ab = widths(hw, ex)
    lowered = lower_training_step(net, batch, ob, ab, update, phases, ex)
    memory = memory_check(lowered, hw, ex, net)     # before the simulation: a step that cannot fit fails fast
    mapping = map_step(lowered, hw, ideal=ideal_memory, folds=(ex.folds.overlap, ex.folds.weight_preload))
    if ex.fusion.forward_epilogues:
        mapping = hide_epilogues(lowered, mapping)
    link = link_timing(hw, ideal_memory)
    banked = isinstance(link, BankedTiming)
    rec = Recorder() if timeline else None
    timings = simulate_ops(mapping.ops, link, rec if banked else None, hw.tile_slots)
    if timeline and not banked:
        simulate_ops(mapping.ops, link, rec, hw.tile_slots)
    ops = op_rows(mapping, timings, hw)
    table = layer_table(ops, hw)
    meta = {
        "accelerator": hw.name, "network": net.name, "batch": batch, "phases_run": list(phases),
        "ideal_memory": ideal_memory, "update": update.model_dump(), "residency_plan": mapping.plan.name,
        "array": f"{hw.array.rows}x{hw.array.cols} {hw.array.dataflow}",
        **summary_entry(ex),
    }
    if not ex.is_default:
        from asicsim.workload.fusion import stash_bytes
        meta["stash_bytes"] = stash_bytes(lowered)
    meta.update(memory)
    summary = summarize(table, hw, meta)
    if banked:
        summary["dram_banked"] = banked_summary(timings, mapping, link)
    frames = None
    if rec is not None:
        span = timings[-1].end if timings else 0.0
        frames = timeline_table(rec, [o.layer for o in mapping.ops], [o.phase for o in mapping.ops],
                                span / TIMELINE_BARS)
    return StepResult(table, summary, network=network_table(net), timeline=frames), lowered, ops
