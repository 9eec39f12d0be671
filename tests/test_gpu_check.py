"""benchmarks/gpu_check.sh runs end to end where there is no GPU, shrunk with --tiny, and its report holds what the
runs recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_shrunk_on_the_cpu_and_reports_each_run(tmp_path, data_dir):
    doc = tmp_path / "gpu.md"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "LORADYN": str(bin_dir / "loradyn"), "PYTHON": sys.executable}
    result = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "--tiny", "--out", str(tmp_path / "runs"), "--doc", str(doc),
         "--data-dir", str(data_dir)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(doc.with_suffix(".json").read_text())
    assert [r["run"] for r in report["runs"]] == ["smoke", "paper-minilm-bf16", "paper-minilm-fp32"]
    assert [r["precision"] for r in report["runs"]] == ["no", "bf16", "no"]
    for row in report["runs"]:
        run = json.loads((tmp_path / "runs" / row["run"] / "run.json").read_text())
        assert row["examples_per_second"] == run["data"]["n_train"] / run["timings"]["train"]  # one epoch
        assert row["probe_overhead"] > 0 and 0 < row["peak_memory_gib"] < 24
    text = doc.read_text()
    assert "--tiny" in report["command"] and text.count("| paper-minilm-") == 2 and "no GPU" in text
