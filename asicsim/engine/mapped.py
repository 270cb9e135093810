"""The mapper's typed results: tile steps, mapped ops, residency plans, and the SRAM space
tiles may use (read by the tiling search, the event simulation and the energy model).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from asicsim.config.hardware import HardwareConfig


class Step(NamedTuple):
    """``count`` identical consecutive tile steps (bytes, cycles per step). A typed named tuple
    rather than a frozen dataclass: a sweep builds and hashes millions of them (the timing memo's
    key holds an op's whole step list), and tuple construction, equality and hashing run in C."""
    count: int
    load_bytes: int
    compute_cycles: int
    write_bytes: int


@dataclass(frozen=True)
class MappedOp:
    layer: str
    phase: str
    unit: str                  # "array" | "vector"
    kind: str                  # "gemm" or the vector op's kind
    m: int
    k: int
    n: int
    groups: int
    macs: int
    vector_ops: int
    tiling: str
    steps: tuple[Step, ...]
    compute_cycles: int
    dram_read_bytes: int
    dram_write_bytes: int
    sram_read_bytes: dict = field(default_factory=dict)   # buffer name → bytes
    sram_write_bytes: dict = field(default_factory=dict)
    kept_on_chip: tuple[str, ...] = ()
    cell_pulses: int = 0       # crossbar cell programming events (CrossbarOp)
    array_adds: int = 0        # signed additions on the array with no multiply (bdfa feedback, sketch)
    # bytes of the B operand (forward: the weights) sent from DRAM straight into the PE pads (a
    # filter buffer with retains: false), part of dram_read_bytes; the array waits for these fills
    pad_fill_bytes: int = 0


@dataclass(frozen=True)
class ResidencyPlan:
    """Which persistent tensors live on chip for the whole step, and the SRAM they reserve."""
    name: str
    resident: frozenset
    reserved_bytes: dict          # buffer → bytes


@dataclass(frozen=True)
class Mapping:
    plan: ResidencyPlan
    ops: tuple[MappedOp, ...]

    @property
    def dram_bytes(self) -> int:
        return sum(o.dram_read_bytes + o.dram_write_bytes for o in self.ops)


class SramSpace:
    """SRAM space available to tiles, per buffer, and where each operand role lives."""

    def __init__(self, hw: HardwareConfig, plan: ResidencyPlan, ideal: bool):
        self.ideal = ideal
        self.buf_of = {op: hw.buffer_of(op) for op in ("ifmap", "filter", "ofmap")}
        self.budget = {b: (math.inf if ideal else cfg.capacity_bytes - plan.reserved_bytes.get(b, 0))
                       for b, cfg in hw.sram.items()}
        self.bpc = {b: (math.inf if ideal else cfg.bytes_per_cycle) for b, cfg in hw.sram.items()}
        self.weights_streamed = hw.weights_streamed     # fetched again for every tile
        self.dram_bpc = hw.dram_bytes_per_cycle     # for the time objective of the tile search
        self.slots = hw.tile_slots   # copies of a tile that is not the operand's only one (2: double-buffered)


