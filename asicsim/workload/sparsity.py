"""Measured activation sparsity onto the lowered tensors.

A network may give the share of zeros in named layers' outputs (``activation_zeros``: e.g. a
chip paper's "zeros in ifmaps" per layer). This pass sets it on every tensor ``<layer>.out``
of the op list, before fusion (which carries it onto the renamed chain outputs), so a DRAM link
that run-length codes activations (`asicsim.engine.compression`) prices those transfers.
"""
from __future__ import annotations

import dataclasses

from asicsim.workload.lowering import Lowered, Tensor
from asicsim.workload.network import Network


def with_zero_fractions(op, zeros: dict[str, float]):
    """``op`` with the measured zero share set on each tensor named in ``zeros`` (by tensor name)."""
    def mark(v):
        if isinstance(v, Tensor) and v.name in zeros:
            return dataclasses.replace(v, zero_fraction=zeros[v.name])
        if isinstance(v, tuple) and v and all(isinstance(x, Tensor) for x in v):
            return tuple(mark(x) for x in v)
        return v
    changes = {f.name: mark(getattr(op, f.name)) for f in dataclasses.fields(op)}
    return dataclasses.replace(op, **{k: v for k, v in changes.items() if v is not getattr(op, k)})


def apply_activation_zeros(lowered: Lowered, net: Network) -> Lowered:
    """``lowered`` with the network's measured zero shares on its activation tensors."""
    if not net.activation_zeros:
        return lowered
    zeros = {f"{name}.out": z for name, z in net.activation_zeros}
    return dataclasses.replace(lowered, ops=tuple(with_zero_fractions(op, zeros) for op in lowered.ops))
