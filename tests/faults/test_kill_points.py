"""Every state a kill can leave resumes or finishes, with the dynamics an uninterrupted run records.

Kills are deterministic injected faults: a patched step raises `Killed` (a BaseException nothing in loradyn
catches) at a chosen point; then the same run is started again, unpatched.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from test_train import small
from typer.testing import CliRunner

from loradyn import store
from loradyn.cli import app
from loradyn.errors import DataError
from loradyn.experiments.worker import execute
from loradyn.io import write_folder
from loradyn.store import read_dynamics
from loradyn.train import runner
from loradyn.train.runner import Run, train


class Killed(BaseException):
    """A kill -9 at a known point."""


def tiny(data_dir, **changes):
    return small(data_dir, epochs=2, n_bulk=16, n_tracked=8, n_validation=8, batch_size=8, probe_every=1, **changes)


@pytest.fixture(scope="module")
def reference(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    return out, train(tiny(data_dir), out, show_progress=False)


def same_dynamics(out, reference) -> None:
    def ordered(d):
        return read_dynamics(d).drop(columns="run_id").sort_values(["mode", "target", "checkpoint", "example_id"])

    got, want = ordered(out).reset_index(drop=True), ordered(reference).reset_index(drop=True)
    exact = ["example_id", "checkpoint", "step", "mode", "label"]
    pd.testing.assert_frame_equal(got[exact], want[exact])
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-4, atol=1e-5)


def kill_after(target, attribute, *, calls=1, when=lambda *a, **k: True, before=False):
    """Patch ``target.attribute`` so that its ``calls``-th matching call runs (or, ``before``, does not), then
    raises `Killed`."""
    original = getattr(target, attribute)
    seen = {"n": 0}

    def wrapper(*args, **kwargs):
        hit = when(*args, **kwargs)
        seen["n"] += hit
        if hit and seen["n"] == calls and before:
            raise Killed(attribute)
        result = original(*args, **kwargs)
        if hit and seen["n"] == calls:
            raise Killed(attribute)
        return result

    return wrapper


def killed_at_step(data_dir, out, monkeypatch, *, step: int):
    """A tiny run killed during its ``step``-th training step (the step ran, its progress was not saved)."""
    with monkeypatch.context() as patch:
        patch.setattr(Run, "_train_step", kill_after(Run, "_train_step", calls=step))
        with pytest.raises(Killed):
            train(tiny(data_dir), out, show_progress=False)
    return out


KILL_POINTS = {
    # after run.json says "running" and before examples.parquet exists
    "before examples.parquet": (Run, "_write_run_json", {"calls": 1}),
    # after the step-0 probe, before any training step
    "after the first checkpoint": (Run, "_checkpoint", {"calls": 1}),
    "mid-epoch, after a few steps": (Run, "_train_step", {"calls": 3}),
    "after an epoch's validation": (Run, "_validate", {"calls": 1}),
    "between the two renames of a checkpoint": (
        pathlib.Path,
        "rename",
        {"calls": 2, "before": True, "when": lambda path, *a: path.name == "state.tmp"},
    ),
    "after a checkpoint, before the old one is removed": (
        runner.shutil,
        "rmtree",
        {"calls": 2, "before": True, "when": lambda path, *a, **k: str(path).endswith("state.old")},
    ),
    "after dynamics.parquet is written, before the parts are moved aside": (
        store,
        "write_atomic",
        {"when": lambda target, *a: str(target).endswith("dynamics.parquet")},
    ),
    "after the model is saved, before run.json says complete": (
        Run,
        "_write_run_json",
        {"before": True, "when": lambda self, status, *a, **k: status == "complete"},
    ),
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_killed_run_resumes_to_the_uninterrupted_dynamics(point, data_dir, tmp_path, reference, monkeypatch):
    """A run killed at the point resumes when started again and records exactly the uninterrupted run's dynamics."""
    target, attribute, options = KILL_POINTS[point]
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(target, attribute, kill_after(target, attribute, **options))
        with pytest.raises(Killed):
            train(tiny(data_dir), out, show_progress=False)
    assert not (out / "run.lock").exists()  # released on the way out (a real kill leaves it: see below)
    resumed = train(tiny(data_dir), out, show_progress=False)
    assert resumed["status"] == "complete" and resumed["progress"] == reference[1]["progress"]
    same_dynamics(out, reference[0])
    assert not (out / "state").exists() and not (out / "dynamics.parts").exists()


