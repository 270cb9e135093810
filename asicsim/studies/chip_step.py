"""What the multi-chip compositions share: their result type, the single-chip step they replay
(remembered per process), and the per-chip constants (wire bytes per value, idle power)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from asicsim.config.hardware import HardwareConfig
from asicsim.engine import memo
from asicsim.engine.results import StepResult
from asicsim.outputs import output_dir, write_csv, write_json
from asicsim.studies.step import simulate_detail
from asicsim.system.config import SystemConfig
from asicsim.workload.lowering import PHASES


@dataclass(frozen=True)
class SystemResult:
    """A multi-chip step: the per-chip compute (`step`), the buckets and per-layer sync tables."""
    step: StepResult
    buckets: pd.DataFrame
    comm_layers: pd.DataFrame
    summary: dict          # step.summary + "system": {...}

    def write(self, out_dir: str | Path) -> Path:
        out = output_dir(out_dir)
        write_csv(out / "layers.csv", self.step.layers)
        write_csv(out / "comm_buckets.csv", self.buckets)
        write_csv(out / "comm_layers.csv", self.comm_layers)
        write_json(out / "summary.json", self.summary)
        return out


def grad_bytes(system: SystemConfig, hw: HardwareConfig) -> int:
    return system.collective.grad_bytes or hw.array.accumulator_bytes


def static_power_mw(hw: HardwareConfig) -> float:
    """Power a chip burns while it waits on the fabric: leakage of array, vector unit and SRAM,
    and DRAM background (the same terms `asicsim.engine.energy` charges per op)."""
    return (hw.array.leakage_mw + hw.vector.leakage_mw + sum(b.leakage_mw for b in hw.sram.values())
            + hw.dram.background_mw * hw.dram.channels)


def single_chip(hw, net, batch, update, ideal, execution=None):
    """`simulate_detail`, remembered in this process (`asicsim.engine.memo`, table ``step``): a
    sweep over chips, links or buckets re-uses the single-chip step of the same (accelerator,
    network, batch, rule) — a pure function of them."""
    key = (hw.model_dump_json(), net.name, net.path, repr([(l.spec, l.inputs) for l in net.layers]), batch,
           update.model_dump_json(), ideal, None if execution is None else execution.model_dump_json())
    return memo.lookup("step", key, partial(simulate_detail, hw, net, batch, update, PHASES, ideal,
                                            execution=execution))
