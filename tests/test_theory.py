"""Adapter capacity against hand-computed values for a BERT-style and a Llama-style configuration."""

from __future__ import annotations

import json

import pytest
from transformers import LlamaConfig
from typer.testing import CliRunner

from loradyn.cli import app
from loradyn.models.registry import resolve_model
from loradyn.theory.capacity import adapter_capacity, rank_dof

runner = CliRunner()


def test_rank_dof_by_hand():
    assert rank_dof(384, 384, 4) == 4 * (384 + 384 - 4)
    assert rank_dof(576, 192, 16) == 16 * (576 + 192 - 16)
    assert rank_dof(10, 3, 8) == 30  # a rank beyond min(d, k) frees the whole matrix


def test_bert_style_minilm():
    capacity = adapter_capacity(resolve_model("minilm").config, rank=4)
    assert [(m.target, m.d_in, m.d_out, m.count) for m in capacity.modules] == [
        ("query", 384, 384, 6),
        ("value", 384, 384, 6),
    ]
    assert capacity.dof == 12 * 4 * (384 + 384 - 4) == 36_672
    # LoRA A and B of every query/value (12 x 4 x 768) plus the 384 x 3 head and its bias: the engine's count too
    assert capacity.trainable_params == 12 * 4 * 768 + 384 * 3 + 3 == 38_019


def test_llama_style_config_with_grouped_query_attention():
    config = LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2
    )
    capacity = adapter_capacity(config, rank=8)
    shapes = {m.target: (m.d_in, m.d_out, m.count) for m in capacity.modules}
    assert shapes == {"q_proj": (64, 64, 2), "v_proj": (64, 32, 2)}
    assert capacity.dof == 2 * (8 * (64 + 64 - 8) + 8 * (64 + 32 - 8)) == 3_328
    assert capacity.trainable_params == 2 * (8 * (64 + 64) + 8 * (64 + 32)) + 64 * 3 == 3_776


