"""Sweeps: a spec expanded by hand, its errors, the dry run, and tiny real sweeps on the local executor, Ray and
submitit's local executor (two runs each, a few seconds of training)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from test_train import small
from typer.testing import CliRunner

from loradyn.cli import app
from loradyn.errors import DataError
from loradyn.experiments.execution import run_sweep, seed_by_seed
from loradyn.experiments.executors import Slot, _start_worker, cpu_cores, local_slots, require
from loradyn.experiments.sweep import expand, load_sweep
from loradyn.io import write_json
from loradyn.store import read_dynamics
from loradyn.train.config import RunConfig

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
runner = CliRunner()

HANDMADE = """\
name: handmade
base: {epochs: 2, lr: 1e-3}
seeds: [1, 2]
grid:
  - model: [minilm, org/tiny-bert]
    adapter: [{method: lora, rank: 4}, {method: full}]
  - model: [minilm]
    adapter: [{method: ia3}]
    max_length: 64
overrides:
  - when: {method: full}
    set: {lr: 1e-5}
  - when: {model: org/tiny-bert, method: full}
    set: {batch_size: 8}
"""

# name, condition, seed, model, method, rank, lr, batch_size, max_length, epochs: written out by hand
HANDMADE_RUNS = [
    ("minilm__lora-r4__s1", "minilm__lora-r4", 1, "minilm", "lora", 4, 1e-3, 32, 128, 2),
    ("minilm__lora-r4__s2", "minilm__lora-r4", 2, "minilm", "lora", 4, 1e-3, 32, 128, 2),
    ("minilm__full__s1", "minilm__full", 1, "minilm", "full", 16, 1e-5, 32, 128, 2),
    ("minilm__full__s2", "minilm__full", 2, "minilm", "full", 16, 1e-5, 32, 128, 2),
    ("tiny-bert__lora-r4__s1", "tiny-bert__lora-r4", 1, "org/tiny-bert", "lora", 4, 1e-3, 32, 128, 2),
    ("tiny-bert__lora-r4__s2", "tiny-bert__lora-r4", 2, "org/tiny-bert", "lora", 4, 1e-3, 32, 128, 2),
    ("tiny-bert__full__s1", "tiny-bert__full", 1, "org/tiny-bert", "full", 16, 1e-5, 8, 128, 2),
    ("tiny-bert__full__s2", "tiny-bert__full", 2, "org/tiny-bert", "full", 16, 1e-5, 8, 128, 2),
    ("minilm__ia3__max_length64__s1", "minilm__ia3__max_length64", 1, "minilm", "ia3", 16, 1e-3, 32, 64, 2),
    ("minilm__ia3__max_length64__s2", "minilm__ia3__max_length64", 2, "minilm", "ia3", 16, 1e-3, 32, 64, 2),
]


def _write(tmp_path, text, name="sweep.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_handmade_spec_expands_to_the_runs_written_out_by_hand(tmp_path):
    sweep = load_sweep(_write(tmp_path, HANDMADE))
    assert sweep.name == "handmade"
    got = [
        (r.name, r.condition, r.seed, c.model, c.method, c.rank, c.lr, c.batch_size, c.max_length, c.epochs)
        for r in sweep.runs
        for c in [r.config]
    ]
    assert got == HANDMADE_RUNS
    assert all(isinstance(r.config, RunConfig) and r.config.seed == r.seed for r in sweep.runs)
    assert isinstance(sweep.runs[0].config.lr, float)  # YAML reads 1e-3 as text


def test_the_format_in_the_docstring_expands():
    import loradyn.experiments.sweep as module

    example = textwrap.dedent(module.__doc__.split("::", 1)[1].split("\n\n")[1])
    sweep = expand(yaml.safe_load(example))
    assert len(sweep.runs) == 2 * 2 * 3 * 3 + 2  # the second block has its own seeds: [42]
    qwen = [r for r in sweep.runs if r.config.model == "Qwen/Qwen2.5-3B"]
    assert [r.name for r in qwen] == ["Qwen2.5-3B__chaosnli-snli__lora-r4__s42"]
    assert {(r.config.grad_accum, r.config.probe_batch_size) for r in qwen} == {(8, 8)}
    assert {r.config.grad_accum for r in sweep.runs if r not in qwen} == {1}
    assert sweep.slurm["timeout_min"] == 720


def test_labels_of_numbers_booleans_lists_and_a_sweep_where_only_the_seed_varies():
    sweep = expand(
        {
            "grid": [
                {
                    "noise_rate": [0.0, 0.3],
                    "group_by_length": [True, False],
                    "targets": [["query", "value"]],
                    "lr": [2e-5],
                }
            ]
        }
    )
    assert [r.name for r in sweep.runs] == [
        "noise0__group_by_length__s42",
        "noise0__no-group_by_length__s42",
        "noise0.3__group_by_length__s42",
        "noise0.3__no-group_by_length__s42",
    ]
    assert sweep.runs[2].config.targets == ["query", "value"] and sweep.runs[2].config.noise_rate == 0.3
    only_seeds = expand({"base": {"rank": 4}, "seeds": [7, 8]}, name="r4-seeds")
    assert [(r.name, r.condition) for r in only_seeds.runs] == [("s7", "r4-seeds"), ("s8", "r4-seeds")]


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("grid:\n  - model: [minilm]\n    adapter: [{method: lora, rnak: 4}]\n", 3, "rnak", "did you mean 'rank'"),
        ("grid:\n  - modle: [minilm]\n", 2, "modle", "grid block 1, axis 'modle'"),
        ("base: {epochs: 1}\ngrid:\n  - rank: [4]\n  - rank: [8, 0]\n", 4, "rank", "rank must be a positive"),
        ("grid:\n  - rank: [4, four]\n", 2, "rank", "expected int, got 'four'"),
        ("grid:\n  - dataset: [chaosnli-snil]\n", 2, "dataset", "unknown dataset"),
        ("grid:\n  - rank: [4]\n  - rank: [4]\n", 3, None, "run s42 appears twice (grid blocks 1 and 2)"),
        ("grid:\n  - model: [a/bert, b/bert]\n", 2, None, "two different runs are named s42"),
        ("base: {seed: 1}\n", 1, "seed", "seeds list"),
        ("grid:\n  - rank: [4]\noverrides:\n  - when: {model: x}\n    set: {rank: 8}\n", 4, None, "matches no run"),
        ("base:\n  batch_size: 8\noverrides:\n  - when: {}\n    set: {grad_accum: 16}\n", 5, "grad_accum", "exceeds"),
        ("grid:\n  - rank: [4\n", 3, None, "malformed YAML"),
        ("grids:\n  - rank: [4]\n", 1, None, "unknown key 'grids'"),
        ("grid:\n  - rank: [4]\n    rank: [8]\n", 3, "rank", "given twice (lines 2 and 3)"),
        # names and conditions come from the configuration that trains: an override that changes an axis's value
        # renames the run, and two runs that would train identically are an error
        (
            "grid:\n  - rank: [4, 16]\noverrides:\n  - when: {rank: 4}\n    set: {rank: 16}\n",
            2,
            None,
            "run s42 appears twice (grid block 1)",  # both train rank 16: the axis no longer varies
        ),
        (
            "grid:\n  - adapter: [{method: lora, rank: 4}, {rank: 4, method: lora}]\n",
            2,
            None,
            "runs lora-r4__s42 and r4-lora__s42 would train identically",
        ),
        (
            "base: {method: full}\ngrid:\n  - rank: [4, 16]\n",
            3,
            "rank",
            "run r4__s42: rank applies to LoRA only, not to method='full'; got 4",
        ),
        (
            "grid:\n  - rank: [4]\n    seeds: [1, 1]\n",
            3,
            None,
            "a seed is listed twice (in grid block 1, axis 'seeds')",
        ),
        (
            "grid:\n  - rank: [4]\n    seeds: [one]\n",
            3,
            None,
            "expected a list of integer seeds, zero or positive, got ['one']",
        ),
    ],
)
def test_spec_errors_name_the_line_the_field_and_the_problem(tmp_path, text, line, field, words):
    path = _write(tmp_path, text)
    with pytest.raises(DataError) as caught:
        load_sweep(path)
    err = caught.value
    assert (err.line, err.field) == (line, field)
    assert words in str(err) and str(path) in str(err) and err.fix


def test_local_slots_share_cores_and_gpus():
    assert local_slots(2, [0, 1], []) == [Slot(1, (0,), None), Slot(1, (1,), None)]
    assert local_slots(1, [0, 1], []) == [Slot(2, (0, 1), None)]
    assert local_slots(3, [0, 1, 2, 3, 4, 5, 6], ["0", "1"]) == [
        Slot(2, (0, 1), "0"),
        Slot(2, (2, 3), "1"),
        Slot(2, (4, 5), "0"),
    ]
    assert local_slots(3, [4, 5], ["7"]) == [Slot(1, None, "7")] * 3


def test_a_missing_extra_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "submitit", None)
    with pytest.raises(DataError, match=r"pip install 'loradyn\[slurm\]'"):
        require("slurm")


def test_dry_run_lists_the_example_sweep_as_json():
    result = runner.invoke(app, ["sweep", str(REPO_CONFIGS / "sweep-example.yaml"), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["name"] == "sweep-example"
    assert [(r["name"], r["condition"], r["seed"]) for r in plan["runs"]] == [
        ("chaosnli-snli__r4__s42", "chaosnli-snli__r4", 42),
        ("chaosnli-snli__r16__s42", "chaosnli-snli__r16", 42),
        ("chaosnli-mnli__r4__s42", "chaosnli-mnli__r4", 42),
        ("chaosnli-mnli__r16__s42", "chaosnli-mnli__r16", 42),
    ]
    assert [(r["config"]["dataset"], r["config"]["rank"], r["config"]["n_bulk"]) for r in plan["runs"]] == [
        ("chaosnli-snli", 4, 128),
        ("chaosnli-snli", 16, 128),
        ("chaosnli-mnli", 4, 128),
        ("chaosnli-mnli", 16, 128),
    ]


def test_dry_run_shows_no_rank_beside_full_fine_tuning():
    """paper1-cpu's full fine-tuning runs showed the base's LoRA rank 16, which they do not read."""
    result = runner.invoke(app, ["sweep", str(REPO_CONFIGS / "paper1-cpu.yaml"), "--dry-run"], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = [line.replace("┃", "│") for line in result.output.splitlines()]  # the header's rule is heavy
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if "│" in line]
    header, *runs = rows
    by_method = {(run[header.index("method")], run[header.index("rank")]) for run in runs}
    assert by_method == {("lora", "4"), ("lora", "16"), ("full", "-")} and len(runs) == 24


def test_cli_checks_its_arguments(tmp_path):
    result = runner.invoke(app, ["sweep", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "sweep file not found" in result.stderr
    path = _write(tmp_path, "grid:\n  - rank: [4, 8]\n")
    result = runner.invoke(app, ["sweep", str(path)])
    assert result.exit_code == 2 and "--out is required" in result.stderr
    result = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "o"), "--executor", "dask"])
    assert result.exit_code == 2 and "--executor must be one of local, ray, slurm" in result.stderr


def test_complete_runs_are_skipped_and_another_plan_is_refused(tmp_path):
    sweep = expand({"grid": [{"rank": [4, 8]}]})
    out = tmp_path / "sweep"
    for run in sweep.runs:  # as if trained before: nothing is left to do, so nothing trains
        write_json(out / run.name / "run.json", {"status": "complete", "config": run.config.to_dict()})
    with pytest.raises(DataError, match="not a sweep directory"):
        run_sweep(sweep, out, progress=False)
    write_json(out / "sweep.json", sweep.plan())
    summary = run_sweep(sweep, out, progress=False)
    assert [(r["name"], r["status"]) for r in summary["runs"]] == [("r4__s42", "skipped"), ("r8__s42", "skipped")]
    assert (summary["complete"], summary["failed"], summary["skipped"]) == (0, 0, 2)

    more = expand({"grid": [{"rank": [4, 8, 16]}]})
    with pytest.raises(DataError, match=r"another plan: 1 run\(s\) it lacks \(r16__s42\)"):
        run_sweep(more, out, progress=False)
    changed = expand({"base": {"epochs": 2}, "grid": [{"rank": [4, 8]}]})
    with pytest.raises(DataError, match=r"configured differently \(r4__s42: epochs, r8__s42: epochs\)"):
        run_sweep(changed, out, progress=False)
    assert json.loads((out / "sweep.json").read_text()) == json.loads(json.dumps(sweep.plan()))


def test_a_base_rank_applies_to_lora_alone_and_a_0_2_0_plan_with_it_continues(tmp_path):
    sweep = expand({"base": {"rank": 4}, "grid": [{"method": ["lora", "ia3"]}]})
    assert [(r.config.method, r.config.rank) for r in sweep.runs] == [("lora", 4), ("ia3", 16)]
    out = tmp_path / "sweep"
    plan = json.loads(json.dumps(sweep.plan()))
    plan["runs"][1]["config"]["rank"] = 4  # as 0.2.0 planned and ran it: the base's rank, which IA3 does not read
    write_json(out / "sweep.json", plan)
    for entry in plan["runs"]:
        write_json(out / entry["name"] / "run.json", {"status": "complete", "config": entry["config"]})
    assert run_sweep(sweep, out, progress=False)["skipped"] == 2


# --------------------------------------------------------------------------------------------- real sweeps
def _tiny_base(data_dir) -> dict:
    config = small(data_dir, epochs=1, n_bulk=16, n_tracked=8, n_validation=8, batch_size=8).to_dict()
    defaults = RunConfig().to_dict()
    return {k: v for k, v in config.items() if v != defaults[k] and k != "seed"}


def _probes_per_run(out, name) -> int:
    return read_dynamics(out / name, mode="probe").groupby("checkpoint")["example_id"].nunique().min()


def test_local_sweep_reports_a_failure_and_continues(tmp_path, data_dir):
    spec = {
        "name": "tiny",
        "base": _tiny_base(data_dir),
        "grid": [{"rank": [4, 8]}, {"rank": [4], "n_validation": [100_000]}],  # the last cannot build its data
    }
    path = _write(tmp_path, json.dumps(spec), "tiny.yaml")  # JSON is YAML
    out = tmp_path / "sweep"
    result = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--jobs", "2", "--json"])
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    status = {r["name"]: (r["status"], r["error"]) for r in summary["runs"]}
    bad = "r4__n_validation100000__s42"
    assert status["r4__s42"] == status["r8__s42"] == ("complete", None)
    assert status[bad][0] == "failed"
    assert status[bad][1].startswith("DataError: field 'n_validation': n_validation=100000 but only 303 are")
    assert "Traceback" in (out / f"{bad}.error.log").read_text()
    for name in ("r4__s42", "r8__s42"):
        assert json.loads((out / name / "run.json").read_text())["status"] == "complete"
        assert _probes_per_run(out, name) == 8
        threads = max(1, len(cpu_cores()) // 2)
        log = (out / ".logs" / f"{name}.log").read_text()
        assert f"torch threads {threads}" in log
        # a line per checkpoint after the first, to follow a long run by
        checkpoints = read_dynamics(out / name, mode="probe")["checkpoint"].nunique()
        assert len(re.findall(rf"^{name}: step \d+/\d+, .*, \d+ s$", log, flags=re.M)) == checkpoints - 1 > 0
        # and before training, where a long run would otherwise be silent: the data, the model, the step-0 probe
        stages = re.findall(rf"^{name}: (data built|model loaded|step-0 probe done)\b.* \(\d+ s\)$", log, flags=re.M)
        assert stages == ["data built", "model loaded", "step-0 probe done"]
    assert [r["name"] for r in json.loads((out / "sweep.json").read_text())["runs"]] == list(status)

    # Interrupt one run (as a kill leaves it: run.json says running) and continue the sweep.
    finished = (out / "r4__s42" / "run.json").stat().st_mtime_ns
    run_json = json.loads((out / "r8__s42" / "run.json").read_text())
    write_json(out / "r8__s42" / "run.json", {**run_json, "status": "running"})
    summary = run_sweep(load_sweep(path), out, jobs=2, progress=False)
    again = {r["name"]: (r["status"], r["resumed"]) for r in summary["runs"]}
    assert again == {"r4__s42": ("skipped", False), "r8__s42": ("complete", True), bad: ("failed", False)}
    assert (out / "r4__s42" / "run.json").stat().st_mtime_ns == finished
    assert json.loads((out / "r8__s42" / "run.json").read_text())["status"] == "complete"
    assert _probes_per_run(out, "r8__s42") == 8

    # A plan and runs written by a loradyn without today's newer fields continue: they were made with defaults.
    plan = json.loads((out / "sweep.json").read_text())
    for entry in plan["runs"]:
        entry["config"].pop("soft_labels"), entry["config"].pop("report_to")
    write_json(out / "sweep.json", plan)
    for name in ("r4__s42", "r8__s42"):
        run_json = json.loads((out / name / "run.json").read_text())
        run_json["config"].pop("soft_labels"), run_json["config"].pop("report_to")
        write_json(out / name / "run.json", run_json)
    summary = run_sweep(load_sweep(path), out, jobs=2, progress=False)
    assert {r["name"]: r["status"] for r in summary["runs"]}["r4__s42"] == "skipped"

    # A run folder made with another configuration (train --force into it) is refused, not skipped as the plan's.
    run_json = json.loads((out / "r4__s42" / "run.json").read_text())
    write_json(out / "r4__s42" / "run.json", {**run_json, "config": {**run_json["config"], "rank": 16}})
    with pytest.raises(DataError, match=r"run r4__s42 was made with another configuration .*differs in rank"):
        run_sweep(load_sweep(path), out, jobs=2, progress=False)


def test_a_run_on_a_gpu_slot_starts_a_fresh_interpreter(tmp_path, data_dir, monkeypatch):
    """CUDA cannot be used in a process forked from one where a library initialised it, so a GPU slot's run does not
    come from the fork server. Here CUDA_VISIBLE_DEVICES makes one GPU slot; without a GPU the run trains on the CPU."""
    missing = [str(tmp_path / "missing.yaml"), str(tmp_path / "run"), str(tmp_path / "error.log")]
    fresh = _start_worker(missing, tmp_path / "gpu.log", dict(os.environ), gpu=True)
    forked = _start_worker(missing, tmp_path / "cpu.log", dict(os.environ), gpu=False)
    assert isinstance(fresh, subprocess.Popen) and fresh.args[1:3] == ["-m", "loradyn.experiments.worker"]
    assert not isinstance(forked, subprocess.Popen)
    forked.join()
    assert fresh.wait() == forked.exitcode == 1  # both ran the worker, which found no configuration
    assert "missing.yaml" in (tmp_path / "gpu.log").read_text() and "missing.yaml" in (tmp_path / "cpu.log").read_text()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    path = _write(tmp_path, json.dumps({"name": "gpu", "base": _tiny_base(data_dir)}), "gpu.yaml")
    summary = run_sweep(load_sweep(path), tmp_path / "out", progress=False)
    assert [(r["name"], r["status"]) for r in summary["runs"]] == [("s42", "complete")]
    log = (tmp_path / "out" / ".logs" / "s42.log").read_text()
    assert re.search(r"^complete in .* s; torch threads \d+", log, flags=re.M)


def _two_runs(data_dir):
    return expand({"name": "pair", "base": _tiny_base(data_dir), "grid": [{"rank": [4, 8]}]})


def test_ray_sweep(tmp_path, data_dir, monkeypatch):
    """A local Ray cluster started for the sweep alone: no token under the home folder, and each run's output in
    <sweep>/.logs as on the local executor."""
    pytest.importorskip("ray")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for variable in ("RAY_ADDRESS", "RAY_AUTH_MODE"):
        monkeypatch.delenv(variable, raising=False)
    summary = run_sweep(_two_runs(data_dir), tmp_path / "ray", executor="ray", jobs=2, progress=False)
    assert [(r["name"], r["status"]) for r in summary["runs"]] == [("r4__s42", "complete"), ("r8__s42", "complete")]
    for name in ("r4__s42", "r8__s42"):
        assert json.loads((tmp_path / "ray" / name / "run.json").read_text())["config"]["rank"] == int(name[1])
        assert _probes_per_run(tmp_path / "ray", name) == 8
        log = (tmp_path / "ray" / ".logs" / f"{name}.log").read_text()
        checkpoints = read_dynamics(tmp_path / "ray" / name, mode="probe")["checkpoint"].nunique()
        assert len(re.findall(rf"^{name}: step \d+/\d+, .*, \d+ s$", log, flags=re.M)) == checkpoints - 1 > 0
    assert not (tmp_path / "home" / ".ray").exists()  # no authentication token under the home folder


def test_submitit_local_executor_sweep(tmp_path, data_dir):
    pytest.importorskip("submitit")
    out = tmp_path / "slurm"
    summary = run_sweep(
        _two_runs(data_dir), out, executor="slurm", slurm={"cluster": "local", "cpus_per_task": 1}, progress=False
    )
    assert [(r["name"], r["status"]) for r in summary["runs"]] == [("r4__s42", "complete"), ("r8__s42", "complete")]
    assert len(list((out / ".submitit").glob("*_result.pkl"))) == 2  # one submitit job per run
    assert all(json.loads((out / n / "run.json").read_text())["status"] == "complete" for n in ("r4__s42", "r8__s42"))


#: Every sweep preset in configs/ and the runs it expands to.
PRESET_RUNS = {
    "paper1": 75,
    "paper1-rank": 12,
    "paper1-noise": 9,
    "paper1-ia3": 3,
    "paper1-buckets": 9,
    "paper1-gradients": 2,
    "paper1-gradients-cpu": 2,
    "paper1-soft": 6,
    "paper1-cpu": 24,
    "paper1-minilm": 18,
    "paper1-cpu-ablations": 29,
    "paper1-cpu-adapters": 12,
    "sweep-example": 4,
}


@pytest.mark.parametrize("preset", PRESET_RUNS)
def test_every_preset_expands_through_the_command_line(preset):
    result = runner.invoke(app, ["sweep", str(REPO_CONFIGS / f"{preset}.yaml"), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["name"] == preset and len({r["name"] for r in plan["runs"]}) == len(plan["runs"])
    assert len(plan["runs"]) == PRESET_RUNS[preset]


def test_paper1_is_the_first_studys_25_conditions_times_3_seeds():
    sweep = load_sweep(REPO_CONFIGS / "paper1.yaml")
    conditions = {r.condition for r in sweep.runs}
    assert len(conditions) == 25 and {r.seed for r in sweep.runs} == {42, 123, 456}
    by_model = {}
    for r in sweep.runs:
        by_model.setdefault(r.config.model, set()).add((r.config.dataset, r.config.method, r.config.rank))
    lora_full = {(d, m, k) for d in ("chaosnli-snli", "chaosnli-mnli") for m, k in (("lora", 4), ("lora", 16))}
    for encoder in ("roberta-base", "bert-base-uncased", "distilbert-base-uncased"):
        assert {x for x in by_model[encoder] if x[1] == "lora"} == lora_full
        assert {x[0] for x in by_model[encoder] if x[1] == "full"} == {"chaosnli-snli", "chaosnli-mnli"}
    assert {x[0] for x in by_model["microsoft/deberta-v3-base"]} == {"chaosnli-snli"}
    for decoder in ("Qwen/Qwen2.5-1.5B", "Qwen/Qwen2.5-3B"):
        assert by_model[decoder] == {("chaosnli-snli", "lora", 4), ("chaosnli-snli", "lora", 16)}
    assert {r.config.lr for r in sweep.runs} == {2e-5}
    per_seed = {(r.config.model, r.config.dataset, r.config.rank) for r in sweep.runs if r.config.bulk_seed != 42}
    assert per_seed == {("roberta-base", "chaosnli-snli", 4), ("roberta-base", "chaosnli-snli", 16)}  # the pilot rows
    assert {r.config.bulk_seed for r in sweep.runs if r.config.model == "roberta-base"} == {42, "per-seed"}


def test_paper1_minilm_is_the_authors_recipe_and_trains_a_whole_seed_first():
    sweep = load_sweep(REPO_CONFIGS / "paper1-minilm.yaml")
    varied = {"dataset", "method", "rank", "seed"}
    departures = {"model": "minilm", "n_bulk": 18_000, "precision": "fp32"}  # the model and the local data's size
    recipe = {k: v for k, v in RunConfig().to_dict().items() if k not in varied}
    for run in sweep.runs:
        config = run.config.to_dict()
        assert {k: v for k, v in config.items() if k not in varied} == {**recipe, **departures}
    order = [run.name for run in seed_by_seed(sweep)]
    assert order[:3] == ["chaosnli-snli__lora-r4__s42", "chaosnli-snli__lora-r16__s42", "chaosnli-snli__full__s42"]
    assert [run.seed for run in seed_by_seed(sweep)] == [42] * 6 + [123] * 6 + [456] * 6
    assert sorted(order) == sorted(run.name for run in sweep.runs)


def test_every_sweep_file_in_configs_is_checked_above():
    sweeps = {p.stem for p in REPO_CONFIGS.glob("*.yaml") if {"base", "seeds"} & set(yaml.safe_load(p.read_text()))}
    assert sweeps == set(PRESET_RUNS)
