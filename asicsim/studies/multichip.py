"""Composition of one data-parallel training step on a multi-chip system.

single-chip step (`asicsim.studies.step.simulate_detail`: every op's simulated cycles) → payload
per layer (`asicsim.system.payload`) → compute timeline + buckets + fabric
(`asicsim.system.overlap`, `asicsim.system.fabric`) → energy → tables. Every chip runs the same
program on its own ``batch`` samples, so one chip's timeline stands for all (the fabric model
states where it uses that symmetry). With one chip there is no fabric and every single-chip
number is returned unchanged (the step's ``layers.csv`` and ``summary.json`` totals).

SBPCA on N > 1 chips also pays the local expansion of the gathered factors: per weighted layer a
GEMM of M = m, K = (N−1)·k, N = n (its output accumulates into the Ĝ tiles the update consumes,
as in the single-chip expand), mapped and simulated like every other op; its cycles join the
update phase and its energy the chip's.
"""
from __future__ import annotations

import pandas as pd

from asicsim.config.hardware import HardwareConfig
from asicsim.config.update import UpdateConfig
from asicsim.engine.energy import power_energy_pj
from asicsim.engine.mapping import map_step
from asicsim.engine.results import op_rows
from asicsim.engine.sim import simulate_ops
from asicsim.errors import InputError
from asicsim.studies.chip_step import (
    SystemResult,
    grad_bytes,
    single_chip,
    static_power_mw,
)
from asicsim.studies.resist import simulate_resist
from asicsim.studies.step import link_timing
from asicsim.system.config import SystemConfig, levels
from asicsim.system.overlap import BucketLayer, Task, Timeline, simulate_step
from asicsim.system.payload import bucket_key_bytes, network_payload
from asicsim.workload.lowering import PHASES, GemmOp, Lowered, Tensor, sbpca_pays, sbpca_rank
from asicsim.workload.network import ConvLayer, Network


def _stage(op) -> str:
    from asicsim.workload.lowering import VectorOp
    if op.phase == "forward":
        return "forward"
    if op.phase == "update":
        return "update"
    if isinstance(op, VectorOp) and op.kind == "psgd_orth":
        return "hook"
    if isinstance(op, GemmOp) and op.c.name.endswith(".psgd_Q"):
        return "hook"
    return "backward"


def sbpca_gather_ops(net: Network, update: UpdateConfig, chips: int, ab: int) -> list[GemmOp]:
    """The extra expansion GEMMs of the gathered factors of the other chips-1 chips."""
    ops = []
    for l in net.weighted_layers:
        m_total, n = l.weight_shape
        g = l.spec.groups if isinstance(l.spec, ConvLayer) else 1
        m = m_total // g
        if not sbpca_pays(update.rank, m, n, g):
            continue   # this layer's dense gradient is all-reduced (`sbpca_pays`)
        kk = (chips - 1) * sbpca_rank(update.rank, m, n)
        a = Tensor(f"{l.name}.sbpca_gathered_delta", m * kk, ab)
        b = Tensor(f"{l.name}.sbpca_gathered_x", n * kk, ab)
        c = Tensor(f"{l.name}.G", m * n, ab, on_chip_candidate=True)
        ops.append(GemmOp(l.name, "update", m, kk, n, a, b, c, g, fused_output=True))
    return ops


def _extra_compute(hw, net, batch, update, chips, ideal) -> pd.DataFrame | None:
    if update.rule != "sbpca" or chips == 1:
        return None
    lowered = Lowered(net.name, batch, tuple(sbpca_gather_ops(net, update, chips, hw.array.accumulator_bytes)))
    mapping = map_step(lowered, hw, ideal=ideal)
    return op_rows(mapping, simulate_ops(mapping.ops, link_timing(hw, ideal), slots=hw.tile_slots), hw)


def simulate_system(hw: HardwareConfig, net: Network, batch: int, update: UpdateConfig, system: SystemConfig,
                    ideal_memory: bool = False, execution=None) -> SystemResult:
    """One data-parallel step: ``batch`` samples per chip, ``system.chips`` chips. ``execution``:
    the execution spec of every chip's step (an `ExecutionConfig`; None = scalesim's convention)."""
    if update.rule == "resist":
        if execution is not None and not execution.is_default:
            raise InputError("the ResIST protocol runs with the scalesim execution spec", field="execution",
                             value=execution.name, allowed="scalesim")
        return simulate_resist(hw, net, batch, update, system, ideal_memory)
    step, lowered, ops = single_chip(hw, net, batch, update, ideal_memory, execution)
    ops = ops.assign(stage=[_stage(o) for o in lowered.ops])
    lv = levels(system)
    gb = grad_bytes(system, hw)
    payload = network_payload(net, update, gb)
    fwd = float(ops.loc[ops["stage"] == "forward", "total_cycles"].sum())
    bwd = ops[ops["stage"] == "backward"]
    tasks: list[Task] = []
    for layer, cyc in zip(bwd["layer"], bwd["total_cycles"]):
        if tasks and tasks[-1].layer == layer:
            tasks[-1] = Task(layer, tasks[-1].cycles + float(cyc))
        else:
            tasks.append(Task(layer, float(cyc)))
    hook = ops[ops["stage"] == "hook"].groupby("layer", sort=False)["total_cycles"].sum()
    extra = _extra_compute(hw, net, batch, update, system.chips, ideal_memory)
    extra_cycles = float(extra["total_cycles"].sum()) if extra is not None else 0.0
    upd = float(ops.loc[ops["stage"] == "update", "total_cycles"].sum()) + extra_cycles
    grads = {name: BucketLayer(name, p.allreduce_bytes, p.allgather_bytes, p.second_bytes,
                               bucket_key_bytes(p, update.rule), float(hook.get(name, 0.0)))
             for name, p in payload.items()}
    tl = simulate_step(lv, hw.array.clock_ghz, fwd, tasks, grads, upd, system.collective.bucket_mib * 2**20,
                       system.collective.chunks, system.collective.overlap)
    return _result(hw, net, batch, update, system, step, tl, payload, extra)


