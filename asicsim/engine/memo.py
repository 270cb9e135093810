"""Per-process memo of mapped ops and op timings, so sweeps stop re-deriving identical work.

Why: a design-space sweep maps and simulates the same layer shapes on the same hardware again and
again (ResNet-18's repeated blocks inside one point; the same batch/array/DRAM across points).
Both stages are pure functions once names are taken out:

* mapping an op depends on its shapes, precisions, which of its tensors are resident on chip, the
  hardware and the SRAM space left by the residency plan — not on the layer or tensor *names*.
  `op_key` names an op's tensors ``t0, t1, …`` in `op_tensors` order and leaves out the layer,
  so two identical convs in different blocks share one entry; on a miss the caller maps the
  `canonical` op (the same renaming) and relabels the result (`MappedOp.layer`, `kept_on_chip`).
* an op's timing depends only on its unit, its tile steps and the DRAM link (ops run one after
  another and the link and units are idle at every op boundary — `asicsim.engine.sim`).

The memo lives in the worker process (bounded: cleared when it exceeds `MAX_ENTRIES`), so a
Dask worker reuses it across the points it runs. `disabled()` turns it off, which the tests use to
check that cached and uncached runs give identical numbers.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from asicsim.workload.lowering import Tensor, op_tensors

# entries per table before it is cleared: mapped ops and op timings are small (a ResNet-50 point
# adds a few hundred); whole single-chip steps (`asicsim.studies.chip_step`) hold DataFrames
MAX_ENTRIES = {"map": 50_000, "time": 50_000, "step": 16}
_tables: dict[str, dict] = {name: {} for name in MAX_ENTRIES}
_state = {"enabled": True, "hits": 0, "misses": 0}


def lookup(table: str, key: Any, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per distinct ``key`` (hashable) in ``table``; the stored value after."""
    if not _state["enabled"]:
        return compute()
    t = _tables[table]
    try:
        value = t[key]
        _state["hits"] += 1
        return value
    except KeyError:
        pass
    value = compute()
    if len(t) >= MAX_ENTRIES[table]:
        t.clear()
    t[key] = value
    _state["misses"] += 1
    return value


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def op_key(op) -> tuple[tuple, dict[str, str]]:
    """(a hashable key of ``op`` without its names, {real tensor name → canonical name ``t<i>``}).

    Tensors are renamed in `op_tensors` order; the layer name is left out; dict fields (e.g.
    SbpcaOp.counts) become sorted item tuples."""
    names: dict[str, str] = {}
    for t in op_tensors(op):
        if t.name not in names:
            names[t.name] = f"t{len(names)}"

    def part(v):
        if isinstance(v, Tensor):
            return (names[v.name], v.elems, v.elem_bytes, v.persistent, v.on_chip_candidate, v.zero_fraction)
        if isinstance(v, tuple):
            return tuple(part(x) for x in v)
        if isinstance(v, dict):
            return tuple(sorted(v.items()))
        return v

    return (type(op).__name__,) + tuple(part(getattr(op, f)) for f in _fields(type(op)) if f != "layer"), names


def canonical(op, names: dict[str, str]):
    """``op`` with its layer blanked and its tensors renamed by ``names`` (from `op_key`)."""
    def rename(v):
        if isinstance(v, Tensor):
            return dataclasses.replace(v, name=names[v.name])
        if isinstance(v, tuple) and v and isinstance(v[0], Tensor):
            return tuple(rename(x) for x in v)
        return v

    changes = {f: rename(getattr(op, f)) for f in _fields(type(op))}
    changes["layer"] = ""
    return dataclasses.replace(op, **changes)


def stats() -> dict[str, int]:
    return {"hits": _state["hits"], "misses": _state["misses"],
            **{f"{k}_entries": len(t) for k, t in _tables.items()}}


def clear() -> None:
    for t in _tables.values():
        t.clear()
    _state["hits"] = _state["misses"] = 0


@contextmanager
def disabled():
    """Run the pipeline without the memo (every op mapped and simulated afresh)."""
    old = _state["enabled"]
    _state["enabled"] = False
    try:
        yield
    finally:
        _state["enabled"] = old