@pytest.mark.parametrize("damage", ["truncated optimizer.pt", "invalid progress.json", "a pickled object"])
def test_a_damaged_checkpoint_falls_back_and_finishes(damage, data_dir, tmp_path, reference, monkeypatch):
    """A checkpoint damaged after a kill is passed over (no pickled code is ever loaded) and the run finishes with the
    uninterrupted run's dynamics."""
    out = killed_at_step(data_dir, tmp_path / "run", monkeypatch, step=5)
    state = out / "state"
    if damage == "truncated optimizer.pt":
        data = (state / "optimizer.pt").read_bytes()
        (state / "optimizer.pt").write_bytes(data[: len(data) // 2])
    elif damage == "invalid progress.json":
        (state / "progress.json").write_text("{not json")
    else:
        import torch

        torch.save({"payload": Killed("pickled code")}, state / "model.pt")  # loading it would run pickled code
    resumed = train(tiny(data_dir), out, show_progress=False)
    assert resumed["status"] == "complete"
    same_dynamics(out, reference[0])


def test_changed_data_between_kill_and_rerun_is_refused(data_dir, tmp_path, monkeypatch):
    """Data that changed between a kill and the rerun are refused, naming what changed."""
    out = killed_at_step(data_dir, tmp_path / "run", monkeypatch, step=2)
    run_json = json.loads((out / "run.json").read_text())
    run_json["fingerprint"]["labels"] = "0" * 16  # what another set of data files would give
    (out / "run.json").write_text(json.dumps(run_json))
    with pytest.raises(DataError, match=r"composed data changed since the run started \(labels differ\)"):
        train(tiny(data_dir), out, show_progress=False)


def test_a_missing_part_of_a_killed_run_is_refused_not_skipped(data_dir, tmp_path, monkeypatch):
    """A part the checkpoint relies on deleted between the kill and the rerun: the run would end complete with
    checkpoints missing from its dynamics, so resuming is refused, naming the part, and nothing is changed."""
    out = killed_at_step(data_dir, tmp_path / "run", monkeypatch, step=3)
    parts = sorted((out / "dynamics.parts").glob("*.parquet"))
    assert len(parts) >= 2
    parts[1].unlink()
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    with pytest.raises(
        DataError, match=rf"1 of the {len(parts)} recorded parts .* are missing \(e.g. {parts[1].name}\)"
    ):
        train(tiny(data_dir), out, show_progress=False)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_one_writer_per_run_directory(data_dir, tmp_path, monkeypatch):
    """A second writer of a run directory is refused at once, naming the live one; a killed writer's stale lock is
    taken over."""
    out = killed_at_step(data_dir, tmp_path / "run", monkeypatch, step=2)
    import socket

    live = {"host": socket.gethostname(), "pid": os.getppid()}  # a process that is alive: the test runner's parent
    (out / "run.lock").write_text(json.dumps(live))
    with pytest.raises(DataError, match=f"another loradyn process \\(pid {live['pid']}\\) is writing this run"):
        train(tiny(data_dir), out, show_progress=False)
    (out / "run.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": 2**22 + 12345}))  # gone: stale
    assert train(tiny(data_dir), out, show_progress=False)["status"] == "complete"
    assert not (out / "run.lock").exists()


def test_a_full_disk_during_a_checkpoint_is_one_line_and_the_same_command_resumes(data_dir, tmp_path, reference):
    """`loradyn train` on a disk that fills up while the second checkpoint is saved: exit 2 and one line naming the
    file, the lock released; the same command then finishes with the uninterrupted dynamics."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny(data_dir).to_dict()))
    out = tmp_path / "run"
    command = ["train", str(config), "--out", str(out), "--quiet"]
    real, saved = torch.save, []

    def save(obj, path, *args, **kwargs):
        saved.append(path)
        if len(saved) == 6:  # the second checkpoint's optimizer state (4 files per checkpoint)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(obj, path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch, "save", save)
        full = CliRunner().invoke(app, command)
    assert full.exit_code == 2, full.output
    assert full.stderr.strip().splitlines() == [
        f"error: {out / 'state.tmp' / 'optimizer.pt'}: No space left on device. Fix: check the path, its "
        "permissions and the free disk space."
    ]
    assert not (out / "run.lock").exists()
    again = CliRunner().invoke(app, command)
    assert again.exit_code == 0, again.output
    same_dynamics(out, reference[0])
    assert not (out / "state").exists() and not (out / "state.tmp").exists()


def test_a_killed_run_resumes_with_tracking_turned_on(data_dir, tmp_path, reference, monkeypatch):
    """Where progress is reported is not what is trained: a run killed without trackers resumes with TensorBoard on
    (other config changes are refused), records the uninterrupted dynamics and logs the steps it trains."""
    out = killed_at_step(data_dir, tmp_path / "run", monkeypatch, step=3)
    with pytest.raises(DataError, match="configuration differs in lr"):
        Run(tiny(data_dir, lr=0.5), out)
    resumed = train(tiny(data_dir, report_to=["tensorboard"]), out, show_progress=False)
    assert resumed["status"] == "complete" and resumed["config"]["report_to"] == ["tensorboard"]
    same_dynamics(out, reference[0])
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = {p.parent for p in (out / "tracking" / "loradyn").glob("events.out.tfevents.*")}
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    steps = [e.step for e in accumulator.Scalars("train/loss")]
    assert steps == list(range(3, resumed["data"]["total_steps"] + 1))  # the killed third step is trained again


def test_a_run_started_before_a_config_field_existed_resumes(data_dir, tmp_path, reference, monkeypatch):
    """A run.json written by a loradyn without some of today's fields (an upgrade between kill and rerun) was made
    with their defaults: the run resumes, and the RACT step check and the sweep plan agree."""
    from loradyn.experiments.steps import check_step

    out = killed_at_step(data_dir, tmp_path / "run", monkeypatch, step=3)
    run = json.loads((out / "run.json").read_text())
    for newer in ("soft_labels", "gradient_cosine", "gradient_norms", "report_to", "model_revision"):
        del run["config"][newer]
    (out / "run.json").write_text(json.dumps(run))
    check_step(tiny(data_dir), out)
    with pytest.raises(DataError, match="differs in soft_labels"):
        check_step(tiny(data_dir, soft_labels=True), out)
    resumed = train(tiny(data_dir), out, show_progress=False)
    assert resumed["status"] == "complete"
    same_dynamics(out, reference[0])


def _workers_of(out: pathlib.Path) -> list[int]:
    """Process ids of the sweep workers training into ``out``: those whose output goes to one of its run logs."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        try:
            output = os.readlink(proc / "fd" / "1")
        except (OSError, ValueError):
            continue
        if output.startswith(str(out / ".logs")):
            found.append(int(proc.name))
    return found


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.mark.skipif(not pathlib.Path("/proc").is_dir(), reason="finds the worker through /proc")
def test_a_sweep_killed_outright_takes_its_worker_with_it(data_dir, tmp_path):
    """SIGKILL of the sweep process (it cannot clean up): its worker ends too instead of training on unwatched
    beside the next sweep."""
    config = small(data_dir, epochs=200, n_bulk=32, n_tracked=8, n_validation=8, batch_size=8, probe_every=50)
    base = {k: v for k, v in config.to_dict().items() if k != "seed"}  # seeds are the sweep's
    spec = {"name": "one", "base": base}
    (tmp_path / "one.yaml").write_text(json.dumps(spec))
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "loradyn", "sweep", str(tmp_path / "one.yaml"), "--out", str(out), "--jobs", "1"]
    sweep = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # a run of 1,000 steps: it cannot end on its own within the wait below
        assert _wait_until(lambda: (out / "s42" / "run.json").is_file() and _workers_of(out), 120)
        os.kill(sweep.pid, signal.SIGKILL)
        sweep.wait(timeout=30)
        assert _wait_until(lambda: not _workers_of(out), 10), "the worker outlived its sweep"
    finally:
        for pid in _workers_of(out):
            os.kill(pid, signal.SIGKILL)
    assert json.loads((out / "s42" / "run.json").read_text())["status"] == "running"  # it resumes next time


