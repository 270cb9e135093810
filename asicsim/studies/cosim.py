"""Cost-to-accuracy co-simulation: charge every functional training step its simulated cycles and
energy on an accelerator (the same model as ``asicsim run``).

The cost of a step depends only on the network, the batch size and the update rule, so the
simulator runs once for a full batch and once for the epoch's last, shorter batch (if any), and
the history's cumulative columns are sums of those two step costs.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from asicsim.config.hardware import HardwareConfig
from asicsim.config.update import UpdateConfig
from asicsim.errors import InputError
from asicsim.studies.step import simulate
from asicsim.workload.network import Network


@dataclass(frozen=True)
class StepCost:
    """Simulated cost of one training step (one batch of ``batch`` samples)."""
    batch: int
    cycles: float
    time_s: float
    energy_j: float


def hardware_update(rule: str, rank: int, sub_batch: int, sub_batch_unit: str, momentum: float,
                    backward: str = "bp") -> UpdateConfig:
    """The simulator's update rule for a trainer rule (``svd`` has no hardware form). Rules and
    backward rules the simulator's `UpdateConfig` does not know (on this build) are refused."""
    fields = UpdateConfig.model_fields
    if backward != "bp" and "backward" not in fields:
        raise InputError("this build's simulator models only the back-propagation backward pass",
                         field="--backward", value=backward, allowed="bp with --accelerator")
    allowed_rules = tuple(getattr(fields["rule"].annotation, "__args__", ("full", "sbpca")))
    if rule != "svd" and rule not in allowed_rules:
        raise InputError("this build's simulator has no model of this update rule", field="--update",
                         value=rule, allowed=f"{', '.join(allowed_rules)} with --accelerator")
    if rule == "svd":
        raise InputError("the exact truncated-SVD rule is an offline baseline with no hardware model",
                         field="--update", value=rule, allowed="full or sbpca with --accelerator")
    if rule == "sbpca" and sub_batch_unit != "pairs":
        raise InputError("the hardware model counts the sub-batch in (δ, x) pairs", field="--sub-batch-unit",
                         value=sub_batch_unit, allowed="pairs with --accelerator")
    extra = {"backward": backward} if "backward" in fields else {}
    return UpdateConfig(rule=rule, rank=rank, sub_batch=sub_batch, momentum=momentum, **extra)


def step_cost(hw: HardwareConfig, net: Network, batch: int, update: UpdateConfig) -> StepCost:
    s = simulate(hw, net, batch, update).summary
    return StepCost(batch, s["total_cycles"], s["time_s"], s["energy_pj"] * 1e-12)


def epoch_costs(hw: HardwareConfig, net: Network, batch: int, n_train: int,
                update: UpdateConfig) -> tuple[StepCost, StepCost]:
    """(cost of a full batch, cost of the epoch's last batch) for ``n_train`` samples per epoch."""
    full = step_cost(hw, net, batch, update)
    rest = n_train % batch
    return full, (step_cost(hw, net, rest, update) if rest else full)


def cumulative(step: int, steps_per_epoch: int, full: StepCost, last: StepCost) -> tuple[float, float]:
    """(simulated seconds, joules) spent after ``step`` training steps (1-based, epochs back to back)."""
    epochs_done, j = divmod(step, steps_per_epoch)
    per_epoch_t = (steps_per_epoch - 1) * full.time_s + last.time_s
    per_epoch_e = (steps_per_epoch - 1) * full.energy_j + last.energy_j
    return epochs_done * per_epoch_t + j * full.time_s, epochs_done * per_epoch_e + j * full.energy_j


def annotate(history: pd.DataFrame, steps_per_epoch: int, full: StepCost, last: StepCost) -> pd.DataFrame:
    """history.csv with ``sim_time_s`` and ``sim_energy_j`` (cumulative at each row's step)."""
    out = history.copy()
    cum = [cumulative(int(s), steps_per_epoch, full, last) for s in out["step"]]
    out["sim_time_s"] = [c[0] for c in cum]
    out["sim_energy_j"] = [c[1] for c in cum]
    return out
