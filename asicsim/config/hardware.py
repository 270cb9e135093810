"""Hardware description: the accelerator YAML schema, presets and default energy numbers.

Validated at load (pydantic, frozen) so every later stage can trust the numbers. Every default
energy figure below cites its source; a YAML file may override any of them.

Sources of defaults
-------------------
* [H14] M. Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm, 0.9 V table:
  int8 add 0.03 pJ, int8 mult 0.2 pJ, int32 add 0.1 pJ, int32 mult 3.1 pJ,
  fp16 add 0.4 pJ, fp16 mult 1.1 pJ, fp32 add 0.9 pJ, fp32 mult 3.7 pJ;
  SRAM 64-bit read: 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ.
* [CACTI-√] CACTI-style scaling of SRAM access energy with √capacity, anchored at [H14]'s 8 KB
  point (10 pJ per 64-bit word = 1.25 pJ/byte): e(C) = 1.25 pJ/B · √(C / 8 KiB). It gives
  2.5 pJ/B at 32 KB (H14: 2.5) and 14.1 pJ/B at 1 MB (H14: 12.5).
* [ACG] Accelergy table-based plug-in DRAM energies: LPDDR4 8 pJ/bit, DDR4 15 pJ/bit,
  HBM2 3.9 pJ/bit (same figure for reads and writes).
* [JEDEC] interface peak bandwidths: DDR4-3200 ×64 = 25.6 GB/s per channel; LPDDR4-4266 ×32
  = 17.1 GB/s per channel; LPDDR5-6400 ×32 = 25.6 GB/s per channel; HBM2 2.0 Gb/s ×1024 =
  256 GB/s per stack; HBM2e 3.6 Gb/s ×1024 = 460 GB/s; HBM3 6.4 Gb/s ×1024 = 819 GB/s.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, model_serializer, model_validator

from asicsim.config.dram_timing import DramTimingConfig
from asicsim.config.energy_table import apply_energy_table
from asicsim.config.technology import TechnologyConfig
from asicsim.inputs import Strict
from asicsim.errors import InputError, validated
from asicsim.presets import ACCELERATORS_DIR, load_yaml, resolve_preset

Dataflow = Literal["ws", "os", "is", "rs"]
Operand = Literal["ifmap", "filter", "ofmap"]


def default_mac_pj(operand_bits: int, accumulator_bits: int) -> float:
    """Energy of one MAC (pJ): multiply at operand width + add at accumulator width [H14].

    Integer ≤ 8-bit operands use the int8 figures; 16-bit operands the fp16 ones (bf16/fp16
    training); wider the fp32 ones. Accumulator add: ≤ 16-bit fp16 add, else fp32 add (int32
    add for int8 operands)."""
    if operand_bits <= 8:
        mult = 0.2
        add = 0.03 if accumulator_bits <= 8 else 0.1
    elif operand_bits <= 16:
        mult = 1.1
        add = 0.4 if accumulator_bits <= 16 else 0.9
    else:
        mult = 3.7
        add = 0.9
    return mult + add


def default_sram_pj_per_byte(bank_capacity_kib: float) -> float:
    """SRAM access energy per byte for one bank of this capacity [CACTI-√] anchored at [H14]."""
    return 1.25 * math.sqrt(max(bank_capacity_kib, 1.0) / 8.0)


# name: (GB/s per channel, default channels, latency ns, read pJ/bit, write pJ/bit, background mW per channel)
DRAM_PRESETS: dict[str, tuple[float, int, float, float, float, float]] = {
    "ddr4": (25.6, 1, 50.0, 15.0, 15.0, 150.0),    # [JEDEC], [ACG]; background: Micron TN-40-07 order
    "lpddr4": (17.1, 2, 60.0, 8.0, 8.0, 30.0),     # [JEDEC], [ACG]
    "lpddr5": (25.6, 2, 60.0, 6.0, 6.0, 30.0),     # [JEDEC]; ~25% below LPDDR4 (vendor claims), an estimate
    "hbm2": (256.0, 1, 100.0, 3.9, 3.9, 300.0),    # [JEDEC], [ACG]
    "hbm2e": (460.0, 1, 100.0, 3.9, 3.9, 350.0),   # [JEDEC]; energy/bit as HBM2 [ACG], an estimate
    "hbm3": (819.0, 1, 100.0, 3.5, 3.5, 400.0),    # [JEDEC]; ~10% below HBM2, an estimate
}


class _Strict(Strict):
    """Schema base: see `asicsim.inputs.Strict` (unknown keys refused, frozen, finite numbers)."""


class RegisterFileConfig(_Strict):
    """Per-PE register files of a row-stationary array (words). Defaults: Eyeriss v1's scratch
    pads (Chen et al., JSSC 2017, Sec. IV-B: filter 224, ifmap 12, psum 24 16-bit words)."""
    filter_words: int = Field(224, gt=0, le=1 << 20)
    ifmap_words: int = Field(12, gt=0, le=1 << 20)
    psum_words: int = Field(24, gt=0, le=1 << 20)


def rs_scratchpad_pj_per_mac(rf: "RegisterFileConfig", operand_bytes: int, accumulator_bytes: int) -> float:
    """Scratch-pad energy of one row-stationary MAC (pJ): a PE reads a weight from its filter pad
    and an activation from its ifmap pad, and reads and writes its psum pad, each pad a small SRAM
    priced as a bank of its own size [CACTI-√] (pads below 1 KiB at the 1 KiB figure)."""
    def pj(words: int, width: int) -> float:
        return default_sram_pj_per_byte(words * width / 1024)
    return (operand_bytes * (pj(rf.filter_words, operand_bytes) + pj(rf.ifmap_words, operand_bytes))
            + 2 * accumulator_bytes * pj(rf.psum_words, accumulator_bytes))


class ArrayConfig(_Strict):
    """MAC array: a systolic array (ws/os/is) or a row-stationary PE array (rs)."""
    rows: int = Field(gt=0, le=4096)
    cols: int = Field(gt=0, le=4096)
    dataflow: Dataflow = "ws"
    clock_ghz: float = Field(1.0, gt=0, le=10)
    operand_bits: int = Field(16, ge=1, le=64)
    accumulator_bits: int = Field(32, ge=1, le=64)
    mac_pj: float | None = Field(None, ge=0)          # default: default_mac_pj() [H14]
    register_pj_per_mac: float | None = Field(None, ge=0)  # operand/psum register traffic per MAC
    leakage_mw: float = Field(0.0, ge=0)
    register_file: RegisterFileConfig | None = None   # rs only; default RegisterFileConfig()

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        # left out when unset, so a config's dump (and the sweep hash made from it) is unchanged
        d = handler(self)
        if isinstance(d, dict) and self.register_file is None:
            d.pop("register_file", None)
        return d

    @model_validator(mode="after")
    def _defaults(self):
        if self.register_file is not None and self.dataflow != "rs":
            raise ValueError("'register_file' is for the row-stationary dataflow (dataflow: rs)")
        if self.mac_pj is None:
            object.__setattr__(self, "mac_pj", default_mac_pj(self.operand_bits, self.accumulator_bits))
        if self.register_pj_per_mac is None and self.dataflow == "rs":
            object.__setattr__(self, "register_pj_per_mac", rs_scratchpad_pj_per_mac(
                self.register_files, self.operand_bytes, self.accumulator_bytes))
        if self.register_pj_per_mac is None:
            # three register accesses per MAC (operand in, operand forward, psum) at ~ the cost of a
            # same-width add each [H14: a 16-bit register access is of the order of an 8/16-bit add]
            per = 0.03 if self.operand_bits <= 8 else 0.05
            object.__setattr__(self, "register_pj_per_mac", 3 * per)
        return self

    @property
    def register_files(self) -> RegisterFileConfig:
        """The PE register files of a row-stationary array (the given ones, or Eyeriss's)."""
        return self.register_file or RegisterFileConfig()

    @property
    def operand_bytes(self) -> int:
        return math.ceil(self.operand_bits / 8)

    @property
    def accumulator_bytes(self) -> int:
        return math.ceil(self.accumulator_bits / 8)


class VectorConfig(_Strict):
    """Vector/scalar unit for element-wise work (activations, pooling, BN, loss, SGD, QR)."""
    lanes: int = Field(32, gt=0, le=65536)
    op_pj: float | None = Field(None, ge=0)   # pJ per element op; default below [H14]
    leakage_mw: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _defaults(self):
        if self.op_pj is None:
            # an fp16 multiply-add per element op [H14]: 1.1 + 0.4 pJ
            object.__setattr__(self, "op_pj", 1.5)
        return self


class SramConfig(_Strict):
    """One on-chip SRAM buffer holding one or more GEMM operands."""
    capacity_kib: float = Field(gt=0)
    holds: tuple[Operand, ...] = ("ifmap", "filter", "ofmap")
    banks: int = Field(1, gt=0)
    bytes_per_cycle: float = Field(64.0, gt=0)     # all ports together
    read_pj_per_byte: float | None = Field(None, ge=0)   # default [CACTI-√] on capacity/banks
    write_pj_per_byte: float | None = Field(None, ge=0)  # default = read
    leakage_mw: float | None = Field(None, ge=0)   # default 0.01 mW per KiB (order of 45 nm SRAM)
    # False: a staging path that keeps nothing between tiles (Eyeriss's filter scratch pads, fed from
    # DRAM pass by pass): its operand's tiles take no slot and are fetched again for every tile
    retains: bool = True

    @model_validator(mode="after")
    def _defaults(self):
        if not self.holds:
            raise ValueError("'holds' must name at least one of ifmap, filter, ofmap")
        if len(set(self.holds)) != len(self.holds):
            raise ValueError(f"'holds' repeats an operand: {list(self.holds)}")
        if self.read_pj_per_byte is None:
            object.__setattr__(self, "read_pj_per_byte", default_sram_pj_per_byte(self.capacity_kib / self.banks))
        if self.write_pj_per_byte is None:
            object.__setattr__(self, "write_pj_per_byte", self.read_pj_per_byte)
        if self.leakage_mw is None:
            object.__setattr__(self, "leakage_mw", 0.01 * self.capacity_kib)
        if not self.retains and tuple(self.holds) != ("filter",):
            raise ValueError(f"'retains: false' is for a buffer that holds only filters (weights streamed to "
                             f"the PEs), not {list(self.holds)}")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        d = handler(self)     # left out at its default: existing configs dump (and hash) as before
        if isinstance(d, dict) and self.retains:
            d.pop("retains", None)
        return d

    @property
    def capacity_bytes(self) -> int:
        return int(self.capacity_kib * 1024)


class DramConfig(_Strict):
    """Off-chip DRAM link: a technology preset, or explicit numbers (which override the preset).

    ``model``: ``bandwidth`` (default: one FIFO pipe at the aggregate bandwidth, latency pipelined)
    or ``banked`` (per channel/bank row-buffer state, refresh, turnaround: `asicsim.engine.dram`,
    device numbers from `asicsim.config.dram_timing`, overridable in ``timing``)."""
    model: Literal["bandwidth", "banked"] = "bandwidth"
    timing: DramTimingConfig | None = None
    preset: Literal["ddr4", "lpddr4", "lpddr5", "hbm2", "hbm2e", "hbm3"] | None = None
    channels: int | None = Field(None, gt=0, le=64)
    bandwidth_gb_s: float | None = Field(None, gt=0)   # per channel, GB/s (1e9 bytes/s)
    latency_ns: float | None = Field(None, ge=0)
    read_pj_per_bit: float | None = Field(None, ge=0)
    write_pj_per_bit: float | None = Field(None, ge=0)
    background_mw: float | None = Field(None, ge=0)    # per channel
    capacity_gib: float | None = Field(None, gt=0)     # GiB (2^30 bytes) of DRAM; None = not checked
    # run-length coding of activations with a known zero fraction (`asicsim.engine.compression`)
    activation_codec: Literal["none", "rlc"] = "none"
    rlc_run_bits: int = Field(5, ge=1, le=16)          # bits of a zero-run count
    rlc_word_bits: int = Field(64, ge=8, le=1024)      # link word holding whole (run, level) pairs

    @model_validator(mode="after")
    def _defaults(self):
        if self.preset is None:
            missing = [f for f in ("bandwidth_gb_s", "latency_ns", "read_pj_per_bit", "write_pj_per_bit")
                       if getattr(self, f) is None]
            if missing:
                raise ValueError(f"without a 'preset' these must be given: {', '.join(missing)}")
            vals = (self.bandwidth_gb_s, 1, self.latency_ns, self.read_pj_per_bit, self.write_pj_per_bit, 0.0)
        else:
            vals = DRAM_PRESETS[self.preset]
        for name, v in zip(("bandwidth_gb_s", "channels", "latency_ns", "read_pj_per_bit",
                            "write_pj_per_bit", "background_mw"), vals):
            if getattr(self, name) is None:
                object.__setattr__(self, name, v)
        if self.model == "banked":
            self.banked_timing()          # every device number must resolve
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        # the banked-model fields are left out at their defaults, so a config's dump (and the sweep
        # hash made from it) is what it was before they existed
        d = handler(self)
        if isinstance(d, dict) and self.model == "bandwidth" and self.timing is None:
            d.pop("model", None)
            d.pop("timing", None)
        if isinstance(d, dict) and self.capacity_gib is None:
            d.pop("capacity_gib", None)
        if isinstance(d, dict) and self.activation_codec == "none":
            for k in ("activation_codec", "rlc_run_bits", "rlc_word_bits"):
                d.pop(k, None)
        return d

    def banked_timing(self) -> dict:
        """Device numbers of the banked model: preset values overridden by ``timing``."""
        return (self.timing or DramTimingConfig()).resolved(self.preset)

    @property
    def total_bandwidth_gb_s(self) -> float:
        return self.bandwidth_gb_s * self.channels


class CrossbarConfig(_Strict):
    """In-memory crossbar weight store (for SBPCA's outer-product updates)."""
    pulse_ns: float = Field(10.0, gt=0)       # one outer-product programming pulse over the array
    pulse_pj_per_cell: float = Field(0.1, ge=0)


class HardwareConfig(_Strict):
    """An accelerator. ``buffering``: ``double`` (default: a tile is fetched while the one before it
    computes, and written back while the one after it computes; tiles take two slots in SRAM) or
    ``single`` (one slot per operand: load, compute and write-back of a tile run one after another,
    for chips whose buffers are split between operands with no room for a second copy). It applies
    to GEMM tiles and vector-op chunks; the SBPCA and sketch kernels keep their double-buffered
    sub-batches. ``mapping_objective``: what the GEMM tile search minimises first — ``traffic``
    (default: DRAM bytes, then compute cycles) or ``time`` (the step's estimated cycles, compute and
    DRAM transfer added when single-buffered and overlapped when double-buffered, then bytes), for
    chips whose own mapper trades a little traffic for a full array."""
    name: str = "accelerator"
    description: str = ""
    array: ArrayConfig
    vector: VectorConfig = VectorConfig()
    sram: dict[str, SramConfig] = Field(min_length=1)
    dram: DramConfig
    crossbar: CrossbarConfig | None = None
    buffering: Literal["double", "single"] = "double"
    mapping_objective: Literal["traffic", "time"] = "traffic"
    technology: TechnologyConfig | None = None     # default energies scaled to this node (`asicsim.config.technology`)

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        # left out at their defaults, so a config's dump (and the sweep hash made from it) is unchanged
        d = handler(self)
        if isinstance(d, dict) and self.technology is None:
            d.pop("technology", None)
        if isinstance(d, dict) and self.buffering == "double":
            d.pop("buffering", None)
        if isinstance(d, dict) and self.mapping_objective == "traffic":
            d.pop("mapping_objective", None)
        return d

    @model_validator(mode="after")
    def _scale_defaults(self):
        """Default energies (those the file leaves out) scaled to ``technology``'s node and supply;
        given ones are the chip's own. New sub-configs, never the shared default instances."""
        if self.technology is None:
            return self
        k = self.technology.energy_scale

        def scaled(cfg, fields):
            given = cfg.model_fields_set
            upd = {f: getattr(cfg, f) * k for f in fields if f not in given and getattr(cfg, f) is not None}
            return cfg.model_copy(update=upd) if upd else cfg
        object.__setattr__(self, "array", scaled(self.array, ("mac_pj", "register_pj_per_mac")))
        object.__setattr__(self, "vector", scaled(self.vector, ("op_pj",)))
        # an unset write energy follows the read one, scaled only if the read one is a default too
        object.__setattr__(self, "sram", {n: scaled(b, ("read_pj_per_byte", "write_pj_per_byte")
                                                    if "read_pj_per_byte" not in b.model_fields_set
                                                    else ("read_pj_per_byte",))
                                          for n, b in self.sram.items()})
        return self

    @property
    def tile_slots(self) -> int:
        """SRAM slots per operand tile: 2 double-buffered, 1 single-buffered."""
        return 2 if self.buffering == "double" else 1

    @model_validator(mode="after")
    def _operands_covered(self):
        owner: dict[str, str] = {}
        for bname, buf in self.sram.items():
            for op in buf.holds:
                if op in owner:
                    raise ValueError(f"operand '{op}' is held by two buffers: '{owner[op]}' and '{bname}'")
                owner[op] = bname
        missing = [op for op in ("ifmap", "filter", "ofmap") if op not in owner]
        if missing:
            raise ValueError(f"no SRAM buffer holds {', '.join(missing)}: each of ifmap, filter, ofmap "
                             "must be named in exactly one buffer's 'holds'")
        d = self.dram
        if d.activation_codec == "rlc" and d.rlc_word_bits - 1 < d.rlc_run_bits + self.array.operand_bits:
            raise ValueError(f"dram.rlc_word_bits {d.rlc_word_bits} cannot hold one (run, level) pair of "
                             f"{d.rlc_run_bits} + {self.array.operand_bits} bits plus the end bit")
        return self

    @property
    def weights_streamed(self) -> bool:
        """Weights go from DRAM through a filter buffer that keeps nothing (`SramConfig.retains:
        false`, Eyeriss's PE pads): fetched again for every tile, never resident on chip."""
        return not self.sram[self.buffer_of("filter")].retains

    def buffer_of(self, operand: str) -> str:
        for bname, buf in self.sram.items():
            if operand in buf.holds:
                return bname
        raise KeyError(operand)

    @property
    def clock_hz(self) -> float:
        return self.array.clock_ghz * 1e9

    @property
    def dram_bytes_per_cycle(self) -> float:
        """Aggregate DRAM bandwidth in bytes per array clock cycle."""
        return self.dram.total_bandwidth_gb_s / self.array.clock_ghz

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.array.rows * self.array.cols


def hardware_from_dict(data: dict, file: str | Path = "<accelerator>") -> HardwareConfig:
    """Validate an accelerator mapping; ``energy: {table: FILE}`` first sets per-action energies from
    an Accelergy-style table (`asicsim.config.energy_table`)."""
    if not isinstance(data, dict):
        raise InputError("an accelerator file must be a YAML mapping with array, sram, dram", file=file)
    if "energy" in data:
        data = apply_energy_table(data, file)
    return validated(HardwareConfig, data, file)


def load_hardware_dict(name_or_path: str | Path) -> tuple[dict, str]:
    """The raw (unvalidated) mapping of a preset name or YAML file, and the file it came from."""
    path = resolve_preset(name_or_path, ACCELERATORS_DIR, "accelerator")
    return load_yaml(path), str(path)


def load_hardware(name_or_path: str | Path) -> HardwareConfig:
    """Load and validate an accelerator by preset name (``models/accelerators/<name>.yaml``) or path."""
    data, file = load_hardware_dict(name_or_path)
    return hardware_from_dict(data, file)
