"""Process-node scaling of the default energies (``technology: {node_nm, supply_v}``): the factor
worked by hand from Stillmaker & Baas's polynomials, only defaults scaled (a given number is the
chip's own), a dump reloads to the same numbers, and a node outside the table is a clear error."""
from __future__ import annotations

import copy

import pytest

from asicsim.config.hardware import hardware_from_dict
from asicsim.config.technology import energy_scale
from asicsim.errors import InputError
from asicsim.presets import ACCELERATORS_DIR, load_yaml

EDGE = load_yaml(ACCELERATORS_DIR / "edge.yaml")


def test_factor_worked_by_hand():
    # 65 nm at 1.0 V: 3.755 - 4.398 + 1.975 = 1.332; 45 nm at 0.9 V: 1.103*0.81 - 0.362*0.9 + 0.2767 = 0.84433
    assert energy_scale(65, 1.0) == pytest.approx(1.332 / 0.84433, rel=1e-6)
    assert energy_scale(45, 0.9) == pytest.approx(1.0)
    # 55 nm lies halfway between the 45 and 65 nm polynomials at the same supply (45 nm at 1.0 V: 1.0177)
    assert energy_scale(55, 1.0) == pytest.approx((1.332 + 1.0177) / 2 / 0.84433, rel=1e-6)
    assert energy_scale(7, 0.75) < energy_scale(16, 0.8) < 1 < energy_scale(65, 0.9)


def _hw(**extra):
    data = copy.deepcopy(EDGE)
    data.update(extra)
    return hardware_from_dict(data)


def test_only_default_energies_scale():
    base = _hw()
    k = energy_scale(65, 1.0)
    hw = _hw(technology={"node_nm": 65, "supply_v": 1.0})
    assert hw.array.mac_pj == pytest.approx(base.array.mac_pj * k)
    assert hw.array.register_pj_per_mac == pytest.approx(base.array.register_pj_per_mac * k)
    assert hw.vector.op_pj == pytest.approx(base.vector.op_pj * k)
    for name, buf in hw.sram.items():
        assert buf.read_pj_per_byte == pytest.approx(base.sram[name].read_pj_per_byte * k)
        assert buf.leakage_mw == base.sram[name].leakage_mw          # leakage is not scaled
    assert hw.dram.read_pj_per_bit == base.dram.read_pj_per_bit       # nor the off-chip DRAM

    data = copy.deepcopy(EDGE)
    data["array"] = dict(data["array"], mac_pj=0.7)
    name = next(iter(data["sram"]))
    data["sram"][name] = dict(data["sram"][name], read_pj_per_byte=3.0)
    data["technology"] = {"node_nm": 65, "supply_v": 1.0}
    given = hardware_from_dict(data)
    assert given.array.mac_pj == 0.7                                    # the chip's own number
    assert given.sram[name].read_pj_per_byte == 3.0
    assert given.sram[name].write_pj_per_byte == 3.0                    # follows the given read energy
    assert _hw().vector.op_pj == base.vector.op_pj                      # shared defaults untouched


def test_dump_reloads_to_same_numbers():
    hw = _hw(technology={"node_nm": 28, "supply_v": 0.9})
    again = hardware_from_dict(hw.model_dump())
    assert again == hw
    assert "technology" not in _hw().model_dump()                      # unset: dumps (and hashes) as before


@pytest.mark.parametrize("tech, field", [({"node_nm": 180, "supply_v": 1.8}, "node_nm"),
                                         ({"node_nm": 65}, "supply_v"),
                                         ({"node_nm": 65, "supply_v": 1.0, "vdd": 1}, "vdd")])
def test_bad_technology_is_one_clear_error(tech, field):
    with pytest.raises(InputError) as err:
        _hw(technology=tech)
    assert "technology" in str(err.value) and field in str(err.value)
