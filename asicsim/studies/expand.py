"""Study expansion: grid × points × random samples → resolved, validated design points.

Each axis is a dotted config path; every leaf is checked before anything runs, and each point's
key is the hash of its full resolved configuration (see `asicsim.studies.spec`).
"""
from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from asicsim.config.hardware import SramConfig, hardware_from_dict, load_hardware_dict
from asicsim.config.execution import as_execution
from asicsim.config.update import UpdateConfig
from asicsim.errors import InputError, pydantic_to_input_error
from asicsim.presets import STUDIES_DIR, load_yaml, resolve_preset
from asicsim.studies.sampling import sampler as _sampler
from asicsim.studies.spec import (
    ALLOWED_ROOTS,
    HASH_VERSION,
    HW_LEAVES,
    HW_ROOTS,
    HW_SECTIONS,
    MAX_POINTS,
    RUN_ROOTS,
    Point,
    Study,
    StudyFile,
)
from asicsim.studies.execution_axes import check_execution_leaf, resolve_execution
from asicsim.studies.system_axes import check_system_leaf, resolve_system
from asicsim.workload.lowering import PHASES
from asicsim.workload.network import network_description

# --------------------------------------------------------------------------- helpers


def available_studies() -> list[str]:
    return sorted(p.stem for p in STUDIES_DIR.glob("*.yaml"))


def _find_study(name_or_path: str | Path) -> Path:
    return resolve_preset(name_or_path, STUDIES_DIR, "study")


def _resolve_ref(ref: str, study_dir: Path) -> str:
    """A preset name stays a name; a path is tried relative to the study file, then to the cwd."""
    p = Path(ref)
    looks_like_path = p.suffix in (".yaml", ".yml", ".onnx") or "/" in ref or "\\" in ref
    if not looks_like_path:
        return ref
    if not p.is_absolute() and (study_dir / p).exists():
        return str((study_dir / p).resolve())
    return str(p.resolve()) if p.exists() else ref  # the loader reports a missing file


