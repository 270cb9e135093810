"""Multi-chip system description: the system YAML schema, its presets and the resolved levels.

A system is ``chips`` copies of one accelerator joined by chip-to-chip links (data-parallel
training: every chip holds the whole model and a ``batch``-sized shard of the global batch)::

    name: ring8
    chips: 8
    topology: ring            # ring | fully_connected | switch | torus2d | hierarchical
    link: {bandwidth_gbps: 150, latency_ns: 700, pj_per_bit: 1.3}
    links_per_chip: 2         # default per topology (ring 2, switch 1, torus2d 4)
    collective: {algorithm: ring, bucket_mib: 25, chunks: 1}
    # torus2d:      torus_dims: [32, 32]          (product = chips; default: the squarest split)
    # hierarchical: dims: [{size: 8, topology: switch, link: {...}}, {topology: ring}]
    #               (innermost first; one size may be omitted: chips / the others)

Units: ``bandwidth_gbps`` is **GB/s** (1e9 bytes per second) per link per direction — the field
name ``system.link.bandwidth_gbps`` is fixed by the study files that use it, the unit is bytes; every link is full
duplex. ``latency_ns``: per message (α of the α-β model). ``pj_per_bit``: energy per bit sent.

Topologies (each a `Level`): ``ring`` — each chip has ``links_per_chip`` links to its ring
neighbours, used as that many parallel rings ("channels", half clockwise); ``fully_connected`` —
a dedicated link to every peer (N−1 per chip, ``links_per_chip`` does not apply); ``switch`` —
``links_per_chip`` ports into a non-blocking switch (any pair one hop, a port serves one transfer
at a time in each direction); ``torus2d`` — two ring levels (``links_per_chip`` / 2 links each);
``hierarchical`` — the listed ``dims``, each its own topology, link and algorithm.

Link energy defaults [LINK]: 1.3 pJ/bit, NVIDIA's figure for NVLink-C2C (NVIDIA press release
"NVIDIA Unveils Grace CPU Superchip", 22 Mar 2022: "1.3 picojoules per bit"), a short-reach
package-to-package link; board- and rack-level SerDes links cost several times more (an
estimate of 5 pJ/bit is used by the multi-node presets and stated there).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from asicsim.inputs import Strict
from asicsim.errors import InputError, validated
from asicsim.presets import SYSTEMS_DIR, load_yaml, resolve_preset

DEFAULT_PJ_PER_BIT = 1.3          # [LINK]
Topology = Literal["ring", "fully_connected", "switch", "torus2d", "hierarchical"]
LevelTopology = Literal["ring", "fully_connected", "switch"]
Algorithm = Literal["ring", "tree", "direct"]
TOPOLOGIES = ("ring", "fully_connected", "switch", "torus2d", "hierarchical")
DEFAULT_LINKS = {"ring": 2, "switch": 1, "torus2d": 4}


class _Strict(Strict):
    """Schema base: see `asicsim.inputs.Strict` (unknown keys refused, frozen, finite numbers)."""


class LinkConfig(_Strict):
    """One chip-to-chip link, per direction."""
    bandwidth_gbps: float = Field(gt=0, le=1e6)       # GB/s (1e9 bytes/s) per direction
    latency_ns: float = Field(0.0, ge=0)
    pj_per_bit: float = Field(DEFAULT_PJ_PER_BIT, ge=0)


class DimConfig(_Strict):
    """One level of a hierarchical system (innermost first)."""
    size: int | None = Field(None, gt=0)
    topology: LevelTopology = "ring"
    link: LinkConfig | None = None                   # default: the system's link
    links_per_chip: int | None = Field(None, gt=0, le=64)
    algorithm: Algorithm | None = None               # default: collective.algorithm


class CollectiveConfig(_Strict):
    """How gradients are synchronised. ``bucket_mib``: gradient bucket size (PyTorch DDP's
    ``bucket_cap_mb`` = 25, which it multiplies by 1024², hence MiB). ``chunks``: each message is
    cut into this many pipelined chunks (a tree all-reduce pipelines its chunks level by level).
    ``grad_bytes``: bytes per gradient value on the wire (default: the accelerator's accumulator
    width, the precision G is formed in). ``overlap``: launch each bucket as soon as its gradients
    exist (DDP) rather than after the whole backward pass."""
    algorithm: Algorithm = "ring"
    bucket_mib: float = Field(25.0, gt=0)
    chunks: int = Field(1, ge=1, le=4096)
    grad_bytes: int | None = Field(None, ge=1, le=8)
    overlap: bool = True


class ResistConfig(_Strict):
    """ResIST protocol settings (Dun et al., UAI 2022): ``subnets`` sub-ResNets per round, each chip
    trains one for ``local_iterations`` steps, then the parameters are averaged. ``seed`` picks
    the random partition of residual blocks."""
    subnets: int = Field(4, ge=1, le=1024)
    local_iterations: int = Field(8, ge=1, le=100000)
    seed: int = 0


class SystemConfig(_Strict):
    name: str = "system"
    description: str = ""
    chips: int = Field(gt=0, le=65536)
    topology: Topology = "ring"
    link: LinkConfig
    links_per_chip: int | None = Field(None, gt=0, le=64)
    torus_dims: tuple[int, int] | None = None
    dims: tuple[DimConfig, ...] | None = None
    collective: CollectiveConfig = CollectiveConfig()
    resist: ResistConfig = ResistConfig()


class LevelError(ValueError):
    """A system whose fields are each valid but do not fit together (field, value, allowed)."""

    def __init__(self, field: str, message: str, value=None, allowed: str | None = None):
        super().__init__(message)
        self.field, self.message, self.value, self.allowed = field, message, value, allowed


@dataclass(frozen=True)
class Level:
    """One dimension of the system as the communication model sees it."""
    size: int
    topology: str              # ring | fully_connected | switch
    algorithm: str             # ring | tree | direct
    bandwidth_gbps: float      # GB/s per link per direction
    latency_ns: float
    pj_per_bit: float
    links: int                 # ring: parallel rings; switch: ports; fully_connected: size − 1


def _squarest(chips: int) -> tuple[int, int]:
    a = max(d for d in range(1, math.isqrt(chips) + 1) if chips % d == 0)
    return a, chips // a


def _level(size, topology, algorithm, link: LinkConfig, links, where: str) -> Level:
    if topology == "fully_connected":
        if links is not None and links != size - 1:
            raise LevelError(f"{where}links_per_chip", f"a fully_connected level of {size} chips has "
                             f"{size - 1} links per chip", links, "omit links_per_chip")
        links = max(size - 1, 1)
    elif links is None:
        links = DEFAULT_LINKS[topology]
    if algorithm in ("tree", "direct") and topology == "ring":
        field = f"{where}algorithm" if where else "collective.algorithm"
        raise LevelError(field, "tree and direct need a switch or fully_connected level (any pair one hop)",
                         algorithm, "ring on a ring level")
    return Level(size, topology, algorithm, link.bandwidth_gbps, link.latency_ns, link.pj_per_bit, links)


def levels(cfg: SystemConfig) -> tuple[Level, ...]:
    """The communicating levels, innermost first (levels of size 1 dropped; none for 1 chip)."""
    n = cfg.chips
    alg = cfg.collective.algorithm
    topo = cfg.topology
    if topo != "torus2d" and cfg.torus_dims is not None:
        raise LevelError("torus_dims", f"applies to topology torus2d only (topology is '{topo}')",
                         list(cfg.torus_dims), "omit it, or topology: torus2d")
    if topo != "hierarchical" and cfg.dims is not None:
        raise LevelError("dims", f"applies to topology hierarchical only (topology is '{topo}')",
                         None, "omit it, or topology: hierarchical")
    if topo in ("ring", "fully_connected", "switch"):
        out = [_level(n, topo, alg, cfg.link, cfg.links_per_chip, "")]
    elif topo == "torus2d":
        dims = cfg.torus_dims or _squarest(n)
        if min(dims) < 1 or dims[0] * dims[1] != n:
            raise LevelError("torus_dims", f"the torus dimensions must multiply to chips = {n}", list(dims),
                             f"two positive integers with product {n} (or omit: the squarest split)")
        lpc = cfg.links_per_chip if cfg.links_per_chip is not None else DEFAULT_LINKS["torus2d"]
        if lpc % 2:
            raise LevelError("links_per_chip", "a torus2d has two ring dimensions", lpc, "an even number")
        if alg != "ring":
            raise LevelError("collective.algorithm", "a torus2d is two ring levels", alg, "ring")
        out = [_level(d, "ring", "ring", cfg.link, lpc // 2, "") for d in dims]
    else:
        if not cfg.dims:
            raise LevelError("dims", "topology hierarchical needs its levels", None,
                             "a list of {size, topology, link, links_per_chip, algorithm}, innermost first")
        sizes = [d.size for d in cfg.dims]
        if sizes.count(None) > 1:
            raise LevelError("dims", "more than one level omits its size", sizes, "at most one omitted size")
        known = math.prod(s for s in sizes if s is not None)
        if None in sizes:
            if n % known:
                raise LevelError("chips", f"not a multiple of the given dims sizes' product {known}", n,
                                 f"a multiple of {known}")
            sizes[sizes.index(None)] = n // known
        elif known != n:
            raise LevelError("dims", f"the level sizes must multiply to chips = {n}", sizes,
                             f"sizes with product {n} (or omit one)")
        out = []
        for i, (d, s) in enumerate(zip(cfg.dims, sizes)):
            a = d.algorithm or alg
            out.append(_level(s, d.topology, a, d.link or cfg.link, d.links_per_chip, f"dims[{i}]."))
    out = [lv for lv in out if lv.size > 1]
    for i, lv in enumerate(out[:-1]):
        if lv.algorithm == "tree":
            raise LevelError(f"dims[{i}].algorithm" if topo == "hierarchical" else "collective.algorithm",
                             "tree is an all-reduce only; inner levels reduce-scatter and all-gather",
                             "tree", "ring, direct (tree on the outermost level only)")
    return tuple(out)


def system_from_dict(data, file: str | Path = "<system>") -> SystemConfig:
    if not isinstance(data, dict):
        raise InputError("a system file must be a YAML mapping with chips, topology, link", file=file)
    cfg = validated(SystemConfig, data, file)
    try:
        levels(cfg)
    except LevelError as exc:
        raise InputError(exc.message, file=file, field=exc.field, value=exc.value, allowed=exc.allowed) from None
    return cfg


def load_system_dict(name_or_path: str | Path) -> tuple[dict, str]:
    path = resolve_preset(name_or_path, SYSTEMS_DIR, "system")
    return load_yaml(path), str(path)


def load_system(name_or_path: str | Path, chips: int | None = None) -> SystemConfig:
    """A system by preset name (``models/systems/<name>.yaml``) or path; ``chips`` overrides."""
    data, file = load_system_dict(name_or_path)
    if chips is not None and isinstance(data, dict):
        data = {**data, "chips": chips}
    return system_from_dict(data, file)
