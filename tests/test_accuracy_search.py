"""The accuracy study's learning-rate search walk (benchmarks/accuracy_rules.py): the v1 grid walk
and the v2 edge extension, on hand-made run folders (no training)."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import accuracy_rules as AR  # noqa: E402

SPEC = {"args": ["--network", "lenet5"], "pool": 60000, "val": 10000, "test": None,
        "grid": (0.01, 0.1), "extend_up": (1.0, 10.0), "extend_down": (0.001,),
        "rules": ["full"], "budgets": {}, "default_budgets": (2,)}


@pytest.fixture
def study(tmp_path, monkeypatch):
    monkeypatch.setattr(AR, "OUT", tmp_path)
    monkeypatch.setattr(AR, "NETWORKS", {"net": SPEC})

    def put(lr, val=None):
        """A finished search run with validation accuracy ``val`` at epochs 1 and 2; None: diverged."""
        d = AR.search_dir("net", "full", lr)
        d.parent.mkdir(parents=True, exist_ok=True)
        if val is None:
            AR._failed(d).write_text("diverged\n")
        else:
            d.mkdir()
            (d / "summary.json").write_text(json.dumps({"val_accuracy_per_epoch": [val, val]}))
    return put


def state():
    return AR.search_state("net", "full")


def test_grid_walk_then_extension_up(study):
    assert state() == ([], 0.01)
    study(0.01, 0.5)
    assert state() == ([0.01], 0.1)
    study(0.1, 0.6)                       # best at the top of the grid: go on upwards
    assert state() == ([0.01, 0.1], 1.0)
    assert AR.chosen_lr("net", "full", 2) is None and AR.chosen_lr("net", "full", 2, v1=True) == 0.1
    study(1.0, 0.7)                       # still better: one more
    assert state() == ([0.01, 0.1, 1.0], 10.0)
    study(10.0, None)                     # diverged: the walk is over, 1.0 wins
    assert state() == ([0.01, 0.1, 1.0, 10.0], None)
    assert AR.chosen_lr("net", "full", 2) == 1.0 and AR.chosen_lr("net", "full", 2, v1=True) == 0.1


def test_extension_stops_when_not_better(study):
    study(0.01, 0.5)
    study(0.1, 0.6)
    study(1.0, 0.6)                       # a tie goes to the smaller rate: not better, stop
    assert state() == ([0.01, 0.1, 1.0], None)
    assert AR.chosen_lr("net", "full", 2) == 0.1


def test_extension_down_and_divergence_in_grid(study):
    study(0.01, 0.6)
    study(0.1, None)                      # diverged inside the grid: never extended upwards
    assert state() == ([0.01, 0.1], 0.001)   # but the best is the smallest: downwards
    study(0.001, 0.4)
    assert state() == ([0.01, 0.1, 0.001], None)
    assert AR.chosen_lr("net", "full", 2) == 0.01


def test_extension_down_list_exhausted(study):
    study(0.01, 0.6)
    study(0.1, 0.5)
    study(0.001, 0.7)                     # better, but extend_down has nothing smaller
    assert state() == ([0.01, 0.1, 0.001], None)
    assert AR.chosen_lr("net", "full", 2) == 0.001 and AR.chosen_lr("net", "full", 2, v1=True) == 0.01
