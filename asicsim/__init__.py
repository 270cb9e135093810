"""asicsim: cycle, traffic and energy simulator of ASIC training datapaths.

Public API (imported lazily, so ``import asicsim`` stays cheap): `simulate`, `StepResult`,
`UpdateConfig`, `InputError`, `load_network`, `load_hardware`. See `asicsim.api` and README.
"""
from __future__ import annotations

__version__ = "0.2.0"
__all__ = ["simulate", "StepResult", "UpdateConfig", "InputError", "load_network", "load_hardware"]


def __getattr__(name: str):
    if name in __all__:
        from asicsim import api
        return getattr(api, name)
    raise AttributeError(f"module 'asicsim' has no attribute {name!r}")
