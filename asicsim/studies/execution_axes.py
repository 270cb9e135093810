"""``execution`` in study files: the base execution (preset, file or mapping) and ``execution.*`` axes.

An axis such as ``execution.optimizer.kind: [sgd, adamw]`` or ``execution.recompute.every: [2, 4]``
overrides one field of the base execution for each point. A point's execution is resolved to its
full field mapping, validated like an execution file, and enters the point's hash only when it is
not the default (so studies written before executions existed keep their hashes and journals).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from asicsim.config.execution import ExecutionConfig, as_execution, execution_from_dict
from asicsim.errors import InputError

SECTIONS = {name: f.annotation for name, f in ExecutionConfig.model_fields.items() if name != "name"}


def check_execution_leaf(parts: list[str], bad) -> None:
    """Static check of an ``execution.<section>.<field>`` (or ``execution.name``) path."""
    if parts == ["execution"]:
        return
    if len(parts) == 2 and parts[1] == "name":
        return
    if len(parts) != 3 or parts[1] not in SECTIONS or parts[2] not in SECTIONS[parts[1]].model_fields:
        allowed = ", ".join(f"execution.{s}.{f}" for s, m in SECTIONS.items() for f in m.model_fields)
        raise bad("unknown execution field", allowed=allowed)


def resolve_execution(base: str | dict | None, over: dict, study_dir: Path, fail,
                      resolve_ref=lambda r, d: r) -> dict | None:
    """The point's execution as a field mapping, or None for the default execution."""
    ref = over.get("execution", base)
    leaves = {k: v for k, v in over.items() if k.startswith("execution.")}
    if ref is None and not leaves:
        return None
    try:
        if isinstance(ref, dict):
            ex = execution_from_dict(ref, "<study execution>")
        elif ref is None or isinstance(ref, str):
            ex = as_execution(resolve_ref(ref, study_dir) if isinstance(ref, str) else None)
        else:
            raise InputError("must be an execution preset, a file path or a mapping", field="execution", value=ref)
    except InputError as exc:
        fail(exc, "execution")
    data: dict[str, Any] = copy.deepcopy(ex.model_dump(mode="json"))
    for leaf, v in leaves.items():
        parts = leaf.split(".")[1:]
        cur = data
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = v
    try:
        ex = execution_from_dict(data, "<study execution>")
    except InputError as exc:
        fail(exc, next(iter(leaves), "execution"))
    return None if ex.is_default and ex.name == "scalesim" else ex.model_dump(mode="json")
