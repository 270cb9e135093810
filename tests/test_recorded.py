"""The committed example outputs are what the current simulator computes (regression guard).

`reports/resnet18_edge_b32/` is written by `make study`; if a modelling change moves its numbers,
regenerate it (`make study`) in the same commit and say why in the commit message."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

import asicsim

RECORD = Path(__file__).resolve().parent.parent / "reports" / "resnet18_edge_b32"


def test_default_study_matches_its_record():
    r = asicsim.simulate(network="resnet18", accelerator="edge", batch=32)
    old = pd.read_csv(RECORD / "layers.csv", keep_default_na=False)
    new = r.layers
    assert list(old.columns) == list(new.columns)
    assert (old[["layer", "phase", "tiling"]].astype(str).values == new[["layer", "phase", "tiling"]].astype(str).values).all()
    num = [c for c in old.columns if c not in ("layer", "phase", "tiling")]
    np.testing.assert_allclose(new[num].to_numpy(float), old[num].to_numpy(float), rtol=1e-9, atol=1e-6)
    summary = json.loads((RECORD / "summary.json").read_text())
    assert r.total_cycles == summary["total_cycles"] or abs(r.total_cycles / summary["total_cycles"] - 1) < 1e-12
    assert r.summary["macs"] == summary["macs"] and r.summary["dram_read_bytes"] == summary["dram_read_bytes"]
