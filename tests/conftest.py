"""Shared fixtures: paths to the peer data (read in place, never copied) and small configs."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PEER = REPO.parent / "shared" / "peer_data"


@pytest.fixture(scope="session")
def peer() -> Path:
    if not PEER.is_dir():
        pytest.skip(f"peer data not found at {PEER}")
    return PEER
