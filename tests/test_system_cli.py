"""Multi-chip CLI and study integration: run/compare --system, sweep axes on the system."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from asicsim.cli.main import main
from asicsim.studies.expand import load_study, study_from_dict
from asicsim.studies.sweep import run_sweep


def test_run_system_writes_comm_tables(tmp_path):
    out = tmp_path / "o"
    assert main(["run", "--network", "lenet5", "--accelerator", "edge", "--system", "ring8", "--chips", "4",
                 "--update", "powersgd", "--rank", "2", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())["system"]
    assert s["chips"] == 4 and s["step_cycles"] >= s["compute_cycles"]
    b = pd.read_csv(out / "comm_buckets.csv")
    lay = pd.read_csv(out / "comm_layers.csv")
    assert lay["wire_bytes"].sum() == s["payload_bytes_per_chip"]
    assert b["exposed_cycles"].sum() == pytest.approx(s["exposed_comm_cycles"], abs=1e-6)


def test_compare_system_keeps_the_per_chip_table(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    base = ["compare", "--network", "lenet5", "--accelerator", "edge", "--rank", "1,4"]
    assert main(base + ["--out", str(a)]) == 0
    assert main(base + ["--system", "ring8", "--out", str(b)]) == 0
    assert (a / "compare.csv").read_bytes() == (b / "compare.csv").read_bytes()
    s = json.loads((b / "summary.json").read_text())
    assert set(s["system"]) == {"full", "sbpca_k1", "sbpca_k4"}
    assert "system_exposed_comm_cycles" in s["totals"][0]
    assert "system" not in json.loads((a / "summary.json").read_text())


def test_sweep_system_axes(tmp_path):
    spec = {"name": "dp", "base": {"accelerator": "edge", "network": "lenet5", "batch": 8, "system": "ring8"},
            "grid": {"system.chips": [1, 4], "system.link.bandwidth_gbps": [1, 100]},
            "points": [{"update.rule": "full"}, {"update.rule": "sbpca", "update.rank": 2}]}
    st = study_from_dict(spec, tmp_path / "dp.yaml")
    assert len(st.points) == 8 and st.points[0].system["chips"] == 1
    res = run_sweep(st, tmp_path / "out", workers=0, progress=False)
    t = res.table
    assert res.n_failed == 0 and "system.step_time_s" in t
    one = t[t["system.chips"] == 1]
    assert (one["system.exposed_comm_cycles"] == 0).all()
    assert (one["system.step_cycles"] == one["total_cycles"]).all()
    four = t[t["system.chips"] == 4].set_index(["update", "system.link.bandwidth_gbps"])
    for rule in ("full", "sbpca_k2"):
        assert four.loc[(rule, 100), "system.step_cycles"] <= four.loc[(rule, 1), "system.step_cycles"]


@pytest.mark.parametrize("spec_patch,words", [
    ({"grid": {"system.chips": [0]}}, ["system.chips", "0"]),
    ({"grid": {"system.link.speed": [1]}}, ["system.link.speed", "system.link.bandwidth_gbps"]),
    ({"base": {"accelerator": "edge", "network": "lenet5"}, "grid": {"system.chips": [2]}}, ["base.system"]),
    ({"base": {"accelerator": "edge", "network": "lenet5", "update": {"rule": "resist"}}}, ["resist"]),
])
def test_sweep_system_errors(tmp_path, spec_patch, words):
    spec = {"name": "dp", "base": {"accelerator": "edge", "network": "lenet5", "system": "ring8"}}
    spec.update(spec_patch)
    f = tmp_path / "dp.yaml"
    f.write_text(yaml.safe_dump(spec))
    rc = main(["sweep", str(f), "--out", str(tmp_path / "o"), "--workers", "0"])
    assert rc == 2


def test_dp_scaling_study_expands():
    st = load_study("dp_scaling")
    assert len(st.points) == 2 * 11 * 6
    assert {p.system["chips"] for p in st.points} == {2 ** i for i in range(11)}


def test_system_run_is_reproducible(tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"o{i}"
        assert main(["run", "--network", "lenet5", "--accelerator", "edge", "--system", "node8x8",
                     "--update", "sbpca", "--rank", "2", "--out", str(out)]) == 0
        outs.append(out)
    for f in ("layers.csv", "summary.json", "comm_buckets.csv", "comm_layers.csv"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes()


def test_studies_without_a_system_keep_their_keys():
    """Adding the system axes must not change the hash (or spec) of an existing study's points."""
    from pathlib import Path
    rec = json.loads((Path(__file__).resolve().parent.parent / "reports" / "edge_design_space" / "sweep.json").read_text())
    st = load_study("edge_design_space")
    assert st.keys == rec["keys"]
    assert st.spec == rec["spec"]
