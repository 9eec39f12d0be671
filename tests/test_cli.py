import json
import os
import stat

import numpy as np
from typer.testing import CliRunner

from loradyn.cli import app
from loradyn.data import load_chaosnli

runner = CliRunner()


def _json(args):
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_summary_of_chaosnli_matches_the_library(data_dir):
    s = _json(["data", "summary", "chaosnli-snli", "--data-dir", str(data_dir)])
    table = load_chaosnli("snli", data_dir=data_dir).annotation_table()
    assert s["n_items"] == 1514
    assert s["splits"] == {"train": 1211, "held_out": 303}
    assert s["entropy_nats"]["mean"] == table["entropy"].mean()
    assert s["entropy_nats"]["max"] <= np.log(3)
    assert sum(s["categories"].values()) == 1
    assert s["categories"]["clean"] == np.mean(table["entropy"] < 0.4)
    assert s["majority_labels"] == {"entailment": 424, "neutral": 811, "contradiction": 279}
    assert s["majority_ties"] == 14


def test_summary_table_and_env_data_dir(data_dir, monkeypatch):
    monkeypatch.setenv("LORADYN_DATA_DIR", str(data_dir))
    result = runner.invoke(app, ["data", "summary", "chaosnli-mnli"])
    assert result.exit_code == 0, result.output
    assert "1,599 items" in result.stdout and "train 1,279  held-out 320" in result.stdout


def test_summary_of_a_standard_dataset(data_dir):
    s = _json(["data", "summary", "mnli", "--data-dir", str(data_dir)])
    assert s["splits"] == {"train": 19_996, "validation_matched": 9_815}
    assert sum(s["labels"]["train"].values()) == 19_996


def test_summary_of_a_user_file(tmp_path):
    path = tmp_path / "votes.csv"
    path.write_text("text,yes,no\na,10,0\nb,5,5\nc,1,9\n")
    s = _json(["data", "summary", str(path), "--count-fields", "yes,no"])
    assert s["n_items"] == 3
    assert s["entropy_nats"]["max"] == np.log(2)
    assert s["majority_labels"] == {"yes": 2, "no": 1}
    assert "at least 2 items per stratum" in s["splits"]["unavailable"]
    assert runner.invoke(app, ["data", "summary", str(path), "--count-fields", "yes,no"]).exit_code == 0


def test_unknown_dataset_and_unmapped_file(tmp_path):
    result = runner.invoke(app, ["data", "summary", "imagenet"])
    assert result.exit_code == 2 and "unknown dataset 'imagenet'" in result.stderr
    result = runner.invoke(app, ["data", "summary", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "--count-fields" in result.stderr


def test_noise_inject_writes_a_noisy_copy_and_its_mask(data_dir, tmp_path):
    out = tmp_path / "noisy"
    args = ["noise", "inject", "ag-news", "--split", "train", "--rate", "0.3", "--seed", "7", "--out", str(out)]
    manifest = _json([*args, "--data-dir", str(data_dir)])
    assert manifest["n_flipped"] == 1500 and manifest["realised_rate"] == 0.3
    rows = [json.loads(line) for line in (out / "examples.jsonl").read_text().splitlines()]
    assert len(rows) == 5000
    flipped = [r for r in rows if r["is_noisy"]]
    assert len(flipped) == 1500
    assert all(r["label"] != r["original_label"] for r in flipped)
    assert all(r["label"] == r["original_label"] for r in rows if not r["is_noisy"])
    assert json.loads((out / "noise.json").read_text())["transition"] == manifest["transition"]
    import datasets

    table = datasets.load_dataset("parquet", data_files=str(out / "examples.parquet"), split="train")
    assert table.num_rows == 5000 and sum(table["is_noisy"]) == 1500
    assert table["label"] == [r["label"] for r in rows] and table["original_label"] == [
        r["original_label"] for r in rows
    ]
    assert not list(out.glob(".*tmp"))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((out / "noise.json").stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600


def test_demo_summarises_a_finished_run(data_dir, tmp_path):
    from test_train import small

    from loradyn.train.runner import train

    out = tmp_path / "demo"
    train(small(data_dir, epochs=1), out, show_progress=False)
    payload = _json(["demo", "--out", str(out), "--data-dir", str(data_dir)])
    assert payload["data"]["n_items"] == 1514
    assert payload["run"]["status"] == "complete"
    categories = payload["dynamics"]["categories"]
    assert [c["category"] for c in categories] == ["clean", "ambiguous", "contested"]
    assert sum(c["n"] for c in categories) == payload["dynamics"]["spearman_aulc_entropy"]["n"] == 32
    assert all(0 <= c["unlearned"] <= 1 for c in categories)
    result = runner.invoke(app, ["demo", "--out", str(out), "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "Spearman rho(AULC, entropy)" in " ".join(result.stdout.split())


def _commands(group, path=()):
    for name, sub in group.commands.items():
        if hasattr(sub, "commands"):
            yield from _commands(sub, (*path, name))
        else:
            yield (*path, name)


def test_every_help_names_arguments_plainly_and_shows_flags_bare():
    from click.testing import CliRunner as ClickRunner

    from loradyn.cli import command

    group, click_runner = command(), ClickRunner()
    commands = list(_commands(group))
    assert ("train",) in commands and ("theory", "runs") in commands and len(commands) >= 13
    for path in commands:
        result = click_runner.invoke(group, [*path, "--help"], prog_name="loradyn", env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        usage = next(line for line in result.output.splitlines() if "Usage:" in line)
        assert "{" not in usage and "<bool>" not in result.output, (path, result.output)
    usage = click_runner.invoke(group, ["train", "--help"], env={"COLUMNS": "200"}).output
    assert "train [OPTIONS] CONFIG" in usage
    version = click_runner.invoke(group, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("loradyn 0.")


def test_only_bad_input_is_a_user_error_and_anything_else_a_bug_with_its_traceback(data_dir, tmp_path, monkeypatch):
    import loradyn.cli.data as data_cli

    def broken(*args, **kwargs):
        raise ValueError("an internal invariant broke")  # not a DataError: a bug, whatever its type

    monkeypatch.setenv("LORADYN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(data_cli, "summarize_annotated", broken)
    result = runner.invoke(app, ["data", "summary", "chaosnli-snli", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "unexpected ValueError: an internal invariant broke" in result.output
    (log,) = (tmp_path / "loradyn-errors").iterdir()
    assert "Traceback" in log.read_text() and str(log) in result.output.replace("\n", "")
