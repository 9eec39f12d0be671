"""Shared fixtures: the real data in ../shared/data (or $LORADYN_DATA_DIR), and no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Nothing in the suite may reach a hub: the real-data tests read ../shared/data, the online paths are exercised
# against local servers and folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Converted models (smollm2-135m) are cached across runs of the suite, in the ignored .cache/ of the checkout.
os.environ.setdefault("LORADYN_CACHE_DIR", str(REPO / ".cache"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("LORADYN_DATA_DIR") or REPO.parent / "shared" / "data")
    if not (path / "chaosnli").is_dir():
        pytest.fail(f"real data not found at {path}; set LORADYN_DATA_DIR to a folder laid out like ../shared/data")
    return path


@pytest.fixture(autouse=True)
def _no_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees no data directory unless it asks for one."""
    monkeypatch.delenv("LORADYN_DATA_DIR", raising=False)
