"""Shared fixtures: the reference data under tests/data (copied in with its source and licence,
see tests/data/README.md), so a bare clone runs every validation test."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def peer() -> Path:
    """Root of the peer tools' reference data (``scalesim/``, ``scalesim_runs/``, ...)."""
    assert (DATA / "scalesim").is_dir(), f"reference data missing: {DATA} (see tests/data/README.md)"
    return DATA
