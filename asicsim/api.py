"""The public Python API: one call from names (or loaded objects) to a simulated training step.

    >>> import asicsim
    >>> r = asicsim.simulate(network="lenet5", accelerator="edge", batch=8)
    >>> bool(r.total_cycles == r.summary["total_cycles"] == r.layers["total_cycles"].sum())
    True

`simulate` returns the same `StepResult` that ``asicsim run`` writes out (``layers.csv`` is
``r.layers``, ``summary.json`` is ``r.summary``), so a script and the CLI never disagree.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from asicsim.config.execution import ExecutionConfig, as_execution, load_execution
from asicsim.config.hardware import HardwareConfig, load_hardware
from asicsim.config.update import UpdateConfig
from asicsim.engine.results import StepResult
from asicsim.errors import InputError, validated
from asicsim.studies.step import simulate as simulate_step
from asicsim.workload.lowering import PHASES
from asicsim.workload.network import Network, load_network


def _update(update: str | dict | UpdateConfig, overrides: dict) -> UpdateConfig:
    if isinstance(update, UpdateConfig):
        base = update.model_dump()
    elif isinstance(update, str):
        base = {"rule": update}
    elif isinstance(update, dict):
        base = dict(update)
    else:
        raise InputError("must be a rule name, a mapping of UpdateConfig fields or an UpdateConfig",
                         field="update", value=update, allowed="'full', 'sbpca', {'rule': 'sbpca', 'rank': 4}")
    base.update({k: v for k, v in overrides.items() if v is not None})
    return validated(UpdateConfig, base, "<asicsim.simulate>", prefix="update.")


def simulate(network: str | Path | Network = "resnet18", accelerator: str | Path | HardwareConfig = "edge",
             batch: int = 32, update: str | dict | UpdateConfig = "full", *, rank: int | None = None,
             sub_batch: int | None = None, momentum: float | None = None,
             phases: Iterable[str] = PHASES, ideal_memory: bool = False, timeline: bool = False,
             execution: str | Path | dict | ExecutionConfig | None = None) -> StepResult:
    """Simulate one training step of ``network`` at ``batch`` on ``accelerator``.

    ``network``/``accelerator``: a preset name (``models/networks``, ``models/accelerators``), a YAML
    path, or an already loaded `Network` / `HardwareConfig`. ``update``: ``"full"``, ``"sbpca"``, a
    mapping of `UpdateConfig` fields, or an `UpdateConfig`; ``rank``/``sub_batch``/``momentum``
    override its fields. ``phases``: any of forward, backward_data, weight_gradient, update.
    ``timeline``: also record busy intervals (`StepResult.timeline`, as ``asicsim run`` writes).
    ``execution``: an execution spec (preset name ``"scalesim"``/``"realistic"``, a YAML path, a
    mapping of `ExecutionConfig` fields or an `ExecutionConfig`; None = scalesim).
    Bad input raises `asicsim.InputError` naming the field, the value and what is allowed."""
    net = network if isinstance(network, Network) else load_network(network)
    hw = accelerator if isinstance(accelerator, HardwareConfig) else load_hardware(accelerator)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise InputError("must be a positive integer", field="batch", value=batch, allowed="1, 2, …")
    wanted = tuple(phases)
    bad = [p for p in wanted if p not in PHASES]
    if bad or not wanted:
        raise InputError("unknown phase", field="phases", value=list(wanted), allowed=", ".join(PHASES))
    upd = _update(update, {"rank": rank, "sub_batch": sub_batch, "momentum": momentum})
    return simulate_step(hw, net, batch, upd, tuple(p for p in PHASES if p in wanted), ideal_memory=ideal_memory,
                         timeline=timeline, execution=as_execution(execution))


__all__: list[Any] = ["simulate", "StepResult", "UpdateConfig", "ExecutionConfig", "load_execution", "InputError", "load_network", "load_hardware"]
