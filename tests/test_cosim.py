"""Cost-to-accuracy co-simulation: hand-worked cumulative costs and the train CLI's new columns."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from asicsim.cli.main import main
from asicsim.config.hardware import load_hardware
from asicsim.config.update import UpdateConfig
from asicsim.studies.cosim import StepCost, cumulative, epoch_costs
from asicsim.workload.network import load_network


def test_cumulative_hand_worked():
    full, last = StepCost(64, 10.0, 1.0, 2.0), StepCost(16, 3.0, 0.25, 0.5)
    # 4 steps per epoch: 3 full + 1 last → 3.25 s, 6.5 J per epoch
    assert cumulative(1, 4, full, last) == (1.0, 2.0)
    assert cumulative(4, 4, full, last) == (3.25, 6.5)
    assert cumulative(6, 4, full, last) == (5.25, 10.5)
    assert cumulative(8, 4, full, last) == (6.5, 13.0)


def test_epoch_costs_match_run():
    hw, net = load_hardware("edge"), load_network("lenet5")
    full, last = epoch_costs(hw, net, 64, 2000, UpdateConfig())
    assert last.batch == 2000 % 64 and last.energy_j < full.energy_j
    from asicsim.studies.step import simulate
    assert full.cycles == simulate(hw, net, 64).summary["total_cycles"]


def test_train_cli_adds_simulated_cost(tmp_path):
    out = tmp_path / "t"
    assert main(["train", "--network", "lenet5", "--dataset", "tiny", "--update", "sbpca", "--rank", "2",
                 "--batch", "100", "--epochs", "2", "--limit-train", "450", "--limit-test", "100",
                 "--accelerator", "edge", "--quiet", "--out", str(out)]) == 0
    h = pd.read_csv(out / "history.csv")
    s = json.loads((out / "summary.json").read_text())
    assert {"sim_time_s", "sim_energy_j"} <= set(h.columns)
    assert h["sim_energy_j"].is_monotonic_increasing and h["sim_time_s"].is_monotonic_increasing
    # 450 samples at batch 100: 4 full steps + one of 50 per epoch, two epochs
    hw, net = load_hardware("edge"), load_network("lenet5")
    full, last = epoch_costs(hw, net, 100, 450, UpdateConfig(rule="sbpca", rank=2))
    assert s["sim_energy_j"] == pytest.approx(2 * (4 * full.energy_j + last.energy_j))
    assert h["sim_energy_j"].iloc[-1] == pytest.approx(s["sim_energy_j"], rel=1e-5)   # csv: 6 digits


@pytest.mark.parametrize("extra,words", [
    (["--update", "svd"], ["no hardware model"]),
    (["--update", "sbpca", "--sub-batch-unit", "samples"], ["--sub-batch-unit", "pairs"]),
    (["--accelerator", "tpu9"], ["unknown accelerator"]),
])
def test_train_cli_cosim_errors(tmp_path, capsys, extra, words):
    argv = ["train", "--dataset", "tiny", "--epochs", "1", "--limit-train", "100", "--quiet",
            "--out", str(tmp_path / "x")]
    if "--accelerator" not in extra:
        argv += ["--accelerator", "edge"]
    assert main(argv + extra) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err
