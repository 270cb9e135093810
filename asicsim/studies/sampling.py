"""Random study axes: a distribution spec (``{log_uniform: [lo, hi]}``, …) → a seeded sampler."""
from __future__ import annotations

import copy
import math
from typing import Any

from asicsim.errors import InputError
from asicsim.studies.spec import DISTRIBUTIONS


def _plain(v: Any) -> Any:
    """numpy scalars -> Python scalars, floats rounded to 6 significant digits."""
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        v = v.item()
    if isinstance(v, float):
        v = float(f"{v:.6g}")
    return v


def sampler(spec: Any, file: str, where: str):
    """A function rng -> value for one random axis."""
    if isinstance(spec, list):
        spec = {"choice": spec}
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise InputError("a random axis is a list of values or a mapping with one distribution",
                         file=file, field=where, value=spec,
                         allowed="{choice: [..]}, {uniform: [lo, hi]}, {log_uniform: [lo, hi]}, "
                                 "{int_uniform: [lo, hi]}, {int_log_uniform: [lo, hi]}, {pow2: [lo, hi]}")
    kind, arg = next(iter(spec.items()))
    if kind == "choice":
        if not isinstance(arg, list) or not arg:
            raise InputError("'choice' needs a non-empty list", file=file, field=f"{where}.choice", value=arg)
        return lambda rng: copy.deepcopy(arg[int(rng.integers(len(arg)))])
    if (not isinstance(arg, list) or len(arg) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in arg)
            or arg[0] > arg[1]):
        raise InputError(f"'{kind}' needs [lo, hi] with lo <= hi", file=file, field=f"{where}.{kind}", value=arg)
    lo, hi = arg
    if kind in ("log_uniform", "int_log_uniform", "pow2") and lo <= 0:
        raise InputError(f"'{kind}' needs lo > 0", file=file, field=f"{where}.{kind}", value=arg)
    if kind == "uniform":
        return lambda rng: _plain(rng.uniform(lo, hi))
    if kind == "log_uniform":
        return lambda rng: _plain(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    if kind == "int_uniform":
        return lambda rng: int(rng.integers(math.ceil(lo), math.floor(hi) + 1))
    if kind == "int_log_uniform":
        return lambda rng: int(min(max(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))), math.ceil(lo)), math.floor(hi)))
    e_lo, e_hi = math.ceil(math.log2(lo)), math.floor(math.log2(hi))
    if e_lo > e_hi:
        raise InputError("'pow2' range holds no power of two", file=file, field=f"{where}.pow2", value=arg)
    return lambda rng: 2 ** int(rng.integers(e_lo, e_hi + 1))
