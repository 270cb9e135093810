"""Validation against published silicon: re-simulate every row of a measurements table.

A row names a published measurement (chip, workload, batch, phase, metric, value, unit, source)
and how to reproduce it with asicsim: the accelerator preset (and a multi-chip system preset
where the measurement spans several chips), the network, which layers it covers (``scope``),
and the execution spec. `simulate_row` returns asicsim's number in the row's unit; `validate`
puts measured and simulated side by side with the error.

Metrics and how asicsim's number is formed from a simulated step (all per the row's scope):

* ``latency_ms``: simulated time of one batch (cycles / clock), stalls on memory included.
* ``processing_latency_ms``: the array and vector unit's busy time (no memory stalls), what a chip
  reports as "processing latency" next to its total latency; on a chip whose weights go from DRAM
  straight into the PE pads (``retains: false``: Eyeriss), also the link time of those fills
  (``pad_fill_bytes`` over the DRAM bytes per cycle), which the array waits for inside its
  processing: the pads are its operand registers, and no buffer holds the next filters.
* ``throughput_img_s``: images per second, batch / time; with a system, all chips' images.
* ``power_mw`` / ``power_w``: on-chip power, energy of every component but DRAM over the time
  (published chip power is measured at the chip's supply, without the DRAM devices).
* ``energy_mj`` / ``energy_per_image_mj``: that on-chip energy of the batch, or per image.
* ``tops``: achieved 10¹² operations per second, two per MAC.
* ``dram_access_per_mac``: DRAM words (of the operand width) moved per MAC.
* ``dram_mb``: DRAM bytes moved, in MB (10⁶ bytes).
* ``glb_mb``: bytes read and written in the on-chip buffer that holds the ifmaps (the global
  buffer), in MB, DMA fills and drains included.
* ``active_pes``: PEs busy in a full pass of a row-stationary layer (`rs_sets`), a property of
  the mapping that chips publish next to their per-layer measurements.
* ``utilization``: MACs / (PEs × cycles).
* ``train_hours`` / ``train_minutes``: ``steps`` training steps of the row's step time (a
  published time-to-train with its step count; evaluation passes and input stalls are not modelled).

``chips``: with a ``system``, its chip count (each chip takes ``batch`` samples, data-parallel);
without one, independent replicas of the single-chip run (inference servers: throughput × chips).

A row whose error is over `EXPLAIN_ABOVE_PCT` needs a ``known_gap``: what the chip does that the
model does not, or what is uncertain in the published setup. The record marks rows without
one as unexplained, so a new measurement cannot hide a large error; a ``known_gap`` that starts
with "suspected" names a likely cause not yet confirmed, and the row stays unexplained.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, ValidationError, field_validator

from asicsim.config.execution import load_execution
from asicsim.config.hardware import load_hardware
from asicsim.config.update import UpdateConfig
from asicsim.errors import InputError
from asicsim.engine.energy import power_energy_pj
from asicsim.engine.row_stationary import rs_sets
from asicsim.inputs import Strict
from asicsim.studies.step import simulate
from asicsim.workload.lowering import PHASES, conv_shape
from asicsim.workload.network import load_network

EXPLAIN_ABOVE_PCT = 15.0
UNITS = {"latency_ms": "ms", "processing_latency_ms": "ms", "throughput_img_s": "img/s", "power_mw": "mW",
         "power_w": "W", "energy_mj": "mJ", "energy_per_image_mj": "mJ", "tops": "TOPS",
         "dram_access_per_mac": "accesses/MAC", "dram_mb": "MB", "glb_mb": "MB", "utilization": "fraction",
         "active_pes": "PEs", "train_hours": "h", "train_minutes": "min"}
# other spellings of a unit that papers and results pages print (compared case-insensitively)
UNIT_ALIASES = {"img/s": ("images/s", "frames/s", "fps", "inferences/s", "samples/s", "examples/s"),
                "fraction": ("ratio",), "TOPS": ("tera-ops/s", "teraops/s")}
Metric = Literal["latency_ms", "processing_latency_ms", "throughput_img_s", "power_mw", "power_w", "energy_mj",
                 "energy_per_image_mj", "tops", "dram_access_per_mac", "dram_mb", "glb_mb", "utilization",
                 "active_pes", "train_hours", "train_minutes"]
COLUMNS = ("id", "chip", "preset", "system", "chips", "network", "scope", "batch", "steps", "phase", "execution",
           "metric", "value", "unit", "source", "url", "notes", "known_gap")
REQUIRED = ("id", "chip", "preset", "network", "batch", "phase", "metric", "value", "unit", "source")


class Measurement(Strict):
    """One published measurement and the simulation that reproduces it."""
    id: str = Field(min_length=1)
    chip: str = Field(min_length=1)
    preset: str = Field(min_length=1)          # models/accelerators preset or YAML file
    system: str | None = None                  # models/systems preset: a multi-chip measurement
    chips: int | None = Field(None, gt=0, le=1 << 16)   # system size, or inference replicas
    steps: int | None = Field(None, gt=0)      # training steps of a train_hours row
    network: str = Field(min_length=1)         # models/networks preset, YAML or ONNX file
    scope: str = "all"                         # all | conv (conv layers only) | one layer's name
    batch: int = Field(gt=0, le=1 << 16)       # per chip
    phase: Literal["inference", "training"]
    execution: str | None = None               # default: inference / realistic by phase
    metric: Metric
    value: float = Field(gt=0)
    unit: str
    source: str = Field(min_length=8)          # paper + table/figure, or page address
    url: str = ""
    notes: str = ""
    known_gap: str = ""

    @field_validator("unit")
    @classmethod
    def _unit(cls, v, info):
        want = UNITS.get(info.data.get("metric", ""))
        if want is not None and v.lower() not in {want.lower(), *UNIT_ALIASES.get(want, ())}:
            names = ", ".join((want,) + UNIT_ALIASES.get(want, ()))
            raise ValueError(f"unit of {info.data['metric']} is {names}")
        return v


def load_measurements(path: str | Path) -> list[Measurement]:
    """Rows of a measurements CSV; a bad row is an `InputError` naming the file, line, field, value."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({type(exc).__name__})", file=path) from None
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError("missing columns", file=path, field="header", value=missing,
                         allowed=", ".join(COLUMNS))
    rows, seen = [], set()
    for i, raw in enumerate(reader, start=2):
        if None in raw:
            raise InputError("more fields than columns", file=f"{path}:{i}", field="row", value=raw[None])
        data = {k: v.strip() for k, v in raw.items() if k in COLUMNS and v is not None and v.strip() != ""}
        try:
            m = Measurement(**data)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "row"
            raise InputError(err["msg"], file=f"{path}:{i}", field=field,
                             value=raw.get(field, data.get(field))) from None
        if m.id in seen:
            raise InputError("repeats an id", file=f"{path}:{i}", field="id", value=m.id)
        _check_names(m, f"{path}:{i}")
        seen.add(m.id)
        rows.append(m)
    if not rows:
        raise InputError("has no rows", file=path)
    return rows


