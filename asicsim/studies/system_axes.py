"""Study axes on the multi-chip system: ``system`` (a preset name or file) and ``system.<field>``,
``system.link.<field>``, ``system.collective.<field>``, ``system.resist.<field>`` — e.g.
``system.chips`` and ``system.link.bandwidth_gbps``. A point with a system is a data-parallel step
(`asicsim.studies.multichip`); its resolved system joins the point's hash, and a point without one
hashes exactly as before.
"""
from __future__ import annotations

import copy
from pathlib import Path

from asicsim.errors import InputError
from asicsim.system.config import (
    CollectiveConfig,
    LinkConfig,
    ResistConfig,
    SystemConfig,
    load_system_dict,
    system_from_dict,
)

SECTIONS = {"link": LinkConfig, "collective": CollectiveConfig, "resist": ResistConfig}


def check_system_leaf(parts: list[str], bad) -> None:
    """Static check of a ``system…`` axis path (``bad`` builds the InputError)."""
    if len(parts) == 1:
        return
    f = parts[1]
    if f in SECTIONS:
        fields = SECTIONS[f].model_fields
        if len(parts) != 3 or parts[2] not in fields:
            raise bad(f"unknown system.{f} field", allowed=", ".join(f"system.{f}.{x}" for x in fields))
        return
    top = [x for x in SystemConfig.model_fields if x not in SECTIONS]
    if len(parts) != 2 or f not in top:
        raise bad("unknown system field", allowed=", ".join(f"system.{x}" for x in top)
                  + ", system.link.*, system.collective.*, system.resist.*")


def _set(data: dict, path: str, value) -> None:
    parts = path.split(".")
    cur = data
    for p in parts[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {}
        cur = cur[p]
    cur[parts[-1]] = copy.deepcopy(value)


def resolve_system(base_ref: str | None, over: dict, origin: dict, study_dir: Path, rule: str, fail,
                   resolve_ref=lambda r, d: r) -> dict:
    """The point's system: {} for a single-chip point, else the raw mapping (``system``), its file
    and its validated form (``system_json``, for the hash). ``fail(exc, leaf)`` reports an error."""
    ref = over.get("system", base_ref)
    leaves = {k: v for k, v in over.items() if k.startswith("system.")}
    if ref is None:
        if leaves:
            first = next(iter(leaves))
            fail(InputError("a system.* axis needs a system", field=first, value=first,
                            allowed="base.system: a preset in models/systems or a system YAML file"), first)
        if rule == "resist":
            fail(InputError("update.rule resist is a multi-chip protocol", field="update.rule", value="resist",
                            allowed="full, sbpca, powersgd; resist with base.system"), "update.rule")
        return {}
    if not isinstance(ref, str):
        fail(InputError("must be a preset name or a file path", field="system", value=ref), "system")
    try:
        raw, file = load_system_dict(resolve_ref(ref, study_dir))
    except InputError as exc:
        fail(exc, "system")
    data = copy.deepcopy(raw) if isinstance(raw, dict) else raw
    if isinstance(data, dict):
        for leaf, v in leaves.items():
            _set(data, leaf.split(".", 1)[1], v)
    try:
        cfg = system_from_dict(data, file)
    except InputError as exc:
        fail(exc, f"system.{exc.field}" if exc.field else None)
    return {"system": data, "system_file": file,
            "system_json": cfg.model_dump(mode="json", exclude={"description"})}