def test_a_run_found_complete_by_its_worker_is_not_a_failure(reference, tmp_path):
    out, _ = reference
    config = json.loads((out / "run.json").read_text())["config"]
    outcome = execute(config, str(out), str(tmp_path / "error.log"))  # e.g. finished by an earlier sweep's worker
    assert outcome["status"] == "complete" and outcome["error"] is None and not (tmp_path / "error.log").exists()


def test_a_diverged_run_stops_with_the_step_instead_of_completing(data_dir, tmp_path):
    with pytest.raises(DataError, match=r"the training loss is nan at step \d+: the run diverged") as caught:
        train(tiny(data_dir, lr=1e30, max_grad_norm=1e30), tmp_path / "run", show_progress=False)
    assert caught.value.field == "lr" and "lower lr" in caught.value.fix
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "running"  # never "complete"


def _build_slowly(target, barrier, name):
    def write(tmp):
        barrier.wait()  # both processes are inside their write before either renames
        for part in range(3):
            (tmp / f"part{part}").write_text(name)
            time.sleep(0.05)

    write_folder(target, write)


def test_two_processes_building_one_folder_at_once_leave_one_whole_folder(tmp_path):
    """Two decoder runs of a sweep converting the GGUF at once shared one temporary folder and deleted each other's."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    target = tmp_path / "models" / "converted"
    workers = [ctx.Process(target=_build_slowly, args=(target, barrier, name)) for name in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert sorted(p.name for p in target.iterdir()) == ["part0", "part1", "part2"]
    assert len({p.read_text() for p in target.iterdir()}) == 1  # one writer's folder, not a mixture
    assert [p.name for p in target.parent.iterdir()] == ["converted"]  # no temporary folder left


def test_a_folder_build_removes_what_a_killed_build_left_and_spares_a_running_one(tmp_path):
    """A run killed while it converted the GGUF left half a gigabyte behind, for good."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = tmp_path / f".converted.{dead.pid}.x1y2.tmp"  # a process that is gone
    running = tmp_path / f".converted.{os.getpid()}.z3w4.tmp"  # this one: alive
    for folder in (killed, running):
        folder.mkdir()
        (folder / "config.json").write_text("{}")
    write_folder(tmp_path / "converted", lambda tmp: (tmp / "config.json").write_text("{}"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["converted", running.name])


def test_a_failed_folder_build_leaves_the_target_as_it_was(tmp_path):
    (tmp_path / "converted").mkdir()
    (tmp_path / "converted" / "config.json").write_text("{}")

    def fail(tmp):
        (tmp / "half").write_text("x")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        write_folder(tmp_path / "converted", fail)
    assert [p.name for p in tmp_path.iterdir()] == ["converted"]
    assert [p.name for p in (tmp_path / "converted").iterdir()] == ["config.json"]