def _check_names(m: Measurement, where: str) -> None:
    """Every preset a row names exists (so a typo fails at load, naming the row, not mid-run)."""
    from asicsim.config.execution import EXECUTIONS_DIR
    from asicsim.presets import ACCELERATORS_DIR, NETWORKS_DIR, SYSTEMS_DIR, resolve_preset
    for field, value, folder, kind in (("preset", m.preset, ACCELERATORS_DIR, "accelerator"),
                                       ("network", m.network, NETWORKS_DIR, "network"),
                                       ("system", m.system, SYSTEMS_DIR, "system"),
                                       ("execution", m.execution, EXECUTIONS_DIR, "execution")):
        if value is None or (field == "network" and value.lower().endswith(".onnx") and Path(value).exists()):
            continue
        try:
            resolve_preset(value, folder, kind)
        except InputError as exc:
            raise InputError(exc.message, file=where, field=field, value=value, allowed=exc.allowed) from None


def _scoped(layers: pd.DataFrame, kinds: dict[str, str], scope: str, where: str) -> pd.DataFrame:
    if scope == "all":
        return layers
    if scope == "conv":
        return layers[layers["layer"].map(kinds).eq("conv")]
    if scope not in kinds:
        raise InputError("no such layer in the network", file=where, field="scope", value=scope,
                         allowed="all, conv or a layer name")
    return layers[layers["layer"] == scope]


@lru_cache(maxsize=64)
def _run(preset: str, network: str, batch: int, training: bool, execution: str, system: str | None,
         chips: int | None):
    """(hardware, network, per-layer table, step seconds, chips): one simulation, shared by every row
    that measures a different metric or layer of the same run."""
    hw = load_hardware(preset)
    net = load_network(network)
    ex = load_execution(execution)
    upd = UpdateConfig(rule="full", momentum=0.0)   # the optimizer is the execution spec's
    if system is not None:
        from asicsim.studies.multichip import simulate_system
        from asicsim.system.config import load_system
        sysc = load_system(system, chips=chips)
        res = simulate_system(hw, net, batch, upd, sysc, execution=ex)
        return hw, net, res.step.layers, res.summary["system"]["step_time_s"], sysc.chips
    res = simulate(hw, net, batch, upd, PHASES if training else ("forward",), execution=ex)
    return hw, net, res.layers, res.time_s, chips or 1


