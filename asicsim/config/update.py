"""The training-rule settings of a simulated step (a study setting, not hardware)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_serializer

from asicsim.inputs import Strict

# fields added after recorded outputs existed: left out of dumps while at their default, so every
# summary.json and sweep key written before them stays byte-identical
_QUIET_DEFAULTS = {"backward": "bp", "sketch_method": "auto"}


class _Strict(Strict):
    """Schema base: see `asicsim.inputs.Strict` (unknown keys refused, frozen, finite numbers)."""


class UpdateConfig(_Strict):
    """How weights are updated in the simulated training step (a study setting, not hardware).

    ``rule``: ``full`` = mini-batch SGD on the dense gradient G; ``sbpca`` = streaming batch PCA
    rank-k factors (`asicsim/kernels/sbpca.py`); ``sketch`` = rank-k gradient from an SRHT sketch of the pair
    stream (`asicsim.kernels.sketch`; ``rank`` = sketch rows k); ``powersgd`` = the full gradient
    compressed to rank ``rank`` for data-parallel sync (`asicsim.workload.powersgd`); ``resist`` =
    the ResIST protocol, full-gradient steps on sub-networks (multi-chip only,
    `asicsim.system.resist`). ``momentum``: momentum
    coefficient (0 = plain SGD); with ``sbpca`` the momentum state is kept on the factors.
    ``projections``: where SBPCA's skinny projections (and the sketch's ±1 row sums, and the
    DFA/BDFA feedback products) run
    (``array`` or ``vector`` unit). ``apply``: ``digital`` expands Ĝ (m·n·k MACs) and
    read-modify-writes W; ``crossbar`` applies k outer-product pulses to an in-memory weight store
    (needs a ``crossbar`` section in the hardware file). ``backward``: how the error reaches each
    layer (`asicsim.workload.backward`): ``bp`` backpropagation; ``dfa`` direct feedback alignment
    (the output error times a fixed random matrix per layer); ``bdfa`` the same with ±1 feedback;
    ``hybrid`` BP through conv layers, DFA for FC layers. ``sketch_method``: how the SRHT is
    formed (``auto`` = fewer additions, ``fwht``, ``rows``)."""
    rule: Literal["full", "sbpca", "sketch", "powersgd", "resist"] = "full"
    momentum: float = Field(0.0, ge=0.0, lt=1.0)
    rank: int = Field(4, gt=0, le=4096)
    sub_batch: int = Field(32, gt=0)
    projections: Literal["array", "vector"] = "array"
    apply: Literal["digital", "crossbar"] = "digital"
    backward: Literal["bp", "dfa", "bdfa", "hybrid"] = "bp"
    sketch_method: Literal["auto", "fwht", "rows"] = "auto"

    @model_serializer(mode="wrap")
    def _drop_quiet_defaults(self, handler):
        out = handler(self)
        for name, default in _QUIET_DEFAULTS.items():
            if out.get(name) == default:
                out.pop(name)
        return out
