"""Accelergy-style energy tables: per-action energies from the user's own flow.

An accelerator file may say ``energy: {table: FILE}`` (a path relative to the accelerator file);
the table then sets the per-action energies of the named components, before validation, so every
later stage sees plain numbers (and a sweep's config hash covers them). The table has the shape of
Accelergy's Energy Reference Table (ERT) — component, action, energy in pJ::

    ERT:
      version: "0.4"
      tables:
        - name: system.chip.mac[0..1023]         # last name segment = asicsim component
          actions:
            - {name: compute, energy: 0.04}       # pJ per action
            - {name: leak, energy: 0.0001}        # pJ per cycle per instance
        - name: system.chip.global
          width_bits: 2048                        # bits per access (memories; see below)
          actions:
            - {name: read, arguments: {}, energy: 416.16}
            - {name: write, energy: 378.4}

Component names are asicsim's (the last dotted segment, an instance range ``[a..b]`` dropped and
used as the instance count for ``leak``): ``mac`` (compute → ``array.mac_pj``; leak → array
leakage), ``array_reg`` (access → ``array.register_pj_per_mac``, all register traffic of one MAC),
``vector`` (compute → ``vector.op_pj``; leak), an SRAM buffer by its name or ``sram_<name>``
(read/write → pJ per byte; leak), ``dram`` (read/write → pJ per bit; leak → background power per
channel), ``crossbar`` (pulse → ``pulse_pj_per_cell``). ERT energies are per access, and an access
of a memory moves a word whose width Accelergy takes from the architecture, not the ERT: memory
entries (SRAM, DRAM) therefore carry ``width_bits``. Leak: P[mW] = instances × pJ/cycle × f[GHz].
A field set both in the accelerator file and by the table is an error, not a silent override.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

from asicsim.errors import InputError
from asicsim.presets import load_yaml

_RANGE = re.compile(r"\[(\d+)\.\.(\d+)\]")
_ACTIONS = {"mac": ("compute", "leak"), "array_reg": ("access",), "vector": ("compute", "leak"),
            "sram": ("read", "write", "leak"), "dram": ("read", "write", "leak"), "crossbar": ("pulse",)}


def _component(raw_name: str) -> tuple[str, int]:
    """(component, instance count) of an Accelergy hierarchical name like ``sys.PE[0..15].mac[0..3]``:
    the last segment without ranges, and the product of all range lengths (64 here)."""
    count = 1
    for a, b in _RANGE.findall(raw_name):
        count *= max(int(b) - int(a) + 1, 1)
    return _RANGE.sub("", raw_name).split(".")[-1], count


def _targets(comp: str, action: str, sram_names: list[str], where: str, file: str) -> tuple[tuple[str, ...], str]:
    """(path of the accelerator field, unit) an action sets."""
    buf = comp[len("sram_"):] if comp.startswith("sram_") and comp[len("sram_"):] in sram_names else comp
    kind = "sram" if buf in sram_names else comp
    if kind not in _ACTIONS:
        raise InputError("unknown component", file=file, field=f"{where}.name", value=comp,
                         allowed="mac, array_reg, vector, dram, crossbar, or an SRAM buffer: " + ", ".join(sram_names))
    if action not in _ACTIONS[kind]:
        raise InputError(f"unknown action for component '{comp}'", file=file, field=f"{where}.actions",
                         value=action, allowed=", ".join(_ACTIONS[kind]))
    fields = {("mac", "compute"): ("array", "mac_pj"), ("mac", "leak"): ("array", "leakage_mw"),
              ("array_reg", "access"): ("array", "register_pj_per_mac"),
              ("vector", "compute"): ("vector", "op_pj"), ("vector", "leak"): ("vector", "leakage_mw"),
              ("sram", "read"): ("sram", buf, "read_pj_per_byte"), ("sram", "write"): ("sram", buf, "write_pj_per_byte"),
              ("sram", "leak"): ("sram", buf, "leakage_mw"),
              ("dram", "read"): ("dram", "read_pj_per_bit"), ("dram", "write"): ("dram", "write_pj_per_bit"),
              ("dram", "leak"): ("dram", "background_mw"), ("crossbar", "pulse"): ("crossbar", "pulse_pj_per_cell")}
    return fields[(kind, action)], kind


def table_overrides(table_file: Path, sram_names: list[str], clock_ghz: float) -> dict[tuple[str, ...], float]:
    """Accelerator field path → value, from an ERT-shaped table file (see module docstring)."""
    file = str(table_file)
    data = load_yaml(table_file)
    body = data.get("ERT", data) if isinstance(data, dict) else None
    tables = body.get("tables") if isinstance(body, dict) else None
    if not isinstance(tables, list) or not tables:
        raise InputError("an energy table needs a list 'ERT: {tables: [...]}' (or top-level 'tables')", file=file,
                         field="ERT.tables", allowed="entries {name, actions: [{name, energy}], width_bits?}")
    out: dict[tuple[str, ...], float] = {}
    for i, t in enumerate(tables):
        where = f"ERT.tables[{i}]"
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not isinstance(t.get("actions"), list):
            raise InputError("each table entry needs a 'name' and a list of 'actions'", file=file, field=where,
                             value=t if not isinstance(t, dict) else None, allowed="{name, actions: [{name, energy}]}")
        extra = set(t) - {"name", "actions", "width_bits"}
        if extra:
            raise InputError("unknown key in a table entry", file=file, field=f"{where}.{min(extra)}",
                             allowed="name, actions, width_bits")
        comp, count = _component(t["name"])
        width = t.get("width_bits")
        seen: set[str] = set()
        for j, a in enumerate(t["actions"]):
            aw = f"{where}.actions[{j}]"
            if not isinstance(a, dict) or not isinstance(a.get("name"), str):
                raise InputError("an action needs a 'name' and an 'energy' (pJ)", file=file, field=aw, value=a)
            e = a.get("energy")
            if isinstance(e, bool) or not isinstance(e, (int, float)) or e < 0:
                raise InputError("energy must be a number of pJ >= 0", file=file, field=f"{aw}.energy", value=e)
            if a["name"] in seen:
                raise InputError("action listed twice (asicsim takes one energy per action; keep one argument set)",
                                 file=file, field=f"{aw}.name", value=a["name"])
            seen.add(a["name"])
            path, kind = _targets(comp, a["name"], sram_names, where, file)
            if a["name"] == "leak":
                value = count * float(e) * clock_ghz           # pJ/cycle × GHz = mW
            elif kind in ("sram", "dram"):
                if isinstance(width, bool) or not isinstance(width, int) or width <= 0:
                    raise InputError(f"a memory entry needs 'width_bits' (bits per {a['name']} access)", file=file,
                                     field=f"{where}.width_bits", value=width, allowed="an integer > 0")
                value = float(e) / (width / 8 if kind == "sram" else width)   # pJ per byte / per bit
            else:
                value = float(e)
            out[path] = value
    return out


def apply_energy_table(data: dict, file: str | Path) -> dict:
    """``data`` with its ``energy: {table: FILE}`` replaced by the table's values (a new mapping)."""
    spec = data.get("energy")
    if not isinstance(spec, dict) or set(spec) != {"table"} or not isinstance(spec["table"], str):
        raise InputError("'energy' must be a mapping with one key 'table' (a file path)", file=file,
                         field="energy", value=spec, allowed="energy: {table: my_ert.yaml}")
    base = Path(file).parent if Path(str(file)).is_file() else Path.cwd()
    table_file = Path(spec["table"])
    table_file = table_file if table_file.is_absolute() else (base / table_file).resolve()
    if not table_file.is_file():
        raise InputError("energy table file not found", file=file, field="energy.table", value=str(table_file))
    out = copy.deepcopy({k: v for k, v in data.items() if k != "energy"})
    sram = out.get("sram") if isinstance(out.get("sram"), dict) else {}
    array = out.get("array") if isinstance(out.get("array"), dict) else {}
    clock = array.get("clock_ghz", 1.0)
    clock = clock if isinstance(clock, (int, float)) and not isinstance(clock, bool) else 1.0
    for path, value in table_overrides(table_file, list(sram), float(clock)).items():
        node = out
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                if key == "crossbar":
                    raise InputError("the table sets crossbar energy but the accelerator has no crossbar",
                                     file=table_file, field="crossbar")
                node[key] = {}
            node = node[key]
        if node.get(path[-1]) is not None:
            raise InputError(f"set both in the accelerator file and by energy table {table_file}", file=file,
                             field=".".join(path), value=node[path[-1]], allowed="one of the two")
        node[path[-1]] = value
    return out