def _result(hw, net, batch, update, system, step, tl: Timeline, payload, extra) -> SystemResult:
    f = hw.array.clock_ghz
    brows, lrows = [], []
    for b in tl.buckets:
        wire = sum(l.wire_bytes for l in b.layers) or 1.0
        brows.append({"bucket": b.index, "layers": len(b.layers), "first_layer": b.layers[0].layer,
                      "last_layer": b.layers[-1].layer,
                      "allreduce_bytes": sum(l.allreduce_bytes for l in b.layers),
                      "allgather_bytes": sum(l.allgather_bytes for l in b.layers),
                      "second_bytes": sum(l.second_bytes for l in b.layers),
                      "launch_cycles": b.launch, "end_cycles": b.end, "comm_cycles": b.comm_cycles,
                      "exposed_cycles": b.exposed, "hidden_cycles": max(0.0, b.comm_cycles - b.exposed)})
        for l in b.layers:
            p = payload[l.layer]
            share = l.wire_bytes / wire
            lrows.append({"layer": l.layer, "bucket": b.index, "dense_grad_bytes": p.dense_grad_bytes,
                          "allreduce_bytes": p.allreduce_bytes, "allgather_bytes": p.allgather_bytes,
                          "second_bytes": p.second_bytes, "wire_bytes": p.wire_bytes,
                          "factor_values": p.factor_values, "exposed_cycles": b.exposed * share,
                          "hidden_cycles": max(0.0, b.comm_cycles - b.exposed) * share})
    link_pj = sum(d["link_energy_pj_per_chip"] for d in tl.per_level)
    idle_pj = power_energy_pj(static_power_mw(hw), tl.exposed_cycles, f)
    extra_pj = float(extra["energy_pj"].sum()) if extra is not None else 0.0
    extra_cyc = float(extra["total_cycles"].sum()) if extra is not None else 0.0
    chip_pj = step.summary["energy_pj"] + extra_pj + link_pj + idle_pj
    one_chip = step.summary["total_cycles"]
    compute = one_chip + extra_cyc            # = tl.compute_cycles, summed as the single-chip summary does
    step_cycles = compute + tl.exposed_cycles  # = tl.step_cycles (exact at one chip: no waits)
    sent = sum(d["bytes_sent_per_chip"] for d in tl.per_level)
    sysd = {
        "name": system.name, "chips": system.chips, "topology": system.topology,
        "levels": list(tl.per_level), "algorithm": system.collective.algorithm,
        "bucket_mib": system.collective.bucket_mib, "chunks": system.collective.chunks,
        "grad_bytes": grad_bytes(system, hw), "overlap": system.collective.overlap,
        "step_cycles": step_cycles, "step_time_s": step_cycles / hw.clock_hz,
        "compute_cycles": compute, "exposed_comm_cycles": tl.exposed_cycles,
        "comm_active_cycles": tl.comm_active_cycles,
        "hidden_comm_cycles": max(0.0, tl.comm_active_cycles - tl.exposed_cycles),
        "backward_end_cycles": tl.backward_end, "sync_end_cycles": tl.sync_end, "buckets": len(tl.buckets),
        "payload_bytes_per_chip": int(sum(p.wire_bytes for p in payload.values())),
        "dense_grad_bytes_per_chip": int(sum(p.dense_grad_bytes for p in payload.values())),
        "factor_values": int(sum(p.factor_values for p in payload.values())),
        "comm_bytes_sent_per_chip": sent, "system_comm_bytes": sent * system.chips,
        "extra_compute_cycles": extra_cyc, "extra_compute_energy_pj": extra_pj,
        "link_energy_pj_per_chip": link_pj, "idle_energy_pj_per_chip": idle_pj,
        "step_energy_pj_per_chip": chip_pj, "system_energy_pj": chip_pj * system.chips,
        "samples_per_s": system.chips * batch * hw.clock_hz / step_cycles,
        "scaling_efficiency": one_chip / step_cycles,
    }
    summary = {**step.summary, "system": sysd}
    return SystemResult(step, pd.DataFrame(brows), pd.DataFrame(lrows), summary)


def check_phases(phases) -> None:
    if tuple(phases) != PHASES:
        raise InputError("a multi-chip step needs every phase", field="--phases", value=",".join(phases),
                         allowed=",".join(PHASES))
