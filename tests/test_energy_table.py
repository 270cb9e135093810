"""Accelergy-style energy tables (`energy: {table: FILE}`): the ERT form of ZigZag's tpu_like gives
exactly the numbers of the hand-converted accelerator file, a table entry changes the energy by the
formula, and every kind of bad table is one InputError (exit 2, one line, from the CLI)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from asicsim.config.hardware import hardware_from_dict, load_hardware
from asicsim.errors import InputError
from asicsim.presets import ACCELERATORS_DIR, load_yaml

EDGE = load_yaml(ACCELERATORS_DIR / "edge.yaml")


def _numbers(hw):
    d = hw.model_dump()
    for k in ("name", "description"):
        d.pop(k)
    return d


def test_ert_twin_of_tpu_like_equals_hand_converted_file():
    assert _numbers(load_hardware("zigzag_tpu_like_ert")) == _numbers(load_hardware("zigzag_tpu_like"))


def _with_table(tmp_path: Path, tables, acc=None) -> tuple[dict, Path]:
    (tmp_path / "ert.yaml").write_text(yaml.safe_dump({"ERT": {"version": "0.4", "tables": tables}}))
    data = dict(acc or EDGE, energy={"table": "ert.yaml"})
    acc_file = tmp_path / "acc.yaml"
    acc_file.write_text(yaml.safe_dump(data))
    return data, acc_file


def test_table_sets_energies_by_formula(tmp_path):
    tables = [{"name": "system.chip.PE[0..31].mac[0..31]", "actions": [{"name": "compute", "energy": 0.5},
                                                                     {"name": "leak", "energy": 0.002}]},
              {"name": "system.chip.global", "width_bits": 64,
               "actions": [{"name": "read", "arguments": {}, "energy": 20.0}, {"name": "write", "energy": 24.0}]},
              {"name": "system.dram", "width_bits": 64, "actions": [{"name": "read", "energy": 512.0}]}]
    edge_array = {k: v for k, v in EDGE["array"].items() if k != "leakage_mw"}   # edge sets 5 mW itself
    _, f = _with_table(tmp_path, tables, dict(EDGE, array=edge_array))
    hw = load_hardware(f)
    assert hw.array.mac_pj == 0.5
    assert hw.array.leakage_mw == pytest.approx(1024 * 0.002 * 1.0)   # instances × pJ/cycle × GHz
    assert hw.sram["global"].read_pj_per_byte == 20.0 / 8 and hw.sram["global"].write_pj_per_byte == 3.0
    assert hw.dram.read_pj_per_bit == 8.0 and hw.dram.write_pj_per_bit == load_hardware("edge").dram.write_pj_per_bit
    # the energy model uses them: MAC energy of a run = MACs × 0.5 pJ
    from asicsim.studies.step import simulate
    from asicsim.workload.network import load_network
    r = simulate(hw, load_network("lenet5"), 4, phases=("forward",))
    assert r.summary["energy_breakdown_pj"]["mac"] == pytest.approx(r.summary["macs"] * 0.5)


@pytest.mark.parametrize("tables,match", [
    ([{"name": "x.cache", "actions": [{"name": "read", "energy": 1}]}], r"ERT.tables\[0\].name.*unknown component.*'cache'.*global"),
    ([{"name": "x.mac", "actions": [{"name": "mac_gated", "energy": 1}]}], r"unknown action.*'mac_gated'.*allowed: compute, leak"),
    ([{"name": "x.global", "actions": [{"name": "read", "energy": 1}]}], r"width_bits"),
    ([{"name": "x.mac", "actions": [{"name": "compute", "energy": -1}]}], r"energy must be a number of pJ >= 0"),
    ([{"name": "x.mac", "actions": [{"name": "compute", "energy": 1}, {"name": "compute", "energy": 2}]}], r"listed twice"),
    ([{"name": "x.mac", "actions": [{"name": "compute", "energy": 1}], "area": 3}], r"unknown key"),
    ([{"name": "x.crossbar", "actions": [{"name": "pulse", "energy": 1}]}], r"no crossbar"),
    ([], r"needs a list"),
])
def test_bad_tables(tmp_path, tables, match):
    _, f = _with_table(tmp_path, tables)
    with pytest.raises(InputError, match=match):
        load_hardware(f)


def test_conflicts_and_missing_files(tmp_path):
    acc = dict(EDGE, array=dict(EDGE["array"], mac_pj=1.0))
    _, f = _with_table(tmp_path, [{"name": "mac", "actions": [{"name": "compute", "energy": 0.5}]}], acc)
    with pytest.raises(InputError, match=r"field 'array.mac_pj'.*set both"):
        load_hardware(f)
    with pytest.raises(InputError, match="energy table file not found"):
        hardware_from_dict(dict(EDGE, energy={"table": "nope.yaml"}), tmp_path / "acc.yaml")
    with pytest.raises(InputError, match=r"'energy' must be a mapping with one key 'table'"):
        hardware_from_dict(dict(EDGE, energy={"tabel": "x"}), "<acc>")
    (tmp_path / "broken.yaml").write_text("ERT: [unclosed")
    f.write_text(yaml.safe_dump(dict(EDGE, energy={"table": "broken.yaml"})))
    with pytest.raises(InputError, match="malformed YAML"):
        load_hardware(f)


def test_cli_bad_table_exits_2_one_line(tmp_path):
    _, f = _with_table(tmp_path, [{"name": "x.cache", "actions": [{"name": "read", "energy": 1}]}])
    r = subprocess.run([sys.executable, "-m", "asicsim", "run", "--accelerator", str(f), "--network", "lenet5",
                        "--batch", "2", "--out", str(tmp_path / "o")], capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "unknown component" in r.stderr