def test_capacity_command(tmp_path):
    result = runner.invoke(app, ["theory", "capacity", "--model", "minilm", "--rank", "16", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["dof"] == 12 * 16 * (768 - 16)
    table = runner.invoke(app, ["theory", "capacity", "--model", "minilm", "--rank", "4"])
    assert table.exit_code == 0 and "36,672" in table.stdout


@pytest.mark.parametrize(
    ("targets", "modules", "dof"),
    [
        # the pooler alone (RACT's capacity preset): one 384 x 384 module, r(768 - r)
        ("pooler.dense", [("pooler.dense", 384, 384, 1)], 1 * (768 - 1)),
        # query only: the six layers' query projections, not the value projections
        ("query", [("query", 384, 384, 6)], 6 * 1 * (768 - 1)),
        # a suffix matches every layer's module of that name; 'dense' alone would match four kinds
        (
            "attention.output.dense,pooler.dense",
            [("attention.output.dense", 384, 384, 6), ("pooler.dense", 384, 384, 1)],
            7 * 767,
        ),
    ],
)
def test_capacity_counts_only_the_adapted_modules(targets, modules, dof):
    result = runner.invoke(
        app,
        ["theory", "capacity", "--model", "minilm", "--rank", "1", "--targets", targets, "--num-labels", "4", "--json"],
    )
    assert result.exit_code == 0, result.output
    capacity = json.loads(result.stdout)
    assert [(m["target"], m["d_in"], m["d_out"], m["count"]) for m in capacity["modules"]] == modules
    assert capacity["dof"] == dof
    # PEFT's own count of what trains: the adapters' A and B (r x 384 each per module) and the 4-class head
    assert capacity["trainable_params"] == sum(c * 1 * (i + o) for _, i, o, c in modules) + 384 * 4 + 4


@pytest.mark.parametrize(
    ("args", "message"), [(["--rank", "0"], "positive"), (["--targets", "q_proj"], "not in the model")]
)
def test_capacity_bad_input(args, message):
    result = runner.invoke(app, ["theory", "capacity", "--model", "minilm", *args])
    assert result.exit_code == 2 and message in result.stderr


def test_memorisation_well_below_and_well_above_the_bound():
    from loradyn.theory.memorisation import fitted_fraction

    bound = rank_dof(4, 16, 2)  # d = 16, k = 4, r = 2: 36
    assert fitted_fraction(bound // 4, d=16, k=4, rank=2, steps=800) == 1.0
    assert fitted_fraction(8 * bound, d=16, k=4, rank=2, steps=800) < 0.6


def test_memorisation_command_writes_table_figure_and_report(tmp_path):
    args = [
        "theory",
        "memorisation",
        "--out",
        str(tmp_path),
        "--ranks",
        "1,2",
        "--d",
        "16",
        "--k",
        "4",
        "--steps",
        "300",
    ]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["curve"]) == 2 * 7
    assert (tmp_path / "memorisation.png").stat().st_size > 10_000
    report = (tmp_path / "theory.md").read_text()
    assert "| 2 | 36 |" in report and "memorisation.png" in report


def test_best_rank_on_a_hand_made_grid():
    import pandas as pd

    from loradyn.theory.optimal_rank import best_rank

    grid = pd.DataFrame(
        {"rank": [1, 4, 16] * 2, "noise_rate": [0.0] * 3 + [0.4] * 3, "accuracy": [0.5, 0.7, 0.8, 0.5, 0.6, 0.6]}
    )
    assert best_rank(grid).to_dict() == {0.0: 16, 0.4: 4}  # a tie goes to the lower rank


def test_optimal_rank_command_and_the_combined_report(tmp_path):
    common = ["--out", str(tmp_path), "--steps", "200"]
    assert (
        runner.invoke(app, ["theory", "memorisation", *common, "--ranks", "2", "--d", "16", "--k", "4"]).exit_code == 0
    )
    args = ["theory", "optimal-rank", *common, "--ranks", "1,8", "--noise-rates", "0,0.5", "--n", "200", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["grid"]) == 4 and set(payload["best_rank"]) == {"0.0", "0.5"}
    assert all(0 <= row["accuracy"] <= 1 for row in payload["grid"])
    report = (tmp_path / "theory.md").read_text()
    assert "## Memorisation by a rank-r adapter" in report and "## The optimal rank under label noise" in report
    assert "optimal_rank.png" in report and (tmp_path / "optimal_rank.png").is_file()
    assert "--noise-rates 0,0.5" in report


def test_temporal_separation_and_real_rank_from_recorded_runs(data_dir, tmp_path):
    import numpy as np
    import pandas as pd
    from test_train import small

    from loradyn.store import read_dynamics
    from loradyn.theory.separation import learning_steps, separation_table
    from loradyn.train.runner import train

    runs = []
    for rank in (2, 8):
        out = tmp_path / f"r{rank}"
        train(small(data_dir, rank=rank, noise_rate=0.3, record_labels="both"), out, show_progress=False)
        runs.append(out)
    steps = learning_steps(runs[0]).set_index("example_id")
    probes = read_dynamics(runs[0], mode="probe").query("target == 'noisy'")
    for example_id, trajectory in probes.sort_values("step").groupby("example_id"):
        expected = np.nan  # by hand: the earliest step after which the trained label is predicted at every probe
        for step, pred, label in zip(*(trajectory[c][::-1] for c in ("step", "pred", "label")), strict=True):
            if pred != label:
                break
            expected = step
        np.testing.assert_equal(steps.loc[example_id, "learned_step"], expected)
    steps = steps.reset_index()
    examples = pd.read_parquet(runs[0] / "examples.parquet").set_index("example_id")
    assert steps["is_noisy"].sum() == examples.loc[steps["example_id"], "is_noisy"].sum()
    table = separation_table(runs)
    assert table["rank"].tolist() == [2, 8] and (table["n_clean"] + table["n_noisy"] == 32).all()
    result = runner.invoke(app, ["theory", "runs", *map(str, runs), "--out", str(tmp_path / "results"), "--json"])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "results" / "theory.md").read_text()
    assert "## Temporal separation" in report and "## The optimal rank on real data" in report
    assert (tmp_path / "results" / "separation.png").is_file()
