"""``asicsim train``: outputs, determinism, progress bar, and one-line errors with exit code 2."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from asicsim.cli.main import main

BASE = ["train", "--network", "lenet5", "--dataset", "tiny", "--batch", "32", "--epochs", "2", "--lr", "0.05",
        "--seed", "3", "--limit-train", "320", "--limit-test", "200", "--log-every", "4"]


def run(args, capsys):
    rc = main(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_train_sbpca_writes_history_and_summary(tmp_path, capsys):
    out = tmp_path / "sb"
    rc, stdout, stderr = run(BASE + ["--update", "sbpca", "--rank", "2", "--sub-batch", "16", "--out", str(out)], capsys)
    assert rc == 0, stderr
    assert "final test accuracy" in stdout
    assert "100%" not in stderr                  # no progress bar: stderr is not a terminal
    s = json.loads((out / "summary.json").read_text())
    for key in ("final_test_accuracy", "best_test_accuracy", "epochs", "update", "rank", "wall_s"):
        assert key in s
    assert s["epochs"] == 2 and s["update"] == "sbpca" and s["rank"] == 2
    assert s["best_test_accuracy"] >= s["final_test_accuracy"] > 0.2
    h = pd.read_csv(out / "history.csv")
    assert list(h.columns[:6]) == ["epoch", "step", "lr", "train_loss", "train_accuracy", "test_accuracy"]
    for layer in ("conv1", "conv2", "fc1", "fc2", "fc3"):
        for suffix in ("_err", "_err_k", "_svd_err"):
            assert layer + suffix in h.columns
    assert h["test_accuracy"].notna().sum() == 2  # one per epoch
    assert h["step"].tolist() == [4, 8, 10, 12, 16, 20]   # every 4th step and each epoch end (10 steps/epoch)


def test_train_is_deterministic_for_a_seed(tmp_path, capsys):
    args = BASE + ["--update", "sbpca", "--rank", "3", "--epochs", "1", "--quiet"]
    assert run(args + ["--out", str(tmp_path / "a")], capsys)[0] == 0
    assert run(args + ["--out", str(tmp_path / "b")], capsys)[0] == 0
    assert (tmp_path / "a" / "history.csv").read_text() == (tmp_path / "b" / "history.csv").read_text()
    sa, sb = (json.loads((tmp_path / d / "summary.json").read_text()) for d in "ab")
    for s in (sa, sb):
        for key in ("wall_s", "train_images_per_s", "train_images_per_cpu_s"):
            s.pop(key)
    assert sa == sb


def test_full_and_svd_and_vgg(tmp_path, capsys):
    rc, _, err = run(BASE + ["--update", "full", "--momentum", "0.9", "--epochs", "1", "--quiet",
                             "--out", str(tmp_path / "f")], capsys)
    assert rc == 0, err
    s = json.loads((tmp_path / "f" / "summary.json").read_text())
    assert s["rank"] is None and s["layers"]["fc1"]["gradient_state_numbers"] == 2 * 120 * 400
    rc, _, err = run(BASE + ["--update", "svd", "--rank", "2", "--epochs", "1", "--schedule", "cosine", "--quiet",
                             "--out", str(tmp_path / "s")], capsys)
    assert rc == 0, err
    h = pd.read_csv(tmp_path / "s" / "history.csv")
    assert (h["fc1_err"] - h["fc1_svd_err"]).abs().max() < 1e-9   # svd: Ĝ = G_k
    rc, _, err = run(["train", "--network", "vgg_cifar_small", "--dataset", "tiny", "--batch", "16", "--epochs", "1",
                      "--limit-train", "32", "--limit-test", "32", "--update", "sbpca", "--quiet",
                      "--out", str(tmp_path / "v")], capsys)
    assert rc == 0, err
    s = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert "32x32" in s["input_adapted"] and "3 channels" in s["input_adapted"]


@pytest.mark.parametrize("extra,needle", [
    (["--dataset", "mnist"], "--data-dir"),
    (["--dataset", "fashion-mnist", "--data-dir", "/nonexistent/fm"], "apt-get install dataset-fashion-mnist"),
    (["--network", "no_such_net"], "unknown network"),
    (["--lr", "0"], "lr"),
    (["--momentum", "1.5"], "momentum"),
    (["--rank", "0"], "--rank"),
    (["--update", "adam"], "--update"),
    (["--backward", "fa"], "--backward"),
    (["--update", "sketch", "--rank", "0"], "--rank"),
    (["--backward", "hybrid", "--network", "resnet8"], "backward"),
    (["--update", "svd", "--accelerator", "edge"], "--update"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, extra, needle):
    args = ["train", "--dataset", "tiny", "--epochs", "1", "--quiet", "--out", str(tmp_path / "x"), *extra]
    try:
        rc = main(args)
    except SystemExit as exc:   # argparse usage errors
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_unsupported_network_layer_is_input_error(tmp_path, capsys):
    net = tmp_path / "bn.yaml"
    net.write_text("name: bn\ninput: {channels: 1, height: 28, width: 28}\nlayers:\n"
                   "  - {name: c, type: conv, out_channels: 2, kernel: 3}\n"
                   "  - {name: b, type: dropout}\n  - {name: f, type: flatten}\n"
                   "  - {name: l, type: linear, out_features: 10}\n")
    rc, _, err = run(["train", "--network", str(net), "--dataset", "tiny", "--quiet", "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "dropout" in err and "not supported" in err