def _run_of(m: Measurement):
    """`_run` of the row's setup (execution by phase unless the row names one)."""
    training = m.phase == "training"
    return _run(m.preset, m.network, m.batch, training, m.execution or ("realistic" if training else "inference"),
                m.system, m.chips)


def simulate_row(m: Measurement, where: str = "measurements") -> float:
    """asicsim's value of ``m.metric`` for the row's setup (same unit as the measurement)."""
    training = m.phase == "training"
    if m.system is not None and (not training or m.scope != "all"):
        raise InputError("a system row must be a whole training step", file=where, field="system",
                         value=m.system, allowed="phase training, scope all")
    if m.metric in ("train_hours", "train_minutes") and (not training or m.steps is None):
        raise InputError("a train_hours row is a training row with its step count", file=where,
                         field="steps", value=m.steps, allowed="phase training and steps > 0")
    hw, net, layers, step_s, chips = _run_of(m)
    kinds = {l.name: l.kind for l in net.layers}
    sel = _scoped(layers, kinds, m.scope, where)
    if m.metric == "active_pes":
        return _active_pes(hw, net, m, where)
    cycles = float(sel["total_cycles"].sum())
    seconds = step_s if m.scope == "all" else cycles / hw.clock_hz
    macs = float(sel["macs"].sum())
    if m.metric == "latency_ms":
        return seconds * 1e3
    if m.metric == "processing_latency_ms":
        pad_cycles = float(sel["pad_fill_bytes"].sum()) / hw.dram_bytes_per_cycle if "pad_fill_bytes" in sel else 0.0
        return (float(sel["compute_cycles"].sum()) + pad_cycles) / hw.clock_hz * 1e3
    if m.metric == "throughput_img_s":
        return chips * m.batch / seconds
    if m.metric == "train_hours":
        return m.steps * seconds / 3600
    if m.metric == "train_minutes":
        return m.steps * seconds / 60
    if m.metric in ("power_mw", "power_w", "energy_mj", "energy_per_image_mj"):
        e_cols = [c for c in sel.columns if c.startswith("energy_") and c.endswith("_pj")
                  and c not in ("energy_pj", "energy_dram_pj")]
        joules = float(sel[e_cols].to_numpy().sum()) * 1e-12
        return {"power_mw": joules / seconds * 1e3, "power_w": joules / seconds, "energy_mj": joules * 1e3,
                "energy_per_image_mj": joules * 1e3 / m.batch}[m.metric]
    if m.metric == "tops":
        return 2 * macs * chips / seconds / 1e12
    dram_bytes = float((sel["dram_read_bytes"] + sel["dram_write_bytes"]).sum())
    if m.metric == "dram_access_per_mac":
        return dram_bytes / hw.array.operand_bytes / macs
    if m.metric == "dram_mb":
        return dram_bytes / 1e6
    if m.metric == "glb_mb":
        return _glb_bytes(hw, sel, where, m) / 1e6
    return macs / (hw.array.rows * hw.array.cols * cycles)


def _glb_bytes(hw, sel: pd.DataFrame, where: str, m: Measurement) -> float:
    """Bytes through the buffer holding the ifmaps, from its energy column less its leakage (the
    layer table keeps one energy column per buffer and the bytes summed over buffers; read and
    write cost the same per byte unless the preset says otherwise, which this metric then refuses)."""
    name = hw.buffer_of("ifmap")
    buf = hw.sram[name]
    if buf.read_pj_per_byte != buf.write_pj_per_byte or buf.read_pj_per_byte <= 0:
        raise InputError("glb_mb needs equal, non-zero read and write energies of the global buffer",
                         file=where, field="metric", value=m.metric, allowed="another metric")
    # the column also holds the buffer's leakage over the layer's cycles: not accesses
    leak_pj = power_energy_pj(buf.leakage_mw, float(sel["total_cycles"].sum()), hw.array.clock_ghz)
    return (float(sel[f"energy_sram_{name}_pj"].sum()) - leak_pj) / buf.read_pj_per_byte