def flatten(value: Any, prefix: str) -> dict[str, Any]:
    """A (possibly nested) mapping value at ``prefix`` as leaf dotted paths."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _deep_merge(dst: dict, src: dict) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _deep_merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)


def set_path(data: dict, path: str, value: Any) -> None:
    """Set ``path`` (dotted) in a nested mapping; mapping values merge, others replace."""
    parts = path.split(".")
    cur = data
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[p] = nxt
        cur = nxt
    last = parts[-1]
    if isinstance(value, dict) and isinstance(cur.get(last), dict):
        _deep_merge(cur[last], value)
    else:
        cur[last] = copy.deepcopy(value)


def _check_leaf(path: str, file: str, where: str, sram_names: set[str] | None) -> None:
    """Static check that a leaf dotted path names a configuration field."""
    parts = path.split(".")
    root = parts[0]
    bad = functools.partial(InputError, file=file, field=where, value=path)
    if root not in RUN_ROOTS + HW_ROOTS:
        raise bad("unknown axis path", allowed=f"a dotted path starting with one of {ALLOWED_ROOTS}")
    if root in ("accelerator", "network", "batch", "phases", "ideal_memory") + HW_LEAVES:
        if len(parts) != 1:
            raise bad(f"'{root}' has no sub-fields", allowed=f"'{root}' alone")
        return
    if root == "system":
        return check_system_leaf(parts, bad)
    if root == "execution":
        return check_execution_leaf(parts, bad)
    if root == "update":
        fields = UpdateConfig.model_fields
        if len(parts) != 2 or parts[1] not in fields:
            raise bad("unknown update field", allowed=", ".join(f"update.{f}" for f in fields))
        return
    if root == "sram":
        if len(parts) != 3:
            raise bad("an SRAM path is sram.<buffer>.<field>",
                      allowed=", ".join(f"sram.<buffer>.{f}" for f in SramConfig.model_fields))
        if sram_names is not None and parts[1] not in sram_names:
            raise bad(f"the accelerator has no SRAM buffer '{parts[1]}'",
                      allowed=", ".join(f"sram.{b}.*" for b in sorted(sram_names)))
        if parts[2] not in SramConfig.model_fields:
            raise bad("unknown SRAM buffer field", allowed=", ".join(SramConfig.model_fields))
        return
    model = HW_SECTIONS[root]
    if len(parts) != 2 or parts[1] not in model.model_fields:
        raise bad(f"unknown {root} field", allowed=", ".join(f"{root}.{f}" for f in model.model_fields))


@functools.lru_cache(maxsize=64)
def _network_raw(ref: str) -> tuple[str, dict]:
    """(resolved file, canonical raw mapping) of a network reference; validated once."""
    path, raw = network_description(ref)   # validates; raises InputError naming the network file
    return str(Path(path).resolve()), raw


@functools.lru_cache(maxsize=64)
def _hardware_raw(ref: str) -> tuple[dict, str]:
    return load_hardware_dict(ref)


def config_hash(resolved: dict) -> str:
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- expansion


def _blocks(sf: StudyFile, file: str, sram_names: set[str] | None) -> tuple[list[list[tuple[dict, dict]]], list[str]]:
    """Each block as a list of (leaf overrides, origin of each leaf) sets; plus ordered leaf paths."""
    order: list[str] = []

    def leaves(mapping: dict[str, Any], where: str) -> tuple[dict, dict]:
        flat: dict[str, Any] = {}
        origin: dict[str, str] = {}
        for axis, value in mapping.items():
            if not isinstance(axis, str) or not axis:
                raise InputError("an axis must be a dotted path string", file=file, field=where, value=axis)
            for leaf, v in flatten(value, axis).items():
                _check_leaf(leaf, file, f"{where}.{axis}", sram_names)
                if leaf in flat:
                    raise InputError("two axes set the same field", file=file, field=f"{where}.{axis}", value=leaf)
                flat[leaf] = v
                origin[leaf] = f"{where}.{axis}"
                if leaf not in order:
                    order.append(leaf)
        return flat, origin

    blocks: list[list[tuple[dict, dict]]] = []
    if sf.grid:
        per_axis = []
        for axis, values in sf.grid.items():
            if not values:
                raise InputError("an axis needs at least one value", file=file, field=f"grid.{axis}", value=values)
            per_axis.append([leaves({axis: v}, "grid") for v in values])
        combos = []
        n = math.prod(len(a) for a in per_axis)
        if n > MAX_POINTS:
            raise InputError(f"the grid has {n} points", file=file, field="grid", allowed=f"at most {MAX_POINTS}")
        for combo in itertools.product(*per_axis):
            flat, origin = {}, {}
            for f, o in combo:
                flat.update(f)
                origin.update(o)
            combos.append((flat, origin))
        blocks.append(combos)
    if sf.points:
        pts = []
        for i, p in enumerate(sf.points):
            pts.append(leaves(p, f"points[{i}]"))
        blocks.append(pts)
    if sf.random is not None:
        import numpy as np
        rng = np.random.default_rng(sf.random.seed)
        samplers = [(axis, _sampler(spec, file, f"random.axes.{axis}")) for axis, spec in sf.random.axes.items()]
        samples = []
        for _ in range(sf.random.samples):
            samples.append(leaves({axis: draw(rng) for axis, draw in samplers}, "random.axes"))
        blocks.append(samples)
    # the same leaf in two blocks would be ambiguous
    seen: dict[str, str] = {}
    for b in blocks:
        for leaf, orig in {l: o for _, origin in b for l, o in origin.items()}.items():
            top = orig.split(".")[0].split("[")[0]
            if leaf in seen and seen[leaf] != top:
                raise InputError(f"this field is set by both '{seen[leaf]}' and '{top}'", file=file,
                                 field=orig, value=leaf, allowed="each field in one block only")
            seen[leaf] = top
    return blocks, order


def _describe(over: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in over.items()) or "the base point"


def resolve_point(sf: StudyFile, over: dict, origin: dict, file: str, study_dir: Path) -> tuple[dict, dict, dict]:
    """Apply one override set; validate it. Returns (resolved config for hashing, Point kwargs,
    resolved values by root for filling in the axis columns a point does not set)."""
    b = sf.base

    def fail(exc: InputError, leaf_hint: str | None = None):
        leaf = leaf_hint or (exc.field or "")
        where = origin.get(leaf) or next((o for l, o in origin.items() if leaf.startswith(l) or l.startswith(leaf)), None)
        msg = str(exc)
        raise InputError(f"point ({_describe(over)}) is invalid: {msg}", file=file,
                         field=where or "base") from None

    acc_ref = over.get("accelerator", b.accelerator)
    net_ref = over.get("network", b.network)
    for leaf, ref in (("accelerator", acc_ref), ("network", net_ref)):
        if not isinstance(ref, str):
            raise InputError("must be a preset name or a file path", file=file,
                             field=origin.get(leaf, f"base.{leaf}"), value=ref)
    try:
        hw_raw, hw_file = _hardware_raw(_resolve_ref(acc_ref, study_dir))
    except InputError as exc:
        fail(exc, "accelerator")
    hw_dict = copy.deepcopy(hw_raw) if isinstance(hw_raw, dict) else hw_raw
    upd_dict = dict(b.update)
    run = {"batch": b.batch, "phases": list(b.phases) if b.phases is not None else list(PHASES),
           "ideal_memory": b.ideal_memory}
    for leaf, v in over.items():
        root = leaf.split(".")[0]
        if root in HW_ROOTS:
            if isinstance(hw_dict, dict):
                set_path(hw_dict, leaf, v)
        elif root == "update":
            upd_dict[leaf.split(".", 1)[1]] = v
        elif root in ("system", "execution"):
            continue
        elif root in run:
            run[root] = v
    try:
        hw = hardware_from_dict(hw_dict, hw_file)
    except InputError as exc:
        fail(exc)
    try:
        upd = UpdateConfig.model_validate(upd_dict)
    except ValidationError as exc:
        fail(pydantic_to_input_error(exc, None, prefix="update."))
    batch = run["batch"]
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        fail(InputError("batch must be a positive integer", field="batch", value=batch), "batch")
    phases = run["phases"]
    if isinstance(phases, str):
        phases = [phases]
    if (not isinstance(phases, list) or not phases or any(p not in PHASES for p in phases)
            or len(set(phases)) != len(phases)):
        fail(InputError("phases must be a non-empty list of distinct phase names", field="phases",
                        value=phases, allowed=", ".join(PHASES)), "phases")
    phases = [p for p in PHASES if p in phases]
    if not isinstance(run["ideal_memory"], bool):
        fail(InputError("ideal_memory must be true or false", field="ideal_memory", value=run["ideal_memory"]),
             "ideal_memory")
    try:
        net_file, net_raw = _network_raw(_resolve_ref(net_ref, study_dir))
    except InputError as exc:
        fail(exc, "network")
    hw_json = hw.model_dump(mode="json", exclude={"description"})
    net_json = {k: v for k, v in net_raw.items() if k not in ("description", "source")}
    resolved = {"v": HASH_VERSION, "hardware": hw_json, "network": net_json, "batch": batch,
                "update": upd.model_dump(mode="json"), "phases": phases, "ideal_memory": run["ideal_memory"]}
    sys_kw = resolve_system(b.system, over, origin, study_dir, upd.rule, fail, _resolve_ref)
    if sys_kw:
        resolved["system"] = sys_kw["system_json"]
    ex = resolve_execution(b.execution, over, study_dir, fail, _resolve_ref)
    if ex is not None:                 # the default execution leaves the hash as it was
        resolved["execution"] = ex
    kwargs = dict(hardware=hw_dict, hardware_file=hw_file, accelerator_name=hw.name, network=net_file,
                  network_name=str(net_raw.get("name", Path(net_file).stem)), batch=batch,
                  update=upd.model_dump(mode="json"), phases=tuple(phases), ideal_memory=run["ideal_memory"],
                  system=sys_kw.get("system"), system_file=sys_kw.get("system_file", ""), execution=ex)
    values = {"accelerator": acc_ref, "network": net_ref, "batch": batch, "phases": phases,
              "ideal_memory": run["ideal_memory"], "update": resolved["update"],
              **{k: v for k, v in hw.model_dump(mode="json").items()}, "system": sys_kw.get("system_json"),
              "execution": ex if ex is not None else as_execution(None).model_dump(mode="json")}
    return resolved, kwargs, values


def _lookup(values: dict, leaf: str) -> Any:
    cur: Any = values
    for part in leaf.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def study_from_dict(data: Any, file: str | Path = "<study>") -> Study:
    file = str(file)
    if not isinstance(data, dict):
        raise InputError("a study file must be a YAML mapping with name, base and grid/points/random", file=file)
    try:
        sf = StudyFile.model_validate(data)
    except ValidationError as exc:
        raise pydantic_to_input_error(exc, file) from None
    study_dir = Path(file).resolve().parent if file != "<study>" else Path.cwd()
    try:
        UpdateConfig.model_validate(sf.base.update)
    except ValidationError as exc:
        raise pydantic_to_input_error(exc, file, prefix="base.update.") from None
    # SRAM buffer names of the base accelerator (for path checks), unless an axis swaps accelerators
    varies_acc = "accelerator" in sf.grid or any("accelerator" in p for p in sf.points) or (
        sf.random is not None and "accelerator" in sf.random.axes)
    sram_names = None
    if not varies_acc:
        try:
            raw, hw_file = _hardware_raw(_resolve_ref(sf.base.accelerator, study_dir))
        except InputError as exc:
            raise InputError(f"base accelerator: {exc}", file=file, field="base.accelerator") from None
        if isinstance(raw, dict) and isinstance(raw.get("sram"), dict):
            sram_names = set(raw["sram"])
    blocks, order = _blocks(sf, file, sram_names)
    total = math.prod(len(b) for b in blocks) if blocks else 1
    if total > MAX_POINTS:
        raise InputError(f"the study has {total} points", file=file, allowed=f"at most {MAX_POINTS}")
    points: list[Point] = []
    seen: set[str] = set()
    dup = 0
    for combo in itertools.product(*blocks) if blocks else [()]:
        over: dict[str, Any] = {}
        origin: dict[str, str] = {}
        for f, o in combo:
            over.update(f)
            origin.update(o)
        resolved, kwargs, values = resolve_point(sf, over, origin, file, study_dir)
        key = config_hash(resolved)
        if key in seen:
            dup += 1
            continue
        seen.add(key)
        axes = {leaf: over[leaf] if leaf in over else _lookup(values, leaf) for leaf in order}
        points.append(Point(index=len(points), key=key, axes=axes, **kwargs))
    return Study(name=sf.name, description=sf.description, file=file, axes=order, points=points,
                 duplicates=dup, report=sf.report.model_dump(mode="json"),
                 spec=sf.model_dump(mode="json", exclude={"base": {k for k in ("system", "execution")
                                                                   if getattr(sf.base, k) is None}} or None))


def load_study(name_or_path: str | Path) -> Study:
    """Load, validate and expand a study by name (``models/studies/<name>.yaml``) or path."""
    path = _find_study(name_or_path)
    return study_from_dict(load_yaml(path), file=str(path))
