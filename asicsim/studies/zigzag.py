"""Energy cross-check against ZigZag 3.9.1: the same network and hardware on both tools, compared
per energy level, in total and in cycles (`benchmarks/zigzag_validation.py` writes the record).

ZigZag's result JSON (`tests/data/zigzag/result_*.json`) gives energy per memory level and operand,
MAC energy and latency per layer; it models the conv/GEMM layers only. asicsim's side is one
forward pass at batch 1 on ``models/accelerators/zigzag_tpu_like.yaml`` (ZigZag's per-access
energies in asicsim's units), split into the array's GEMM ops — what ZigZag models — and the
vector-unit work asicsim adds (bias, ReLU, pooling, residual adds, each a pass through DRAM).

Level correspondence (ZigZag → asicsim component):
``MAC`` → ``mac``; ``rf_128B`` (weight registers) + ``rf_2B`` (psum registers) → ``array_reg``
(per-MAC register traffic) + ``sram_weights`` (fills of the weight registers); ``sram_2MB`` →
``sram_global``; ``dram`` → ``dram``. ZigZag's DRAM words are 64 bit (its port width), so bytes
= 8 × words. All energies in pJ.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from asicsim.config.hardware import HardwareConfig
from asicsim.engine.mapping import map_step
from asicsim.engine.results import op_rows
from asicsim.engine.sim import simulate_ops
from asicsim.studies.step import link_timing
from asicsim.workload.lowering import lower_step
from asicsim.workload.network import Network

LEVELS = ("mac", "registers", "sram", "dram")
ZZ_LEVELS = {"registers": ("rf_128B", "rf_2B"), "sram": ("sram_2MB",), "dram": ("dram",)}
ASICSIM_LEVELS = {"mac": ("mac",), "registers": ("array_reg", "sram_weights"), "sram": ("sram_global",),
                  "dram": ("dram",)}
DRAM_WORD_BYTES = 8     # tpu_like's DRAM port: 64 bit per access
SRAM_WORD_BYTES = 256   # tpu_like's sram_2MB ports: 2048 bit per access
_MOVE = re.compile(r"rd \S+: (\d+), wr \S+: (\d+), rd \S+: (\d+), wr \S+: (\d+)")


@dataclass(frozen=True)
class Side:
    """One tool's totals: energy per level, total energy, cycles, DRAM bytes, and per layer."""
    energy_pj: dict[str, float]
    total_pj: float
    cycles: float
    compute_cycles: float                    # asicsim: busy cycles of the units; ZigZag: ideal cycles
    dram_read_bytes: int
    dram_write_bytes: int
    sram_read_bytes: int                     # the I/O buffer (ZigZag's sram_2MB, asicsim's `global`)
    sram_write_bytes: int
    # layer → (energy pJ, cycles, compute cycles (ZigZag: ideal), DRAM read bytes, DRAM write bytes)
    layers: dict[str, tuple[float, float, float, int, int]]


def layer_key(name: str) -> str:
    """ZigZag's ONNX node name (``/layer1/layer1.0/conv1/Conv``) as asicsim's ONNX layer name."""
    from asicsim.workload.onnx_import import _layer_name
    return _layer_name(name, name.rsplit("/", 1)[-1].split("_")[0]) or name


def zigzag_side(result: dict) -> Side:
    """Totals of a ZigZag 3.9.1 result JSON (``energy_total_pJ``, ``mem_energy_by_memory_pJ``, …)."""
    mem = result["mem_energy_by_memory_pJ"]
    e = {"mac": float(result["mac_energy_pJ"])}
    for lvl, names in ZZ_LEVELS.items():
        e[lvl] = float(sum(mem.get(n, 0.0) for n in names))
    rd = wr = s_rd = s_wr = 0
    layers = {}
    for layer in result["layers"]:
        l_rd = l_wr = 0
        for operand, moves in layer["mem_word_access"].items():
            counts = [tuple(map(int, m.groups())) for m in map(_MOVE.search, moves) if m]
            r_up, w_down, r_down, w_up = counts[-1]     # the last level of every operand is the DRAM
            l_rd += (r_up + r_down) * DRAM_WORD_BYTES
            l_wr += (w_up + w_down) * DRAM_WORD_BYTES
            if operand in ("I", "O"):                  # I and O pass through sram_2MB (2048-bit words)
                r_up, w_down, r_down, w_up = counts[-2]
                s_rd += (r_up + r_down) * SRAM_WORD_BYTES
                s_wr += (w_up + w_down) * SRAM_WORD_BYTES
        rd, wr = rd + l_rd, wr + l_wr
        layers[layer_key(layer["layer"])] = (float(layer["energy_pJ"]), float(layer["latency_cycles"]),
                                             float(layer["ideal_cycles"]), l_rd, l_wr)
    ideal = float(sum(l["ideal_cycles"] for l in result["layers"]))
    return Side(e, float(result["energy_total_pJ"]), float(result["latency_total_cycles"]), ideal, rd, wr,
                s_rd, s_wr, layers)


