"""``asicsim train --val N``: a held-out validation split of the training set (what the accuracy
study's learning-rate search selects on, so the test set never chooses)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from asicsim.cli.main import main
from asicsim.nn.trainer import TrainConfig, _prepare

BASE = ["train", "--network", "lenet5", "--dataset", "tiny", "--batch", "32", "--epochs", "2", "--lr", "0.05",
        "--seed", "1", "--limit-train", "400", "--limit-test", "200", "--log-every", "5", "--quiet"]


def test_split_is_the_last_images_and_disjoint():
    cfg = TrainConfig(dataset="tiny", limit_train=400, val=96)
    _, _, xtr, ytr, _, _, xva, yva, _ = _prepare(cfg)
    _, _, xall, yall, *_ = _prepare(TrainConfig(dataset="tiny", limit_train=400))
    assert len(xtr) == 304 and len(xva) == 96
    assert np.array_equal(xtr, xall[:304]) and np.array_equal(xva, xall[304:])
    assert np.array_equal(np.concatenate([ytr, yva]), yall)


def test_val_accuracy_recorded_per_epoch_and_deterministic(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(BASE + ["--val", "100", "--out", str(out)]) == 0
        outs.append(out)
    assert (outs[0] / "history.csv").read_bytes() == (outs[1] / "history.csv").read_bytes()
    s = json.loads((outs[0] / "summary.json").read_text())
    assert s["n_train"] == 300 and s["n_val"] == 100 and s["steps"] == 2 * 10
    h = pd.read_csv(outs[0] / "history.csv")
    ends = h[h["test_accuracy"].notna()]
    assert ends["val_accuracy"].tolist() == s["val_accuracy_per_epoch"] and len(ends) == 2
    assert all(0.0 <= v <= 1.0 for v in s["val_accuracy_per_epoch"])
    # 100 images: every accuracy is a multiple of 1/100
    assert all(abs(v * 100 - round(v * 100)) < 1e-9 for v in s["val_accuracy_per_epoch"])


def test_without_val_nothing_changes(tmp_path):
    assert main(BASE + ["--out", str(tmp_path / "x")]) == 0
    h = pd.read_csv(tmp_path / "x" / "history.csv")
    s = json.loads((tmp_path / "x" / "summary.json").read_text())
    assert "val_accuracy" not in h.columns and "n_val" not in s and s["n_train"] == 400


@pytest.mark.parametrize("val", ["0", "400", "5000"])
def test_bad_val_is_one_line_exit_2(tmp_path, capsys, val):
    try:
        rc = main(BASE + ["--val", val, "--out", str(tmp_path / "bad")])
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2 and not (tmp_path / "bad").exists()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'val'" in err and val in err


def test_constant_rate_epoch_2_of_a_longer_run_is_the_2_epoch_run(tmp_path):
    """What the accuracy study's search relies on: with a constant rate, the first epochs of a longer
    run are the shorter run (same weights, batches and rates), for SBPCA's random state too."""
    def with_epochs(n):
        a = list(BASE)
        a[a.index("--epochs") + 1] = str(n)
        return a + ["--update", "sbpca", "--rank", "2", "--sub-batch", "16"]

    short, long_ = tmp_path / "e2", tmp_path / "e3"
    assert main(with_epochs(2) + ["--out", str(short)]) == 0
    assert main(with_epochs(3) + ["--out", str(long_)]) == 0
    h2, h3 = pd.read_csv(short / "history.csv"), pd.read_csv(long_ / "history.csv")
    pd.testing.assert_frame_equal(h2, h3[h3.epoch <= 2].reset_index(drop=True))
    s2, s3 = (json.loads((d / "summary.json").read_text()) for d in (short, long_))
    assert s3["test_accuracy_per_epoch"][:2] == s2["test_accuracy_per_epoch"]