def _active_pes(hw, net, m: Measurement, where: str) -> float:
    layer = next((l for l in net.layers if l.name == m.scope), None)
    shape = conv_shape(layer) if layer is not None else None
    if hw.array.dataflow != "rs" or shape is None:
        raise InputError("active_pes is defined for one conv layer on a row-stationary array", file=where,
                         field="scope", value=m.scope, allowed="a conv layer's name, with a dataflow rs preset")
    return float(rs_sets(shape, hw.array.rows, hw.array.cols).active_pes)


def validate(rows: list[Measurement], where: str = "measurements", progress=None) -> pd.DataFrame:
    """Measured vs simulated for every row: error % = (simulated − measured) / measured · 100."""
    out = []
    for m in rows:
        sim = simulate_row(m, where)
        err = (sim - m.value) / m.value * 100.0
        big = abs(err) > EXPLAIN_ABOVE_PCT
        suspected = m.known_gap.lower().startswith("suspected")
        status = "ok" if not big else ("explained" if m.known_gap and not suspected else "UNEXPLAINED")
        out.append({"id": m.id, "chip": m.chip, "workload": m.network if m.scope == "all" else f"{m.network} [{m.scope}]",
                    "batch": m.batch, "phase": m.phase, "metric": m.metric, "unit": m.unit,
                    "measured": m.value, "simulated": sim, "error_pct": err, "status": status,
                    "known_gap": m.known_gap if big else "", "source": m.source})
        if progress is not None:
            progress()
    return pd.DataFrame(out)


def buffer_rates(rows: list[Measurement], table: pd.DataFrame) -> pd.DataFrame:
    """Bytes through the global buffer per processing cycle, measured and simulated, for every
    layer a chip publishes both ``glb_mb`` and ``processing_latency_ms`` for (a bandwidth check:
    a measured rate that stays flat while the utilisation moves says the buffer's port, not the
    array, sets the layer's time). Utilisation = MACs / (PEs × processing cycles), MACs from the
    layer's shape. ``table``: `validate`'s table of the same rows."""
    t = table.set_index("id")
    pairs: dict[tuple, dict[str, Measurement]] = {}
    for m in rows:
        if m.metric in ("glb_mb", "processing_latency_ms") and m.scope not in ("all", "conv"):
            key = (m.chip, m.preset, m.network, m.scope, m.batch, m.phase, m.execution)
            pairs.setdefault(key, {})[m.metric] = m
    out = []
    for both in pairs.values():
        if len(both) < 2:
            continue
        glb, proc = both["glb_mb"], both["processing_latency_ms"]
        hw, _, layers, _, _ = _run_of(glb)
        macs = float(layers.loc[layers["layer"] == glb.scope, "macs"].sum())
        row = {"chip": glb.chip, "workload": f"{glb.network} [{glb.scope}]", "batch": glb.batch,
               "port_bytes_per_cycle": hw.sram[hw.buffer_of("ifmap")].bytes_per_cycle}
        for side in ("measured", "simulated"):
            cycles = float(t.loc[proc.id, side]) * 1e-3 * hw.clock_hz
            row[f"{side}_bytes_per_cycle"] = float(t.loc[glb.id, side]) * 1e6 / cycles
            row[f"{side}_utilization"] = macs / (hw.peak_macs_per_cycle * cycles)
        out.append(row)
    return pd.DataFrame(out)


# active PEs are a property of the mapping, not a time: they get their own class, so exact PE counts do
# not pull the time median down (its goal is the time goal's, as they set a layer's peak rate)
METRIC_CLASS = {"latency_ms": "time", "processing_latency_ms": "time", "throughput_img_s": "time",
                "utilization": "time", "active_pes": "mapping", "tops": "time", "power_mw": "energy",
                "power_w": "energy", "energy_mj": "energy", "energy_per_image_mj": "energy",
                "dram_access_per_mac": "traffic", "dram_mb": "traffic", "glb_mb": "traffic", "train_hours": "time",
                "train_minutes": "time"}
GOAL_PCT = {"time": 15.0, "energy": 25.0, "traffic": 25.0, "mapping": 15.0}


def goal_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Median |error| per metric class against its goal (time and mapping 15 %, energy/traffic 25 %)."""
    t = table.assign(cls=table["metric"].map(METRIC_CLASS), abs_err=table["error_pct"].abs())
    rows = []
    for cls, g in t.groupby("cls", sort=False):
        med = float(g["abs_err"].median())
        rows.append({"class": cls, "rows": len(g), "median_abs_error_pct": med, "goal_pct": GOAL_PCT[cls],
                     "met": bool(med <= GOAL_PCT[cls]),
                     "over_30_unexplained": int(((g["abs_err"] > 30) & (g["status"] == "UNEXPLAINED")).sum())})
    return pd.DataFrame(rows)