def asicsim_sides(hw: HardwareConfig, net: Network, batch: int = 1, execution=None) -> tuple[Side, Side]:
    """(array GEMM ops only, the whole forward pass) of ``net`` on ``hw``: energy per level as
    ZigZag names them, cycles from the event simulation, DRAM bytes and per-layer GEMM totals.
    ``execution``: an execution spec (`asicsim.config.execution`) whose fusion and fold schedule
    apply (None = scalesim). The widths stay the accelerator's (ZigZag's workload is int8 with
    16-bit partial sums) and a forward pass alone stashes nothing (an inference comparison)."""
    from asicsim.config.execution import as_execution
    from asicsim.workload.fusion import fuse
    ex = as_execution(execution)
    lowered = lower_step(net, batch, hw.array.operand_bytes, hw.array.accumulator_bytes, phases=("forward",))
    if not ex.is_default:
        lowered = fuse(lowered, ex.fusion)
    mapping = map_step(lowered, hw, folds=(ex.folds.overlap, ex.folds.weight_preload))
    if ex.fusion.forward_epilogues:
        from asicsim.engine.epilogue import hide_epilogues
        mapping = hide_epilogues(lowered, mapping)
    ops = op_rows(mapping, simulate_ops(mapping.ops, link_timing(hw, False), slots=hw.tile_slots), hw)
    ops["global_read"] = [mo.sram_read_bytes.get("global", 0) for mo in mapping.ops]
    ops["global_write"] = [mo.sram_write_bytes.get("global", 0) for mo in mapping.ops]

    def side(df) -> Side:
        e = {lvl: float(sum(df[f"energy_{c}_pj"].sum() for c in comps if f"energy_{c}_pj" in df))
             for lvl, comps in ASICSIM_LEVELS.items()}
        other = [c for c in df.columns if c.startswith("energy_") and c != "energy_pj"
                 and c[len("energy_"):-len("_pj")] not in sum(ASICSIM_LEVELS.values(), ())]
        e["other"] = float(df[other].sum().sum())   # vector unit, static: 0 on tpu_like
        per = df.groupby("layer", sort=False)[["energy_pj", "total_cycles", "compute_cycles", "dram_read_bytes",
                                               "dram_write_bytes"]].sum()
        return Side(e, float(df["energy_pj"].sum()), float(df["total_cycles"].sum()), float(df["compute_cycles"].sum()),
                    int(df["dram_read_bytes"].sum()), int(df["dram_write_bytes"].sum()),
                    int(df["global_read"].sum()), int(df["global_write"].sum()),
                    {k: (float(v.energy_pj), float(v.total_cycles), float(v.compute_cycles), int(v.dram_read_bytes),
                         int(v.dram_write_bytes)) for k, v in per.iterrows()})

    return side(ops[ops["unit"] == "array"]), side(ops)


def as_dict(s: Side) -> dict:
    return {"energy_pj": s.energy_pj, "total_pj": s.total_pj, "cycles": s.cycles, "compute_cycles": s.compute_cycles,
            "dram_read_bytes": s.dram_read_bytes, "dram_write_bytes": s.dram_write_bytes,
            "sram_read_bytes": s.sram_read_bytes, "sram_write_bytes": s.sram_write_bytes,
            "layers": {k: list(v) for k, v in s.layers.items()}}
