"""Composition of one simulated training step: config → lowering → mapping → events → energy → results.

This module holds no formulas: each number comes from the stage module named in the pipeline.
"""
from __future__ import annotations

import math

from asicsim.config.hardware import HardwareConfig
from asicsim.config.update import UpdateConfig
from asicsim.engine.mapping import map_step
from asicsim.engine.results import StepResult, layer_table, op_rows, summarize
from asicsim.engine.sim import LinkTiming, simulate_ops
from asicsim.workload.lowering import PHASES
from asicsim.workload.rules import lower_training_step
from asicsim.workload.network import Network


def link_timing(hw: HardwareConfig, ideal_memory: bool) -> LinkTiming:
    if ideal_memory:
        return LinkTiming(math.inf, 0.0)
    return LinkTiming(hw.dram_bytes_per_cycle, hw.dram.latency_ns * hw.array.clock_ghz)


def simulate(hw: HardwareConfig, net: Network, batch: int, update: UpdateConfig = UpdateConfig(),
             phases: tuple[str, ...] = PHASES, ideal_memory: bool = False) -> StepResult:
    """Simulate one training step (restricted to ``phases``) of ``net`` at ``batch`` on ``hw``.

    ``ideal_memory``: unbounded SRAM and an infinitely fast DRAM link, so every GEMM is one tile
    and cycles are the array's alone (the SCALE-Sim-compatible compute count)."""
    lowered = lower_training_step(net, batch, hw.array.operand_bytes, hw.array.accumulator_bytes, update, phases)
    mapping = map_step(lowered, hw, ideal=ideal_memory)
    timings = simulate_ops(mapping.ops, link_timing(hw, ideal_memory))
    ops = op_rows(mapping, timings, hw)
    table = layer_table(ops, hw)
    meta = {
        "accelerator": hw.name, "network": net.name, "batch": batch, "phases_run": list(phases),
        "ideal_memory": ideal_memory, "update": update.model_dump(), "residency_plan": mapping.plan.name,
        "array": f"{hw.array.rows}x{hw.array.cols} {hw.array.dataflow}",
    }
    return StepResult(table, summarize(table, hw, meta))
