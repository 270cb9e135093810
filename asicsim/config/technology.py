"""Process-node scaling of the default energies: a chip built in another node than the defaults'.

asicsim's default energies (MAC, register, vector op, SRAM access; `asicsim.config.hardware`) are
45 nm figures at 0.9 V [H14]. A chip in another node, at another supply, spends a different energy
per switching event; an accelerator file that says ``technology: {node_nm, supply_v}`` has every
default energy multiplied by `energy_scale` (numbers the file gives itself are taken as they are:
they are already the chip's). Leakage, DRAM and crossbar figures are not scaled (their defaults are
not per-node transistor figures).

Source [SB17]: A. Stillmaker, B. Baas, "Scaling equations for the accurate prediction of CMOS
device performance from 180 nm to 7 nm", Integration, the VLSI Journal 58, 2017: a node's energy
per operation as a polynomial in the supply, E(V) = a·V² + b·V + c (fitted to HSPICE runs of PTM
models), with the coefficients per node below (their energy table, 130 to 7 nm). A node between two
of the table's is interpolated linearly in its feature size. The classical rule (energy ∝ L·V²)
would give 1.78× for 45 nm/0.9 V → 65 nm/1.0 V; [SB17]'s fit gives 1.58×.
"""
from __future__ import annotations

from pydantic import Field, field_validator

from asicsim.inputs import Strict

REFERENCE_NODE_NM = 45.0      # [H14]: every default energy figure is a 45 nm one
REFERENCE_SUPPLY_V = 0.9      # [H14]'s table is at 0.9 V

# node (nm): (a, b, c) of E(V) = a·V² + b·V + c  [SB17]
ENERGY_POLYNOMIAL: dict[float, tuple[float, float, float]] = {
    130.0: (7.171, -6.709, 2.904),
    90.0: (4.762, -4.781, 2.092),
    65.0: (3.755, -4.398, 1.975),
    45.0: (1.103, -0.362, 0.2767),
    32.0: (0.9559, -0.7823, 0.471),
    20.0: (0.373, -0.1582, 0.04104),
    16.0: (0.2958, -0.1241, 0.03024),
    14.0: (0.2363, -0.09675, 0.02239),
    10.0: (0.2068, -0.09311, 0.02375),
    7.0: (0.1776, -0.09097, 0.02447),
}
NODE_RANGE_NM = (min(ENERGY_POLYNOMIAL), max(ENERGY_POLYNOMIAL))
# every polynomial's minimum, c − b²/4a, is positive (0.0125 at 14 nm the smallest), so any supply
# gives a positive factor and needs no range check of its own beyond its field bounds


def node_energy(node_nm: float, supply_v: float) -> float:
    """[SB17]'s relative energy per operation of ``node_nm`` at ``supply_v`` (unitless), linear in
    the feature size between the two nearest nodes of the table."""
    nodes = sorted(ENERGY_POLYNOMIAL)
    if not NODE_RANGE_NM[0] <= node_nm <= NODE_RANGE_NM[1]:
        raise ValueError(f"node_nm {node_nm} is outside the scaling table ({NODE_RANGE_NM[0]:g}-{NODE_RANGE_NM[1]:g} nm)")

    def poly(n: float) -> float:
        a, b, c = ENERGY_POLYNOMIAL[n]
        return a * supply_v ** 2 + b * supply_v + c
    hi = next(n for n in nodes if n >= node_nm)
    lo = max((n for n in nodes if n <= node_nm), default=hi)
    if hi == lo:
        return poly(hi)
    w = (node_nm - lo) / (hi - lo)
    return (1 - w) * poly(lo) + w * poly(hi)


def energy_scale(node_nm: float, supply_v: float) -> float:
    """Factor from the default energies (45 nm, 0.9 V) to ``node_nm`` at ``supply_v``."""
    return node_energy(node_nm, supply_v) / node_energy(REFERENCE_NODE_NM, REFERENCE_SUPPLY_V)


class TechnologyConfig(Strict):
    """The chip's process node (nm) and core supply (V), for scaling the default energies."""
    node_nm: float = Field(gt=0)
    supply_v: float = Field(gt=0, le=2.0)

    @field_validator("node_nm")
    @classmethod
    def _in_table(cls, v):
        if not NODE_RANGE_NM[0] <= v <= NODE_RANGE_NM[1]:
            raise ValueError(f"outside the scaling table: {NODE_RANGE_NM[0]:g} to {NODE_RANGE_NM[1]:g} nm")
        return v

    @property
    def energy_scale(self) -> float:
        return energy_scale(self.node_nm, self.supply_v)
