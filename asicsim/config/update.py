"""The training-rule settings of a simulated step (a study setting, not hardware)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UpdateConfig(_Strict):
    """How weights are updated in the simulated training step (a study setting, not hardware).

    ``rule``: ``full`` = mini-batch SGD on the dense gradient G; ``sbpca`` = streaming batch PCA
    rank-k factors (DESIGN.md §2); ``powersgd`` = the full gradient compressed to rank ``rank`` for
    data-parallel sync (`asicsim.workload.powersgd`); ``resist`` = the ResIST protocol, full-gradient
    steps on sub-networks (multi-chip only, `asicsim.system.resist`). ``momentum``: momentum coefficient (0 = plain SGD); with
    ``sbpca`` the momentum state is kept on the factors. ``projections``: where SBPCA's skinny
    projections run (``array`` or ``vector`` unit). ``apply``: ``digital`` expands Ĝ (m·n·k MACs)
    and read-modify-writes W; ``crossbar`` applies k outer-product pulses to an in-memory weight
    store (needs a ``crossbar`` section in the hardware file)."""
    rule: Literal["full", "sbpca", "powersgd", "resist"] = "full"
    momentum: float = Field(0.0, ge=0.0, lt=1.0)
    rank: int = Field(4, gt=0, le=4096)
    sub_batch: int = Field(32, gt=0)
    projections: Literal["array", "vector"] = "array"
    apply: Literal["digital", "crossbar"] = "digital"
