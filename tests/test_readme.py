"""Every README snippet runs, and every `loradyn` command it shows works (shrunk where it would be slow), in order,
from a fresh working folder with the real data."""

from __future__ import annotations

import glob
import re
import shlex

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from typer.testing import CliRunner

from loradyn.cli import app

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(python|bash)\n(.*?)```", README, flags=re.S)

#: Options appended to a README command so that the test stays small; the command itself is run as written.
SHRINK = {
    "train": ["--set", "n_bulk=32", "--set", "n_tracked=16", "--set", "n_validation=32", "--set", "epochs=1"],
    "theory memorisation": ["--ranks", "2", "--d", "8", "--k", "3", "--steps", "40"],
    "theory optimal-rank": ["--ranks", "2,8", "--noise-rates", "0,0.4", "--n", "120", "--steps", "40"],
    "ract": [
        "--set",
        "grid=null",
        "--set",
        "rank_curve={rank: [2], noise_rate: [0.3]}",
        *(f"--set={v}" for v in ("n_bulk=48", "n_tracked=16", "n_validation=32", "epochs=2", "max_length=32")),
    ],
}


@pytest.fixture
def workdir(tmp_path, monkeypatch, data_dir):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LORADYN_DATA_DIR", str(data_dir))
    (tmp_path / "configs").symlink_to(REPO / "configs")
    yes = np.random.default_rng(0).integers(0, 6, size=40)
    texts = [f"a sentence about thing {i}" for i in range(40)]
    pd.DataFrame({"text": texts, "yes": yes, "no": 5 - yes}).to_csv(tmp_path / "my_votes.csv", index=False)
    return tmp_path


def loradyn_commands() -> list[list[str]]:
    commands = []
    for kind, body in BLOCKS:
        for line in body.splitlines() if kind == "bash" else []:
            words = shlex.split(line, comments=True)
            if words[:1] == ["loradyn"]:
                commands.append(words[1:])
    return commands


def test_the_readme_shows_commands_and_snippets():
    assert len(loradyn_commands()) >= 10 and sum(kind == "python" for kind, _ in BLOCKS) >= 3


@pytest.mark.parametrize("index", range(sum(kind == "python" for kind, _ in BLOCKS)))
def test_python_snippet_runs(workdir, index):
    code = [body for kind, body in BLOCKS if kind == "python"][index]
    exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "readme"})


def test_every_loradyn_command_in_order(workdir):
    runner = CliRunner()
    for words in loradyn_commands():
        args = [match for word in words for match in (sorted(glob.glob(word)) if "*" in word else [word])]
        for prefix, extra in SHRINK.items():
            if " ".join(args).startswith(prefix):
                args += extra
        result = runner.invoke(app, args)
        assert result.exit_code == 0, f"loradyn {' '.join(args)}\n{result.output}"
