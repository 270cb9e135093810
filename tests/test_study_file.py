"""Study files: schema, axis expansion (grid / points / random), overrides, hashing, errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from asicsim.errors import InputError
from asicsim.studies.expand import (
    available_studies,
    load_study,
    set_path,
    study_from_dict,
)

ROOT = Path(__file__).resolve().parent.parent


def study(**kw):
    data = {"name": "t", "base": {"accelerator": "edge", "network": "lenet5", "batch": 8}}
    data.update(kw)
    return study_from_dict(data, "t.yaml")


def err(**kw) -> str:
    with pytest.raises(InputError) as e:
        study(**kw)
    return str(e.value)


def test_tiny_study_expands_grid_times_points():
    s = load_study("tiny")
    assert len(s.points) == 2 * 2 * 2
    assert s.axes == ["array.rows", "array.cols", "sram.global.capacity_kib", "update.rule", "update.rank"]
    assert len({p.key for p in s.points}) == len(s.points)
    p = s.points[1]
    assert p.axes["array.rows"] == p.axes["array.cols"] == 16      # linked axis: a mapping merges
    assert p.hardware["array"]["rows"] == 16 and p.hardware["array"]["dataflow"] == "ws"
    assert p.update["rule"] == "sbpca" and p.update["rank"] == 4
    assert [q.index for q in s.points] == list(range(8))
    # keys are stable from one load to the next
    assert [q.key for q in load_study("tiny").points] == s.keys


def test_every_shipped_study_loads():
    for name in available_studies():
        s = load_study(name)
        assert s.points, name


def test_grid_is_a_cartesian_product_in_order():
    s = study(grid={"array.rows": [8, 16, 32], "batch": [4, 8]})
    assert [(p.axes["array.rows"], p.axes["batch"]) for p in s.points] == [
        (8, 4), (8, 8), (16, 4), (16, 8), (32, 4), (32, 8)]
    assert s.points[0].batch == 4


def test_random_samples_are_seeded_and_in_range():
    spec = {"samples": 30, "seed": 7, "axes": {
        "array.rows": {"pow2": [16, 128]}, "sram.global.capacity_kib": {"log_uniform": [128, 8192]},
        "batch": {"int_uniform": [8, 128]}, "dram.preset": ["lpddr4", "hbm2"],
        "update.rank": {"int_log_uniform": [1, 64]}, "vector.op_pj": {"uniform": [1.0, 2.0]}}}
    a = study(random=spec)
    b = study(random=spec)
    c = study(random={**spec, "seed": 8})
    assert [p.key for p in a.points] == [p.key for p in b.points]
    assert [p.key for p in a.points] != [p.key for p in c.points]
    assert len(a.points) + a.duplicates == 30
    for p in a.points:
        assert p.axes["array.rows"] in (16, 32, 64, 128)
        assert 128 <= p.axes["sram.global.capacity_kib"] <= 8192
        assert 8 <= p.axes["batch"] <= 128 and isinstance(p.axes["batch"], int)
        assert p.axes["dram.preset"] in ("lpddr4", "hbm2")
        assert 1 <= p.axes["update.rank"] <= 64
        assert 1.0 <= p.axes["vector.op_pj"] <= 2.0


def test_blocks_cross_and_duplicates_are_dropped():
    # array.rows 32 and the base (32) resolve to the same design: one point, one duplicate dropped
    s = study(grid={"array.rows": [32, 16]}, points=[{"batch": 8}, {"batch": 16}])
    assert len(s.points) == 4
    s = study(grid={"array.rows": [32, 32]})
    assert len(s.points) == 1 and s.duplicates == 1


def test_same_design_same_key_regardless_of_axis_spelling():
    a = study(grid={"array": [{"rows": 16, "cols": 16}]})
    b = study(points=[{"array.rows": 16, "array.cols": 16}])
    assert a.points[0].key == b.points[0].key
    # the key covers defaults: a value equal to the default gives the same key as leaving it out
    c = study(points=[{"update.momentum": 0.0}])
    d = study()
    assert c.points[0].key == d.points[0].key
    e = study(points=[{"update.momentum": 0.9}])
    assert e.points[0].key != d.points[0].key


def test_unset_axis_columns_hold_the_resolved_value():
    s = study(points=[{"update.rule": "full"}, {"update.rule": "sbpca", "update.rank": 16}])
    assert s.points[0].axes["update.rank"] == 4          # UpdateConfig default, as simulated
    assert s.points[1].axes["update.rank"] == 16


def test_relative_paths_resolve_next_to_the_study(tmp_path):
    acc = yaml.safe_load((ROOT / "models/accelerators/edge.yaml").read_text())
    acc["name"] = "mine"
    (tmp_path / "hw").mkdir()
    (tmp_path / "hw/mine.yaml").write_text(yaml.safe_dump(acc))
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump({"name": "rel", "base": {"accelerator": "hw/mine.yaml", "network": "lenet5"},
                                 "grid": {"sram.global.capacity_kib": [256, 1024]}}))
    s = load_study(f)
    assert [p.accelerator_name for p in s.points] == ["mine", "mine"]


def test_set_path_merges_mappings_and_replaces_scalars():
    d = {"array": {"rows": 1, "cols": 2}}
    set_path(d, "array", {"rows": 4})
    set_path(d, "sram.new.capacity_kib", 8)
    assert d == {"array": {"rows": 4, "cols": 2}, "sram": {"new": {"capacity_kib": 8}}}


@pytest.mark.parametrize("kw, parts", [
    ({"grid": {"array.rowz": [1]}}, ["t.yaml", "grid.array.rowz", "array.rows"]),
    ({"grid": {"arry.rows": [1]}}, ["grid.arry.rows", "unknown axis path", "update"]),
    ({"grid": {"array.rows": [16, -3]}}, ["grid.array.rows", "array.rows=-3", "greater than 0"]),
    ({"grid": {"sram.glob.capacity_kib": [64]}}, ["grid.sram.glob.capacity_kib", "sram.global"]),
    ({"grid": {"dram.preset": ["hbm9"]}}, ["grid.dram.preset", "hbm9", "lpddr4"]),
    ({"points": [{"update.rank": 0}]}, ["points[0].update.rank", "update.rank"]),
    ({"points": [{"update.rule": "adam"}]}, ["points[0].update.rule", "'full', 'sbpca', 'sketch', 'powersgd' or 'resist'"]),
    ({"grid": {"batch": [0]}}, ["grid.batch", "positive integer"]),
    ({"grid": {"batch": []}}, ["grid.batch", "at least one value"]),
    ({"grid": {"network": ["nonet"]}}, ["grid.network", "nonet", "lenet5"]),
    ({"grid": {"accelerator": ["nowhere"]}}, ["grid.accelerator", "nowhere", "edge"]),
    ({"grid": {"phases": [["forward", "sideways"]]}}, ["grid.phases", "sideways", "weight_gradient"]),
    ({"grid": {"batch": [8]}, "points": [{"batch": 4}]}, ["points[0].batch", "grid", "points"]),
    ({"random": {"samples": 2, "axes": {"batch": {"normal": [1, 2]}}}}, ["random.axes.batch", "int_uniform"]),
    ({"random": {"samples": 2, "axes": {"batch": {"int_uniform": [9, 2]}}}}, ["random.axes.batch", "lo <= hi"]),
    ({"random": {"samples": 0, "axes": {"batch": [1]}}}, ["random.samples"]),
    ({"grid": {"batch.size": [8]}}, ["grid.batch.size", "no sub-fields"]),
    ({"sweep": {}}, ["sweep", "Extra inputs"]),
    ({"grid": {"technology.node_nm": [45]}}, ["technology.node_nm=45", "technology.supply_v", "required"]),
    ({"grid": {"technology": [{"node_nm": 300, "supply_v": 1.0}]}}, ["grid.technology", "node_nm", "7 to 130 nm"]),
    ({"grid": {"buffering": ["triple"]}}, ["grid.buffering", "triple", "single"]),
])
def test_errors_name_the_axis(kw, parts):
    msg = err(**kw)
    for part in parts:
        assert part in msg, (part, msg)


def test_bad_top_level_fields():
    with pytest.raises(InputError, match="name"):
        study_from_dict({"name": "bad name!", "base": {"network": "lenet5"}}, "x.yaml")
    with pytest.raises(InputError, match="base"):
        study_from_dict({"name": "x"}, "x.yaml")
    with pytest.raises(InputError, match="mapping"):
        study_from_dict([1, 2], "x.yaml")
    with pytest.raises(InputError, match="unknown study"):
        load_study("no_such_study")


def test_cli_reports_a_bad_study_in_one_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("name: bad\nbase: {network: lenet5}\ngrid:\n  array.rows: [16, 0]\n")
    r = subprocess.run([sys.executable, "-m", "asicsim", "sweep", str(f), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "grid.array.rows" in lines[0] and "array.rows=0" in lines[0], r.stderr
    assert not (tmp_path / "o").exists()


def test_process_node_and_buffering_are_axes():
    s = study(grid={"technology": [{"node_nm": 45, "supply_v": 0.9}, {"node_nm": 16, "supply_v": 0.8}],
                    "buffering": ["single", "double"]})
    assert len(s.points) == 4 and s.axes == ["technology.node_nm", "technology.supply_v", "buffering"]
    assert s.points[2].hardware["technology"] == {"node_nm": 16, "supply_v": 0.8}
    assert s.points[2].hardware["buffering"] == "single"
    assert len({p.key for p in s.points}) == 4
