"""Energy: access counts × per-access energies + static power × time (pure functions, pJ).

Components: ``mac`` (MAC operations), ``array_reg`` (operand/partial-sum registers in the PEs),
``vector`` (vector-unit element ops; ``mac`` also holds
the array's multiply-free ±1 additions, `array_add_pj`), ``sram_<buffer>`` (reads + writes + that buffer's leakage),
``dram`` (bits moved × pJ/bit + background power of every channel), ``static`` (array and vector
unit leakage), ``crossbar`` (cell programming pulses, when the accelerator has a crossbar). Power × time: P[mW] × cycles / f[GHz] = pJ.
"""
from __future__ import annotations

from asicsim.config.hardware import HardwareConfig
from asicsim.engine.mapped import MappedOp


def power_energy_pj(power_mw: float, cycles: float, clock_ghz: float) -> float:
    """Energy (pJ) of a constant power (mW) over a number of clock cycles."""
    return power_mw * cycles / clock_ghz


def components(hw: HardwareConfig) -> list[str]:
    extra = ["crossbar"] if hw.crossbar is not None else []
    return ["mac", "array_reg", "vector"] + [f"sram_{b}" for b in hw.sram] + ["dram", "static"] + extra


def array_add_pj(hw: HardwareConfig) -> float:
    """Energy (pJ) of one PE addition without a multiply (±1 operand): the accumulate add of
    `asicsim.config.hardware.default_mac_pj` at the array's widths [H14: int8 0.03, int32 0.1,
    fp16 0.4, fp32 0.9 pJ]."""
    a = hw.array
    if a.operand_bits <= 8:
        return 0.03 if a.accumulator_bits <= 8 else 0.1
    return 0.4 if a.accumulator_bits <= 16 else 0.9


def op_energy_pj(op: MappedOp, cycles: float, hw: HardwareConfig) -> dict[str, float]:
    """Energy of one mapped op that took ``cycles`` (its simulated duration), by component."""
    a, v, d = hw.array, hw.vector, hw.dram
    f = a.clock_ghz
    e = {
        "mac": op.macs * a.mac_pj + op.array_adds * array_add_pj(hw),
        "array_reg": (op.macs + op.array_adds) * a.register_pj_per_mac,
        "vector": op.vector_ops * v.op_pj,
    }
    for b, cfg in hw.sram.items():
        e[f"sram_{b}"] = (op.sram_read_bytes.get(b, 0) * cfg.read_pj_per_byte
                          + op.sram_write_bytes.get(b, 0) * cfg.write_pj_per_byte
                          + power_energy_pj(cfg.leakage_mw, cycles, f))
    e["dram"] = (op.dram_read_bytes * 8 * d.read_pj_per_bit + op.dram_write_bytes * 8 * d.write_pj_per_bit
                 + power_energy_pj(d.background_mw * d.channels, cycles, f))
    e["static"] = power_energy_pj(a.leakage_mw + v.leakage_mw, cycles, f)
    if hw.crossbar is not None:
        e["crossbar"] = op.cell_pulses * hw.crossbar.pulse_pj_per_cell
    return e
