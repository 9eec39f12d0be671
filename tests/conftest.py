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
# A console takes $COLUMNS as its fixed width when loradyn.cli is imported (pytest-xdist's workers have 80): tests
# that need a width give it to their command (CliRunner's env).
os.environ.pop("COLUMNS", None)
# `make test` runs the suite in parallel (pytest-xdist, a process per core): each process, and every process it
# starts, computes with its share of the cores (set before torch is imported, so that a test and the subprocess it
# compares with use the same number of threads).
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault(
        "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    )


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


#: The modules that take longest (`make test` prints its slowest tests), started first so that the parallel workers
#: finish together instead of one running a long module alone at the end.
LONGEST_FIRST = (
    "test_ract.py",
    "test_readme.py",
    "test_sweep.py",
    "test_resume_and_ddp.py",
    "test_gpu_check.py",
    "test_training_sets.py",
    "test_train.py",
    "test_report.py",
    "test_theory.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each module's own order is kept
