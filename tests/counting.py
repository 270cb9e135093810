"""Counting scalars for checking the kernels' exact operation counts: run a kernel's Python body
(``.py_func``) on object arrays of `CF` and read `CF.n`. Unary minus counts as an add (it must
not occur in a kernel's data path)."""
from __future__ import annotations

import math
from typing import ClassVar

import numpy as np


class CF:
    """A float that counts the arithmetic done on it (class-level counters)."""
    n: ClassVar[dict] = {"mul": 0, "add": 0, "div": 0, "sqrt": 0}

    def __init__(self, v):
        self.v = float(v)

    @staticmethod
    def _v(o):
        return o.v if isinstance(o, CF) else float(o)

    def _op(self, kind, val):
        CF.n[kind] += 1
        return CF(val)

    def __mul__(self, o): return self._op("mul", self.v * CF._v(o))
    __rmul__ = __mul__
    def __add__(self, o): return self._op("add", self.v + CF._v(o))
    __radd__ = __add__
    def __sub__(self, o): return self._op("add", self.v - CF._v(o))
    def __rsub__(self, o): return self._op("add", CF._v(o) - self.v)
    def __truediv__(self, o): return self._op("div", self.v / CF._v(o))
    def __rtruediv__(self, o): return self._op("div", CF._v(o) / self.v)
    def __neg__(self): return self._op("add", -self.v)
    def sqrt(self): return self._op("sqrt", math.sqrt(self.v))
    def __gt__(self, o): return self.v > CF._v(o)
    def __le__(self, o): return self.v <= CF._v(o)
    def __float__(self): return self.v


def counting_array(a: np.ndarray) -> np.ndarray:
    """An object array of `CF` with the values of ``a``."""
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = CF(a[idx])
    return out
