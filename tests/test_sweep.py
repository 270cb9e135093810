"""Sweeps: serial and Dask LocalCluster give the same rows; SIGKILL mid-way and resume loses and
duplicates nothing; failing points are recorded; the folder is locked and kill-safe."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from asicsim.errors import InputError
from asicsim.studies import journal as sweep_mod
from asicsim.studies.expand import load_study, study_from_dict
from asicsim.studies.journal import JOURNAL, TIMING_COLUMNS, Journal, load_results
from asicsim.studies.sweep import run_sweep

ROOT = Path(__file__).resolve().parent.parent

# LeNet-5 points take a few tens of ms each: enough of them that a kill lands mid-way.
KILL_STUDY = {
    "name": "killme",
    "description": "LeNet-5 points for the kill/resume test",
    "base": {"accelerator": "edge", "network": "lenet5", "batch": 16},
    "grid": {"array": [{"rows": r, "cols": r} for r in (8, 16, 32, 64)],
             "sram.global.capacity_kib": [256, 1024],
             "batch": [8, 16, 32, 64]},
}


def det(df: pd.DataFrame) -> pd.DataFrame:
    """The deterministic part of a results table (all but the timing columns)."""
    return df.drop(columns=list(TIMING_COLUMNS)).reset_index(drop=True)


@pytest.fixture(scope="module")
def tiny_serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_serial")
    return run_sweep(load_study("tiny"), out, workers=0, progress=False)


def test_serial_sweep_table(tiny_serial):
    res = tiny_serial
    t = res.table
    assert res.n_points == res.n_run == len(t) == 8 and res.n_skipped == 0
    assert t["key"].is_unique and list(t["point"]) == list(range(8))
    assert t["error"].isna().all(), t["error"].dropna().tolist()
    for c in ("array.rows", "sram.global.capacity_kib", "update.rule", "total_cycles", "energy_pj",
              "dram_read_bytes", "energy_mac_pj", "forward_cycles", "utilization", "energy_per_sample_pj", "wall_s", "cpu_s"):
        assert c in t.columns, c
    assert (t["total_cycles"] > 0).all() and (t["energy_pj"] > 0).all()
    assert res.results_path.name == "results.parquet"
    pd.testing.assert_frame_equal(det(pd.read_parquet(res.results_path)), det(t))
    meta = json.loads((res.out_dir / "sweep.json").read_text())
    assert meta["study"] == "tiny" and meta["n_points"] == 8 and len(meta["keys"]) == 8


def test_rerun_skips_finished_points(tiny_serial, tmp_path):
    res = run_sweep(load_study("tiny"), tiny_serial.out_dir, workers=0, progress=False)
    assert res.n_run == 0 and res.n_skipped == 8
    pd.testing.assert_frame_equal(res.table, tiny_serial.table)


def test_local_cluster_two_workers_matches_serial(tiny_serial, tmp_path):
    res = run_sweep(load_study("tiny"), tmp_path / "dask", workers=2, progress=False)
    assert res.workers == 2 and res.n_run == 8
    pd.testing.assert_frame_equal(det(res.table), det(tiny_serial.table))


def _poll_lines(path: Path, n: int, proc: subprocess.Popen, timeout: float = 300.0) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if path.exists():
            k = path.read_bytes().count(b"\n")
            if k >= n:
                return k
        if proc.poll() is not None:
            raise AssertionError(f"sweep ended before the kill: {proc.stderr.read()[-2000:]}")
        time.sleep(0.01)
    raise AssertionError("no progress within the timeout")


@pytest.fixture(scope="module")
def kill_study(tmp_path_factory):
    d = tmp_path_factory.mktemp("killme")
    sfile = d / "killme.yaml"
    sfile.write_text(yaml.safe_dump(KILL_STUDY, sort_keys=False))
    study = load_study(sfile)
    ref = run_sweep(study, d / "reference", workers=0, progress=False)   # uninterrupted
    return sfile, study, ref.table


@pytest.mark.parametrize("workers", [0, 2])
def test_sigkill_midway_then_resume_equals_uninterrupted(kill_study, tmp_path, workers):
    sfile, study, reference = kill_study
    n = len(study.points)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "asicsim", "sweep", str(sfile), "--out", str(out), "--workers", str(workers),
           "--no-progress"]
    # own session, so the kill reaches the driver and (for workers > 0) every cluster process
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _poll_lines(out / JOURNAL, max(3, n // 8), proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = [r["key"] for r in Journal(out / JOURNAL).read()]
    assert 0 < len(done_before) < n, "the kill must land mid-way"
    assert len(set(done_before)) == len(done_before)

    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{n - len(done_before)} run, {len(done_before)} already done" in r.stdout

    resumed = pd.read_parquet(out / "results.parquet")
    keys = [row["key"] for row in Journal(out / JOURNAL).read()]
    assert len(keys) == n and len(set(keys)) == n          # every point exactly once, nothing lost
    assert sorted(resumed["key"]) == sorted(p.key for p in study.points)
    pd.testing.assert_frame_equal(det(resumed), det(reference))


def _flaky_simulate(hw, net, batch, update, phases=(), ideal_memory=False):
    from asicsim.studies.step import simulate
    if hw.array.rows == 32 and update.rule == "sbpca":
        raise RuntimeError("synthetic failure\nsecond line")
    return simulate(hw, net, batch, update, phases=phases, ideal_memory=ideal_memory)


def test_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    study = load_study("tiny")
    res = run_sweep(study, tmp_path, workers=0, progress=False, simulate=_flaky_simulate)
    t = res.table
    bad = t[t["error"].notna()]
    assert res.n_failed == len(bad) == 2 and len(t) == 8
    assert set(bad["array.rows"]) == {32} and set(bad["update.rule"]) == {"sbpca"}
    assert (bad["error"] == "RuntimeError: synthetic failure").all()
    assert bad["energy_pj"].isna().all() and t.loc[t["error"].isna(), "energy_pj"].notna().all()
    # a plain re-run keeps the recorded failures; --retry-failed runs them again
    assert run_sweep(study, tmp_path, workers=0, progress=False).n_run == 0
    again = run_sweep(study, tmp_path, workers=0, progress=False, retry_failed=True)
    assert again.n_run == 2 and again.n_failed == 0 and len(again.table) == 8


def test_torn_journal_tail_is_dropped_and_truncated(tmp_path):
    j = Journal(tmp_path / JOURNAL)
    j.path.write_bytes(b'{"key":"a","point":0}\n{"key":"b","poi')
    assert [r["key"] for r in j.read()] == ["a"]
    j.open()
    j.append([{"key": "c", "point": 2}])
    j.close()
    assert [r["key"] for r in j.read()] == ["a", "c"]
    assert j.path.read_bytes().endswith(b"}\n")


def test_folder_lock_and_study_mismatch(tiny_serial, tmp_path):
    import fcntl
    out = tmp_path / "locked"
    out.mkdir()
    fd = os.open(out / JOURNAL, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(InputError, match="another sweep"):
            run_sweep(load_study("tiny"), out, workers=0, progress=False)
    finally:
        os.close(fd)
    other = study_from_dict({**KILL_STUDY, "grid": {"batch": [8]}}, "other.yaml")
    with pytest.raises(InputError, match="study 'tiny'"):
        run_sweep(other, tiny_serial.out_dir, workers=0, progress=False)


def test_csv_without_a_parquet_engine(monkeypatch, tmp_path):
    monkeypatch.setattr(sweep_mod, "parquet_available", lambda: False)
    s = study_from_dict({**KILL_STUDY, "grid": {"batch": [8, 16]}}, "csv.yaml")
    res = run_sweep(s, tmp_path, workers=0, progress=False)
    assert res.results_path.name == "results.csv" and res.results_path.exists()
    assert not (tmp_path / "results.parquet").exists()
    back = pd.read_csv(res.results_path)
    assert list(back["key"]) == list(res.table["key"])
    assert len(load_results(tmp_path)) == 2


def test_cli_rejects_bad_worker_count(tmp_path):
    r = subprocess.run([sys.executable, "-m", "asicsim", "sweep", "tiny", "--out", str(tmp_path), "--workers", "-1"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "--workers" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_existing_scheduler_address(tiny_serial, tmp_path):
    """--scheduler: the same sweep on an already running Dask cluster (here a small in-process one)."""
    from distributed import LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        res = run_sweep(load_study("tiny"), tmp_path, scheduler=cluster.scheduler_address, progress=False)
    assert res.workers == cluster.scheduler_address and res.n_run == 8
    pd.testing.assert_frame_equal(det(res.table), det(tiny_serial.table))


def test_resume_from_the_table_alone(tiny_serial, tmp_path):
    """A folder kept without its journal (e.g. a committed report) still resumes: nothing re-runs."""
    import shutil
    d = tmp_path / "nojournal"
    shutil.copytree(tiny_serial.out_dir, d)
    (d / JOURNAL).unlink()
    res = run_sweep(load_study("tiny"), d, workers=0, progress=False)
    assert res.n_run == 0 and len(res.table) == 8
    pd.testing.assert_frame_equal(det(res.table), det(tiny_serial.table), check_dtype=False)
