"""A simulated point as flat table columns (one sweep row): step totals, and a multi-chip step's
system columns (prefixed ``system.``: step time, exposed/hidden communication, bytes, energy)."""
from __future__ import annotations

from typing import Any

from asicsim.workload.lowering import PHASES

SYSTEM_COLUMNS = ("step_cycles", "step_time_s", "compute_cycles", "exposed_comm_cycles", "hidden_comm_cycles",
                  "comm_active_cycles", "buckets", "payload_bytes_per_chip", "comm_bytes_sent_per_chip",
                  "extra_compute_cycles", "link_energy_pj_per_chip", "idle_energy_pj_per_chip",
                  "step_energy_pj_per_chip", "system_energy_pj", "samples_per_s", "scaling_efficiency")


def result_row(result) -> dict:
    """The totals of a StepResult as flat columns."""
    s = result.summary
    layers = result.layers
    row: dict[str, Any] = {}
    for k in ("total_cycles", "compute_cycles", "stall_cycles", "time_s", "energy_pj", "macs",
              "dram_read_bytes", "dram_write_bytes", "sram_read_bytes", "sram_write_bytes"):
        if k in s:
            row[k] = s[k]
        elif k in ("compute_cycles", "stall_cycles", "macs") and k in layers:
            row[k] = layers[k].sum()
    for comp, v in (s.get("energy_breakdown_pj") or {}).items():
        row[f"energy_{comp}_pj"] = v
    phases = s.get("phases") or {}
    for ph in [p for p in PHASES if p in phases] + [p for p in phases if p not in PHASES]:
        for k in ("cycles", "energy_pj", "dram_bytes", "macs"):
            if k in phases[ph]:
                row[f"{ph}_{k}"] = phases[ph][k]
    peak = s.get("peak_macs_per_cycle")
    cyc = row.get("total_cycles")
    if "utilization" in s:
        row["utilization"] = s["utilization"]
    elif row.get("macs") is not None and cyc and peak:
        row["utilization"] = row["macs"] / (cyc * peak)
    if row.get("stall_cycles") is not None and cyc:
        row["stall_share"] = row["stall_cycles"] / cyc
    fp = s.get("footprint")
    if fp:                               # execution runs and accelerators with a DRAM capacity
        for k in ("peak_bytes", "weights_bytes", "optimizer_state_bytes", "stash_bytes", "workspace_bytes"):
            row[f"footprint_{k}"] = fp[k]
    if "fits" in s:
        row["fits"] = s["fits"]
        row["dram_capacity_bytes"] = s["dram_capacity_bytes"]
    row["peak_macs_per_cycle"] = peak
    row["dram_bytes_per_cycle"] = s.get("dram_bytes_per_cycle")
    row["clock_ghz"] = s.get("clock_ghz")
    for k, v in list(row.items()):
        if hasattr(v, "item"):
            row[k] = v.item()
    return row


def system_point_row(p, simulate) -> dict:
    """Simulate a point that names a system; its single-chip columns plus the system.* columns."""
    from asicsim.config.hardware import hardware_from_dict
    from asicsim.config.update import UpdateConfig
    from asicsim.studies.multichip import check_phases, simulate_system
    from asicsim.system.config import system_from_dict
    from asicsim.workload.network import load_network

    check_phases(p.phases)
    hw = hardware_from_dict(p.hardware, p.hardware_file)
    sysc = system_from_dict(p.system, p.system_file)
    res = (simulate or simulate_system)(hw, load_network(p.network), p.batch, UpdateConfig(**p.update), sysc,
                                        ideal_memory=p.ideal_memory)
    row = result_row(res.step)
    s = res.summary["system"]
    row["system.name"] = s["name"]
    for k in SYSTEM_COLUMNS:
        row[f"system.{k}"] = s[k]
    return row
