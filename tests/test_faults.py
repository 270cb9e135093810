"""Faults during long work: a killed Dask worker, a killed driver, Ctrl-C, two sweeps on one
folder, a full disk. Each must lose no finished result, duplicate none, and end in a resumable state
whose resumed table equals an uninterrupted run's (timing columns aside)."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import fault_helpers  # noqa: E402

from asicsim.cli.main import main  # noqa: E402
from asicsim.errors import InputError  # noqa: E402
from asicsim.studies.expand import load_study  # noqa: E402
from asicsim.studies.journal import JOURNAL, Journal, JournalLock, load_results  # noqa: E402
from asicsim.studies.sweep import run_sweep  # noqa: E402

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def study_file(tmp_path_factory):
    return fault_helpers.study_yaml(tmp_path_factory.mktemp("study") / "faults.yaml")   # 24 points


@pytest.fixture(scope="module")
def reference(study_file, tmp_path_factory):
    """The uninterrupted run, in this process."""
    res = run_sweep(load_study(study_file), tmp_path_factory.mktemp("ref"), workers=0, progress=False)
    assert res.n_failed == 0 and len(res.table) == 24
    return fault_helpers.comparable(res.table)


def test_a_worker_killed_mid_task_is_retried(study_file, reference, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    marker = tmp_path / "killed-once"
    monkeypatch.setenv("ASICSIM_FAULT_MARKER", str(marker))
    res = run_sweep(load_study(study_file), tmp_path / "o", workers=2, progress=False,
                    simulate=fault_helpers.killer_simulate)
    assert marker.exists()                                   # a worker really died mid-task
    rows = Journal(tmp_path / "o" / JOURNAL).read()
    assert len(rows) == len({r["key"] for r in rows}) == 24   # no point lost, none twice
    pd.testing.assert_frame_equal(fault_helpers.comparable(res.table), reference)


def test_a_second_sweep_on_the_same_folder_is_refused_naming_the_holder(study_file, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    with JournalLock(out / JOURNAL):
        assert main(["sweep", study_file, "--out", str(out), "--workers", "0", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]     # after the "study ...: N points" line
    assert err.startswith("asicsim: error:") and f"pid {os.getpid()}" in err and str(out) in err
    # the lock dies with its holder: the next sweep takes it
    assert main(["sweep", study_file, "--out", str(out), "--workers", "0", "--no-progress"]) == 0


def _sweep_process(study_file: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "asicsim", "sweep", study_file, "--out", str(out),
                             "--workers", "0", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_rows(out: Path, n: int, proc: subprocess.Popen, limit_s: float = 60) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s and proc.poll() is None:
        if len(Journal(out / JOURNAL).read()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the sweep never got going")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_driver_interrupted_or_killed_then_resumed(study_file, reference, tmp_path, sig):
    out = tmp_path / "o"
    proc = _sweep_process(study_file, out)
    _wait_rows(out, 3, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    kept = Journal(out / JOURNAL).read()
    assert 3 <= len(kept) < 24 and len(kept) == len({r["key"] for r in kept})
    if sig == signal.SIGINT:
        text = err.decode()
        assert proc.returncode == 130 and "Traceback" not in text
        assert "Resume with: asicsim sweep" in text.strip().splitlines()[-1]
    else:
        assert proc.returncode == -signal.SIGKILL
    assert main(["sweep", study_file, "--out", str(out), "--workers", "0", "--no-progress"]) == 0
    pd.testing.assert_frame_equal(fault_helpers.comparable(load_results(out)), reference)


def test_a_full_disk_loses_at_most_the_point_being_written(study_file, reference, tmp_path, monkeypatch, capsys):
    import asicsim.studies.journal as journal_mod

    real_write = os.write
    calls = {"n": 0}

    def full_after_five(fd, data):
        calls["n"] += 1
        if calls["n"] > 5:
            real_write(fd, bytes(data)[:7])            # a torn partial line, as a full disk leaves
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(journal_mod.os, "write", full_after_five)
    out = tmp_path / "o"
    with pytest.raises(InputError, match="no space left") as info:
        run_sweep(load_study(study_file), out, workers=0, progress=False)
    assert str(out) in str(info.value)
    monkeypatch.setattr(journal_mod.os, "write", real_write)
    assert len(Journal(out / JOURNAL).read()) == 5          # the five written rows survive
    assert main(["sweep", study_file, "--out", str(out), "--workers", "0", "--no-progress"]) == 0
    pd.testing.assert_frame_equal(fault_helpers.comparable(load_results(out)), reference)


def test_ctrl_c_during_training_keeps_the_logged_rows(tmp_path):
    out = tmp_path / "t"
    proc = subprocess.Popen([sys.executable, "-m", "asicsim", "train", "--network", "lenet5", "--dataset", "tiny",
                             "--epochs", "50", "--batch", "32", "--log-every", "5", "--quiet", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(5)        # imports take ~1-2 s; the 50 epochs take over 30 s
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    text = err.decode()
    assert proc.returncode == 130 and "Traceback" not in text and "run the same command again" in text
    import json
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and 0 < summary["interrupted"]["steps_done"] < summary["interrupted"]["of_steps"]
    hist = pd.read_csv(out / "history.csv")
    assert len(hist) >= 1 and hist["step"].is_monotonic_increasing


def test_ctrl_c_inside_a_step_lets_the_step_finish(monkeypatch):
    """A SIGINT raised mid-step (where a compiled kernel would turn it into a SystemError) stops the
    loop after that step: the third step completes and is counted (the first call prepares the
    test images, before the loop)."""
    from asicsim.nn import trainer as trainer_mod

    real = trainer_mod.D.to_network_input
    calls = {"n": 0}

    def interrupt_in_third_step(*a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            signal.raise_signal(signal.SIGINT)
        return real(*a, **k)

    monkeypatch.setattr(trainer_mod.D, "to_network_input", interrupt_in_third_step)
    cfg = trainer_mod.TrainConfig(network="lenet5", dataset="tiny", epochs=50, batch=32, log_every=1)
    result = trainer_mod.train(cfg)
    assert result.summary["interrupted"]["steps_done"] == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler      # handler restored
