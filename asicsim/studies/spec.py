"""Study files: design-space sweeps described in YAML (``models/studies/*.yaml``).

A study names a base design (accelerator, network, batch, update rule) and the axes to vary.
Every axis is a dotted path into the resolved configuration::

    name: edge_space
    description: "edge arrays x SRAM x DRAM x batch x update rule"
    base:
      accelerator: edge          # preset name or path (relative paths: to the study file first)
      network: resnet18
      batch: 32
      update: {rule: full}       # asicsim.config.update.UpdateConfig fields
      # phases: [forward, backward_data, weight_gradient, update]
      # ideal_memory: false
    grid:                        # cartesian product of these axes
      array: [{rows: 16, cols: 16}, {rows: 32, cols: 32}]   # a mapping value merges into the section
      sram.global.capacity_kib: [128, 512, 2048]
      dram.preset: [lpddr4, hbm2]
    points:                      # explicit points, crossed with the grid
      - {update.rule: full}
      - {update.rule: sbpca, update.rank: 4}
    random:                      # N random samples (seeded), crossed with grid and points
      samples: 20
      seed: 1
      axes:
        batch: {int_uniform: [8, 128]}
        array.rows: {pow2: [16, 128]}
    report:                      # optional hints for `asicsim report`
      color: update.rule
      heatmaps: [[array.rows, sram.global.capacity_kib]]

Paths: ``array.*``, ``vector.*``, ``sram.<buffer>.*``, ``dram.*``, ``crossbar.*``, ``name`` apply
to the accelerator's raw YAML mapping (then validated by `asicsim.config.hardware.hardware_from_dict`);
``update.*``, ``batch``, ``network``, ``accelerator``, ``phases``, ``ideal_memory`` to the run;
``system`` (a system preset or file) and ``system.*`` (``system.chips``, ``system.link.bandwidth_gbps``,
``system.collective.bucket_mib``, …) to the multi-chip system (`asicsim.studies.system_axes`).
A mapping value merges into the mapping at its path; anything else replaces the value.

Each block (grid, points, random) yields a list of override sets; the study's points are the
product of the blocks present (a study with none has one point: the base). Every point is
validated at load: a bad value is reported with the axis that set it. Each point is keyed by a
hash of its full resolved configuration (validated hardware with all defaults filled in,
network layers, batch, update, phases, ideal_memory), so results are reused whenever the same
design comes up again, whatever study or axis produced it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from asicsim.inputs import Strict

from asicsim.config.hardware import (
    ArrayConfig,
    CrossbarConfig,
    DramConfig,
    VectorConfig,
)
from asicsim.config.technology import TechnologyConfig

HASH_VERSION = 1          # bump when the meaning of a resolved config changes
MAX_POINTS = 1_000_000

HW_SECTIONS: dict[str, type[BaseModel]] = {
    "array": ArrayConfig, "vector": VectorConfig, "dram": DramConfig, "crossbar": CrossbarConfig,
    "technology": TechnologyConfig,
}
HW_LEAVES = ("name", "description", "buffering", "mapping_objective")   # top-level fields, no sub-fields
HW_ROOTS = HW_LEAVES + ("array", "vector", "sram", "dram", "crossbar", "technology")
RUN_ROOTS = ("accelerator", "network", "batch", "update", "phases", "ideal_memory", "system", "execution")
ALLOWED_ROOTS = ", ".join(RUN_ROOTS + HW_ROOTS)

DISTRIBUTIONS = ("choice", "uniform", "log_uniform", "int_uniform", "int_log_uniform", "pow2")


class _Strict(Strict):
    """Schema base: see `asicsim.inputs.Strict` (unknown keys refused, frozen, finite numbers)."""


class BaseSpec(_Strict):
    accelerator: str = "edge"
    network: str
    batch: int = Field(32, gt=0)
    update: dict[str, Any] = Field(default_factory=dict)
    phases: list[str] | None = None
    ideal_memory: bool = False
    system: str | None = None      # a multi-chip system (preset or file): data-parallel points
    execution: str | dict[str, Any] | None = None   # an execution preset, file, or mapping of its fields


class RandomSpec(_Strict):
    samples: int = Field(gt=0, le=MAX_POINTS)
    seed: int = 0
    axes: dict[str, Any] = Field(min_length=1)


class ReportSpec(_Strict):
    color: str | None = None
    heatmaps: list[tuple[str, str]] = Field(default_factory=list)


class StudyFile(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    base: BaseSpec
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    points: list[dict[str, Any]] = Field(default_factory=list)
    random: RandomSpec | None = None
    report: ReportSpec = ReportSpec()


@dataclass(frozen=True)
class Point:
    """One fully resolved design point: what a worker needs to simulate it (picklable)."""
    index: int                 # position in the study's expansion order
    key: str                   # hash of the full resolved configuration
    axes: dict                 # every path the study varies -> this point's value (resolved if unset)
    hardware: dict             # the accelerator's raw mapping with overrides applied
    hardware_file: str
    accelerator_name: str
    network: str               # resolved path of the network file
    network_name: str
    batch: int
    update: dict
    phases: tuple[str, ...]
    ideal_memory: bool
    system: dict | None = None     # the system's raw mapping with overrides (None: one chip)
    system_file: str = ""
    execution: dict | None = None  # the execution's fields (None: the default, scalesim)


@dataclass
class Study:
    name: str
    description: str
    file: str
    axes: list[str]            # leaf paths the study varies, in order of first appearance
    points: list[Point]
    duplicates: int = 0        # override sets that resolved to a point already in the list
    report: dict = field(default_factory=dict)
    spec: dict = field(default_factory=dict)   # the validated study file, as plain data

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.points]


