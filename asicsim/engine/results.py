"""Results: per-op counts, timings and energies → the layer×phase table and the summary totals.

Table columns (``layers.csv``): layer, phase, m, k, n (of the phase's main GEMM; 0 for vector-only
work), macs, vector_ops, compute_cycles (cycles the array/vector unit worked), stall_cycles,
total_cycles (simulated wall cycles of the phase's ops), utilization (macs / (total_cycles · R·C)),
sram_read_bytes, sram_write_bytes, dram_read_bytes, dram_write_bytes, energy_pj,
energy_<component>_pj, tiling; on a chip whose weights go from DRAM straight into the PE pads (a
filter buffer with ``retains: false``) also pad_fill_bytes (those weight bytes, part of the DRAM
reads: the array waits for them).

Next to them a run folder holds ``network.csv`` (the layer table, `asicsim.workload.summary`) and
``timeline.csv`` (busy intervals of array, vector unit and DRAM link, `asicsim.engine.timeline`);
with ``dram.model: banked`` summary.json also gets ``dram_banked`` (activates, bursts, row-hit rate,
channel geometry).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from asicsim.config.hardware import HardwareConfig
from asicsim.engine.dram import BankedTiming
from asicsim.engine.energy import components, op_energy_pj
from asicsim.engine.mapped import Mapping
from asicsim.engine.sim import OpTiming
from asicsim.outputs import output_dir, write_csv, write_json

BASE_COLUMNS = ["layer", "phase", "m", "k", "n", "macs", "vector_ops", "compute_cycles", "stall_cycles",
                "total_cycles", "utilization", "sram_read_bytes", "sram_write_bytes", "dram_read_bytes",
                "dram_write_bytes", "energy_pj"]


@dataclass(frozen=True)
class StepResult:
    """One simulated training step (or the chosen phases): per layer×phase table + totals."""
    layers: pd.DataFrame
    summary: dict
    network: pd.DataFrame | None = None      # layer table (name, type, shapes, params, MACs)
    timeline: pd.DataFrame | None = None     # busy intervals (layer, phase, resource, start, end, busy)

    def write(self, out_dir: str | Path) -> Path:
        out = output_dir(out_dir)
        write_csv(out / "layers.csv", self.layers)
        if self.network is not None:
            write_csv(out / "network.csv", self.network)
        if self.timeline is not None:
            write_csv(out / "timeline.csv", self.timeline)
        write_json(out / "summary.json", self.summary)   # last: its presence means the run finished
        return out

    @property
    def total_cycles(self) -> float:
        """Simulated cycles of the step (sum over layer×phase rows), as in summary.json."""
        return self.summary["total_cycles"]

    @property
    def time_s(self) -> float:
        return self.summary["time_s"]

    @property
    def energy_pj(self) -> float:
        """Total energy of the step (pJ), the sum of `energy_breakdown_pj`."""
        return self.summary["energy_pj"]

    @property
    def energy_breakdown_pj(self) -> dict[str, float]:
        """Energy per component (mac, array_reg, vector, each SRAM, dram, leakage…), pJ."""
        return self.summary["energy_breakdown_pj"]

    @property
    def dram_bytes(self) -> int:
        return self.summary["dram_read_bytes"] + self.summary["dram_write_bytes"]

    @property
    def phases(self) -> dict[str, dict]:
        """Per-phase totals: cycles, energy_pj, dram_bytes, macs."""
        return self.summary["phases"]


def op_rows(mapping: Mapping, timings: list[OpTiming], hw: HardwareConfig) -> pd.DataFrame:
    """One row per mapped op with its counts, timing and energy."""
    comps = components(hw)
    rows = []
    for mo, t in zip(mapping.ops, timings):
        e = op_energy_pj(mo, t.total, hw, t.dram_activates)
        row = {
            "layer": mo.layer, "phase": mo.phase, "unit": mo.unit, "kind": mo.kind,
            "m": mo.m, "k": mo.k, "n": mo.n, "macs": mo.macs, "vector_ops": mo.vector_ops,
            "compute_cycles": t.busy, "total_cycles": t.total,
            "sram_read_bytes": sum(mo.sram_read_bytes.values()),
            "sram_write_bytes": sum(mo.sram_write_bytes.values()),
            "dram_read_bytes": mo.dram_read_bytes, "dram_write_bytes": mo.dram_write_bytes,
            "tiling": mo.tiling if mo.unit == "array" else "",
            "pad_fill_bytes": mo.pad_fill_bytes,
        }
        for c in comps:
            row[f"energy_{c}_pj"] = e[c]
        row["energy_pj"] = sum(e[c] for c in comps)
        rows.append(row)
    return pd.DataFrame(rows)


def layer_table(ops: pd.DataFrame, hw: HardwareConfig) -> pd.DataFrame:
    """Aggregate op rows to one row per (layer, phase), in execution order."""
    ecols = [c for c in ops.columns if c.startswith("energy_")]
    sums = ["macs", "vector_ops", "compute_cycles", "total_cycles", "sram_read_bytes", "sram_write_bytes",
            "dram_read_bytes", "dram_write_bytes", "pad_fill_bytes"] + ecols
    gemm_first = ops[ops["unit"] == "array"].groupby(["layer", "phase"], sort=False)[["m", "k", "n", "tiling"]].first()
    agg = ops.groupby(["layer", "phase"], sort=False)[sums].sum()
    agg = agg.join(gemm_first, how="left")
    for c in ("m", "k", "n"):
        agg[c] = agg[c].fillna(0).astype("int64")
    agg["tiling"] = agg["tiling"].fillna("")
    agg["stall_cycles"] = (agg["total_cycles"] - agg["compute_cycles"]).clip(lower=0)
    peak = hw.peak_macs_per_cycle
    agg["utilization"] = agg["macs"] / (agg["total_cycles"].where(agg["total_cycles"] > 0) * peak)
    agg["utilization"] = agg["utilization"].fillna(0.0)
    agg = agg.reset_index()
    comp_cols = [c for c in ecols if c != "energy_pj"]
    pads = ["pad_fill_bytes"] if hw.weights_streamed else []
    return agg[BASE_COLUMNS + comp_cols + ["tiling"] + pads]


def summarize(table: pd.DataFrame, hw: HardwareConfig, meta: dict) -> dict:
    """Totals of a layer table, as written to summary.json."""
    comp_cols = [c for c in table.columns if c.startswith("energy_") and c != "energy_pj"]
    total_cycles = float(table["total_cycles"].sum())
    phases = {}
    for ph, g in table.groupby("phase", sort=False):
        phases[ph] = {"cycles": float(g["total_cycles"].sum()), "energy_pj": float(g["energy_pj"].sum()),
                      "dram_bytes": int(g["dram_read_bytes"].sum() + g["dram_write_bytes"].sum()),
                      "macs": int(g["macs"].sum())}
    macs = int(table["macs"].sum())
    return {
        **meta,
        "total_cycles": total_cycles,
        "compute_cycles": float(table["compute_cycles"].sum()),
        "stall_cycles": float(table["stall_cycles"].sum()),
        "time_s": total_cycles / hw.clock_hz,
        "macs": macs,
        "utilization": macs / (total_cycles * hw.peak_macs_per_cycle) if total_cycles else 0.0,
        "dram_read_bytes": int(table["dram_read_bytes"].sum()),
        "dram_write_bytes": int(table["dram_write_bytes"].sum()),
        "sram_read_bytes": int(table["sram_read_bytes"].sum()),
        "sram_write_bytes": int(table["sram_write_bytes"].sum()),
        "energy_pj": float(table["energy_pj"].sum()),
        "energy_breakdown_pj": {c[len("energy_"):-len("_pj")]: float(table[c].sum()) for c in comp_cols},
        "phases": phases,
        "peak_macs_per_cycle": hw.peak_macs_per_cycle,
        "dram_bytes_per_cycle": hw.dram_bytes_per_cycle,
        "clock_ghz": hw.array.clock_ghz,
    }


def banked_summary(timings: list[OpTiming], mapping: Mapping, link: BankedTiming) -> dict:
    """Banked-DRAM totals: activates, bursts moved (every transfer starts burst-aligned, so a
    transfer of b bytes is ⌈b / burst⌉ bursts), row-hit rate (1 − activates / bursts), geometry."""
    acts = sum(t.dram_activates for t in timings)
    nbytes = sum(o.dram_read_bytes + o.dram_write_bytes for o in mapping.ops)
    bursts = sum(-(-s.load_bytes // link.burst_bytes) * s.count + -(-s.write_bytes // link.burst_bytes) * s.count
                 for o in mapping.ops for s in o.steps)
    return {"activates": acts, "bursts": bursts, "row_hit_rate": 1 - acts / bursts if bursts else 0.0,
            "channels": link.channels, "banks": link.banks, "row_bytes": link.row_bytes,
            "peak_bytes_per_cycle": link.peak_bytes_per_time, "dram_bytes": nbytes}
