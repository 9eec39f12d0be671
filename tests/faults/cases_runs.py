"""Bad run directories and options for the commands that read runs: `loradyn analyze`, `detect`, `report` and
`theory`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
from catalogue import (
    REPORT_RUN,
    Case,
    folder,
    noisy,
    remove,
    run,
    run_json,
    table,
    write,
)


def analyze(name: str, what: str, runs: tuple[str, ...], words: tuple[str, ...], *options: str, **case: Any) -> Case:
    args = ("analyze", *(f"{{tmp}}/{r}" for r in runs), "--n-resamples", "20", *options)
    return Case("analyze", name, what, args, words, **case)


def _one_checkpoint(d: pd.DataFrame) -> pd.DataFrame:
    return d[(d["mode"] != "probe") | (d["checkpoint"] == 0)]


def _diverged(d: pd.DataFrame) -> pd.DataFrame:
    return d.assign(loss=d["loss"].where((d["mode"] != "probe") | (d["checkpoint"] == 0), float("nan")))


def _lost_checkpoint(run_dir: Path) -> None:
    """A finished run (run.json counts its 4 probes) whose store lost probe checkpoint 2 after it ended, as a store
    rebuilt from its parts after one was deleted would be."""
    run_json(lambda r: {**r, "progress": {"step": 30, "checkpoints": 4}})(run_dir)
    table("dynamics.parquet", lambda d: d[(d["mode"] != "probe") | (d["checkpoint"] != 2)])(run_dir)


def _other_ids(run_dir: Path) -> None:
    """The run tracks other items: every id renamed."""
    for name in ("examples.parquet", "dynamics.parquet"):
        table(name, lambda t: t.assign(example_id=t["example_id"].str.replace("item", "other")))(run_dir)


def _drop_first(run_dir: Path) -> None:
    """The run lacks its first item."""
    for name in ("examples.parquet", "dynamics.parquet"):
        table(name, lambda t: t[t["example_id"] != "item-00000"])(run_dir)


def _relabel(run_dir: Path) -> None:
    """The run trained item-00001 on another noisy label."""
    table("examples.parquet", lambda t: t.assign(label=(t["label"] + (t["example_id"] == "item-00001")) % 3))(run_dir)
    shift = lambda t: (t["example_id"] == "item-00001") & (t["target"] == "noisy")  # noqa: E731
    table("dynamics.parquet", lambda t: t.assign(label=(t["label"] + shift(t)) % 3))(run_dir)


ANALYZE = [
    analyze(
        "seed-negative", "--seed -1", ("r",), ("field '--seed'", "at least 0, got -1"), "--seed", "-1", make=(run("r"),)
    ),
    analyze(
        "foreign-run-json",
        "a run.json written by another tool",
        ("r",),
        ("{tmp}/r/run.json", "field 'config'", "not a loradyn run", "learning_rate"),
        make=(run("r", run_json(lambda r: {**r, "config": {"learning_rate": 2e-5}})),),
    ),
    Case(
        "analyze",
        "resamples-billion",
        "--n-resamples 1000000000 (died of MemoryError)",
        ("analyze", "{tmp}/good", "--n-resamples", "1000000000"),
        ("field '--n-resamples'", "must be at most 100,000, got 1,000,000,000"),
        make=(run("good"),),
    ),
    Case(
        "report",
        "resamples-billion",
        "--n-resamples 1000000000",
        ("report", "{tmp}", "--n-resamples", "1000000000"),
        ("field '--n-resamples'", "must be at most 100,000"),
        make=(run("good"),),
    ),
    analyze(
        "good-and-bad",
        "a good run and a folder that is not one: nothing written into the good one",
        ("good", "bad"),
        ("{tmp}/bad", "not a run directory (no run.json)"),
        make=(run("good"), folder("bad")),
    ),
    analyze(
        "run-json-list",
        "a run whose run.json is a list (metrics were written before)",
        ("r",),
        ("{tmp}/r/run.json", "field 'config'", "run.json has no config mapping"),
        make=(run("r", write("run.json", "[1]")),),
    ),
    analyze(
        "run-json-no-config",
        "run.json without config",
        ("r",),
        ("{tmp}/r/run.json", "no config mapping"),
        make=(run("r", write("run.json", '{"status": "complete"}')),),
    ),
    analyze(
        "run-json-invalid",
        "run.json that is not JSON",
        ("r",),
        ("{tmp}/r/run.json:1", "malformed JSON"),
        make=(run("r", write("run.json", '{"status":')),),
    ),
    analyze(
        "run-json-binary",
        "run.json that is binary",
        ("r",),
        ("{tmp}/r/run.json:1", "not UTF-8 text"),
        make=(run("r", write("run.json", b"\xff\xfe\x00garbage")),),
    ),
    analyze(
        "loss-is-text",
        "a string loss column",
        ("r",),
        ("{tmp}/r/dynamics.parquet", "field 'loss'", "not numbers"),
        make=(run("r", table("dynamics.parquet", lambda d: d.assign(loss=d["loss"].astype(str)))),),
    ),
    analyze(
        "duplicate-rows",
        "duplicate (example_id, checkpoint, mode) rows in the store",
        ("r",),
        ("{tmp}/r/dynamics.parquet", "field 'example_id'", "5 row(s) repeat an earlier row's"),
        make=(run("r", table("dynamics.parquet", lambda d: pd.concat([d, d.iloc[:5].assign(loss=9.0)]))),),
    ),
    analyze(
        "dynamics-not-parquet",
        "dynamics.parquet that is not Parquet",
        ("r",),
        ("{tmp}/r/dynamics.parquet", "not a readable Parquet file"),
        make=(run("r", write("dynamics.parquet", "text")),),
    ),
    analyze(
        "examples-not-parquet",
        "examples.parquet that is not Parquet",
        ("r",),
        ("{tmp}/r/examples.parquet", "not a readable Parquet file"),
        make=(run("r", write("examples.parquet", "x")),),
    ),
    analyze(
        "no-dynamics",
        "a run without dynamics.parquet",
        ("r",),
        ("{tmp}/r/dynamics.parquet", "no dynamics"),
        make=(run("r", remove("dynamics.parquet")),),
    ),
    analyze(
        "no-examples",
        "a run without examples.parquet",
        ("r",),
        ("{tmp}/r/examples.parquet", "no examples.parquet"),
        make=(run("r", remove("examples.parquet")),),
    ),
    analyze(
        "missing-column",
        "a store without the margin column",
        ("r",),
        ("{tmp}/r/dynamics.parquet", "field 'margin'", "missing columns ['margin']"),
        make=(run("r", table("dynamics.parquet", lambda d: d.drop(columns="margin"))),),
    ),
    analyze(
        "one-checkpoint",
        "a store with one probe checkpoint",
        ("r",),
        ("{tmp}/r/dynamics.parquet", "field 'checkpoint'", "only 1 probe checkpoint(s)"),
        make=(run("r", table("dynamics.parquet", _one_checkpoint)),),
    ),
    analyze(
        "lost-checkpoint",
        "a finished run whose store lost one probe checkpoint (it reported 0 missing cells)",
        ("r",),
        ("{tmp}/r/dynamics.parquet", "field 'checkpoint'", "1 of the 4 probe checkpoints", "checkpoint 2"),
        make=(run("r", _lost_checkpoint),),
    ),
    analyze(
        "diverged",
        "a diverged run: NaN probe losses after step 0 (the fix said to record more probes)",
        ("r",),
        ("{tmp}/r/dynamics.parquet", "field 'loss'", "NaN or infinite losses: the run diverged", "lower lr"),
        make=(run("r", table("dynamics.parquet", _diverged)),),
    ),
    analyze(
        "unknown-ids",
        "dynamics of items examples.parquet lacks",
        ("r",),
        ("{tmp}/r/examples.parquet", "field 'example_id'", "have no annotations"),
        make=(run("r", table("examples.parquet", lambda e: e.iloc[3:])),),
    ),
    analyze("run-twice", "the same run given twice", ("r", "r"), ("{tmp}/r is the same folder as",), make=(run("r"),)),
    analyze(
        "run-and-link",
        "a run and a link to it (counted as two seeds, SD 0)",
        ("r", "link"),
        ("{tmp}/link is the same folder as {tmp}/r", "count twice"),
        make=(run("r"), lambda root, data: (root / "link").symlink_to(root / "r")),
    ),
    analyze(
        "run-and-copy",
        "a run and a copy of it (counted as two seeds, SD 0)",
        ("r", "copy"),
        ("{tmp}/copy has the configuration and seed of {tmp}/r", "count twice"),
        make=(run("r"), lambda root, data: shutil.copytree(root / "r", root / "copy")),
    ),
    analyze(
        "seeds-track-different-items",
        "two seeds of one condition tracking different items",
        ("s1", "s2"),
        ("track different examples",),
        make=(run("s1", seed=1), run("s2", _other_ids, seed=2)),
    ),
    analyze(
        "stats-is-folder",
        "a folder named stats.json in the run",
        ("r",),
        ("{tmp}/r/stats.json", "is a folder where an output file goes"),
        make=(run("r"), folder("r/stats.json")),
    ),
    analyze(
        "metrics-is-folder",
        "a folder named metrics.parquet in the run",
        ("r",),
        ("{tmp}/r/metrics.parquet", "is a folder where an output file goes"),
        make=(run("r"), folder("r/metrics.parquet")),
    ),
    analyze(
        "out-is-file",
        "--out that is a file",
        ("r",),
        ("{tmp}/o", "is a file where an output folder goes"),
        "--out",
        "{tmp}/o",
        make=(run("r"),),
        files={"o": "a file"},
    ),
    analyze(
        "resamples-zero",
        "--n-resamples 0",
        ("r",),
        ("field '--n-resamples'", "must be positive"),
        "--n-resamples",
        "0",
        make=(run("r"),),
    ),
    analyze(
        "other-family",
        "analysis.json of other runs beside them (no --force)",
        ("r",),
        ("{tmp}/analysis.json", "made for other runs", "--force"),
        "--out",
        "{tmp}",
        make=(run("r"),),
        files={"analysis.json": '{"runs": ["someone-else"]}'},
    ),
]


def detect(
    name: str, what: str, runs: tuple[str, ...], options: tuple[str, ...], words: tuple[str, ...], **case: Any
) -> Case:
    args = ("detect", *(f"{{tmp}}/{r}" for r in runs), "--out", "{tmp}/out", *options)
    case.setdefault("make", (noisy("r4"), noisy("r16", rank=16)))
    return Case("detect", name, what, args, words, **case)


PAIR = ("r4", "r16")
DETECT = [
    detect(
        "different-data",
        "runs trained on different data (their fingerprints differ): rank discrepancy was computed anyway",
        PAIR,
        (),
        ("field 'fingerprint'", "trained on different data", "differ in labels"),
        make=(
            noisy("r4", edit=run_json(lambda r: {**r, "fingerprint": {"train_ids": "a", "labels": "b"}})),
            noisy("r16", rank=16, edit=run_json(lambda r: {**r, "fingerprint": {"train_ids": "a", "labels": "c"}})),
        ),
    ),
    detect(
        "differ-in-lr",
        "runs of ranks 4 and 16 that also differ in lr (the rank-discrepancy column was silently dropped)",
        PAIR,
        ("--detectors", "rank_discrepancy"),
        ("field 'rank'", "no two runs differ only in rank", "also differ in lr"),
        make=(
            noisy("r4"),
            noisy("r16", rank=16, edit=run_json(lambda r: {**r, "config": {**r["config"], "lr": 1e-3}})),
        ),
    ),
    detect("detectors-comma", "--detectors ,", PAIR, ("--detectors", ","), ("field '--detectors'", "lists nothing")),
    detect(
        "detectors-twice",
        "--detectors aum,aum",
        PAIR,
        ("--detectors", "aum,aum"),
        ("field '--detectors'", "names something twice"),
    ),
    detect(
        "detectors-unknown",
        "--detectors magic",
        PAIR,
        ("--detectors", "magic"),
        ("field 'detectors'", "detectors must be among"),
    ),
    detect("scope-unknown", "--scope all", PAIR, ("--scope", "all"), ("field 'scope'", "scope must be one of")),
    detect("source-unknown", "--source both", PAIR, ("--source", "both"), ("field 'source'", "source must be one of")),
    detect(
        "window-backwards",
        "--window 0.9,0.1",
        PAIR,
        ("--window", "0.9,0.1"),
        ("field 'window'", "0 <= start < end <= 1"),
    ),
    detect(
        "window-text", "--window a,b", PAIR, ("--window", "a,b"), ("field '--window'", "two comma-separated floats")
    ),
    detect("ranks-backwards", "--ranks 16,4", PAIR, ("--ranks", "16,4"), ("field 'ranks'", "0 < low < high")),
    detect("ranks-text", "--ranks 4,x", PAIR, ("--ranks", "4,x"), ("field '--ranks'", "two comma-separated ints")),
    detect(
        "trusted-missing",
        "--trusted naming no file",
        PAIR,
        ("--trusted", "{tmp}/t.csv"),
        ("{tmp}/t.csv", "file not found"),
    ),
    detect(
        "trusted-bad-value",
        "a trusted file with is_noisy 'maybe'",
        PAIR,
        ("--trusted", "{tmp}/t.csv"),
        ("{tmp}/t.csv:2", "field 'is_noisy'", "got 'maybe'"),
        files={"t.csv": "example_id,is_noisy\nitem-00000,maybe\n"},
    ),
    detect(
        "trusted-binary",
        "a binary trusted file",
        PAIR,
        ("--trusted", "{tmp}/t.csv"),
        ("{tmp}/t.csv:1", "not UTF-8 text (byte 0xff"),
        files={"t.csv": b"\xff\xfe\x00\x01garbage\n"},
    ),
    detect(
        "trusted-no-column",
        "a trusted file without is_noisy",
        PAIR,
        ("--trusted", "{tmp}/t.csv"),
        ("{tmp}/t.csv", "field 'is_noisy'", "missing column"),
        files={"t.csv": "example_id\nitem-00000\n"},
    ),
    detect(
        "trusted-suffix",
        "a trusted file of unknown type",
        PAIR,
        ("--trusted", "{tmp}/t.txt"),
        ("{tmp}/t.txt", "unknown file type '.txt'"),
        files={"t.txt": "x"},
    ),
    detect(
        "trusted-both",
        "--trusted and --trusted-size together",
        PAIR,
        ("--trusted", "{tmp}/t.csv", "--trusted-size", "5"),
        ("field '--trusted'", "alternatives"),
        files={"t.csv": "example_id,is_noisy\nitem-00000,1\n"},
    ),
    detect(
        "trusted-size-zero",
        "--trusted-size 0",
        PAIR,
        ("--trusted-size", "0"),
        ("{tmp}/r", "field 'trusted'", "a trusted sample of 0"),
    ),
    detect("kfold-one", "--kfold 1", PAIR, ("--kfold", "1"), ("field 'kfold'", "at least 2")),
    detect("seed-negative", "--seed -1", PAIR, ("--seed", "-1"), ("field '--seed'", "at least 0, got -1")),
    detect("not-a-run", "a folder that is not a run", ("none",), (), ("{tmp}/none/run.json", "no run.json")),
    detect(
        "foreign-run-json",
        "a run.json written by another tool (was filled with defaults, then a KeyError)",
        ("r4",),
        (),
        ("{tmp}/r4/run.json", "field 'config'", "not a loradyn run", "learning_rate"),
        make=(noisy("r4", edit=write("run.json", '{"status": "complete", "config": {"learning_rate": 2e-5}}')),),
    ),
    detect(
        "run-json-list",
        "run.json that is a list",
        ("r4",),
        (),
        ("{tmp}/r4/run.json", "holds a list"),
        make=(noisy("r4", edit=write("run.json", "[1]")),),
    ),
    detect(
        "run-json-invalid",
        "run.json that is not JSON",
        ("r4",),
        (),
        ("{tmp}/r4/run.json:1", "malformed JSON"),
        make=(noisy("r4", edit=write("run.json", "{bad")),),
    ),
    detect(
        "run-json-no-config",
        "run.json without config",
        ("r4",),
        (),
        ("{tmp}/r4/run.json", "field 'config'", "run.json has no config mapping"),
        make=(noisy("r4", edit=write("run.json", '{"status": "complete"}')),),
    ),
    detect(
        "loss-is-text",
        "a string loss column",
        ("r4",),
        (),
        ("{tmp}/r4/dynamics.parquet", "field 'loss'"),
        make=(noisy("r4", edit=table("dynamics.parquet", lambda d: d.assign(loss=d["loss"].astype(str)))),),
    ),
    detect(
        "duplicate-rows",
        "duplicate rows in the store",
        ("r4",),
        (),
        ("{tmp}/r4/dynamics.parquet", "repeat"),
        make=(noisy("r4", edit=table("dynamics.parquet", lambda d: pd.concat([d, d.iloc[-3:]]))),),
    ),
    detect(
        "examples-not-parquet",
        "examples.parquet that is not Parquet",
        ("r4",),
        (),
        ("{tmp}/r4/examples.parquet", "not a readable Parquet file"),
        make=(noisy("r4", edit=write("examples.parquet", "x")),),
    ),
    detect(
        "examples-no-split",
        "examples.parquet without split",
        ("r4",),
        (),
        ("{tmp}/r4/examples.parquet", "field 'split'", "missing columns"),
        make=(noisy("r4", edit=table("examples.parquet", lambda e: e.drop(columns="split"))),),
    ),
    detect(
        "oof-not-parquet",
        "oof_probs.parquet that is not Parquet",
        ("r4",),
        (),
        ("{tmp}/r4/oof_probs.parquet", "not a readable Parquet file"),
        make=(noisy("r4", edit=write("oof_probs.parquet", "x")),),
    ),
    detect(
        "output-is-folder",
        "a folder named evaluation.json in --out",
        PAIR,
        (),
        ("{tmp}/out/evaluation.json", "is a folder where an output file goes"),
        make=(noisy("r4"), noisy("r16", rank=16), folder("out/evaluation.json")),
    ),
    detect(
        "out-is-file",
        "--out that is a file",
        PAIR,
        (),
        ("{tmp}/out", "is a file where an output folder goes"),
        files={"out": "a file"},
    ),
    detect(
        "different-examples",
        "a RACT pair over different examples",
        PAIR,
        (),
        ("cover different examples", "field 'example_id'"),
        make=(noisy("r4"), noisy("r16", 16, _drop_first)),
    ),
    detect(
        "different-noisy-labels",
        "a RACT pair trained on different noisy labels",
        PAIR,
        (),
        ("trained on different noisy labels for 1 example(s)",),
        make=(noisy("r4"), noisy("r16", 16, _relabel)),
    ),
    detect(
        "equal-ranks",
        "two runs of one rank",
        ("a", "b"),
        (),
        ("have equal ranks (4)", "field 'rank'"),
        make=(noisy("a"), noisy("b")),
    ),
]


def report(name: str, what: str, words: tuple[str, ...], *options: str, **case: Any) -> Case:
    case.setdefault("make", (run("sw/a__s1", **REPORT_RUN),))
    return Case(
        "report", name, what, ("report", "{tmp}/sw", "--n-resamples", "20", "--workers", "1", *options), words, **case
    )


REPORT = [
    report("missing", "a sweep folder that does not exist", ("{tmp}/sw", "not a folder"), make=()),
    report("is-file", "a file as the sweep folder", ("{tmp}/sw", "not a folder"), make=(), files={"sw": "x"}),
    report("empty", "a sweep folder with no run", ("{tmp}/sw", "no complete run"), make=(folder("sw"),)),
    report(
        "run-json-list",
        "a sweep whose only run's run.json is a list",
        ("{tmp}/sw", "no complete run"),
        make=(run("sw/a", write("run.json", "[1]")),),
    ),
    report(
        "rank-is-text",
        "a run.json whose rank reads 'sixteen' (was a traceback after writing analysis.json)",
        ("{tmp}/sw/a__s1/run.json", "field 'rank'", "rank must be int, got 'sixteen'"),
        make=(run("sw/a__s1", run_json(lambda r: {**r, "config": {**r["config"], "rank": "sixteen"}}), **REPORT_RUN),),
    ),
    report(
        "foreign-run-json",
        "a run.json written by another tool (was reported as minilm, chaosnli-snli, LoRA r16)",
        ("{tmp}/sw/a__s1/run.json", "not a loradyn run", "learning_rate"),
        make=(run("sw/a__s1", run_json(lambda r: {**r, "config": {"learning_rate": 2e-5}}), **REPORT_RUN),),
    ),
    report(
        "run-and-link",
        "a link to a run inside the sweep folder (counted as a second seed, SD 0)",
        ("is the same folder as", "count twice"),
        make=(
            run("sw/a__s1", **REPORT_RUN),
            lambda root, data: (root / "sw" / "b__s1").symlink_to(root / "sw" / "a__s1"),
        ),
    ),
    report(
        "run-and-copy",
        "a copy of a run inside the sweep folder (counted as a second seed, SD 0)",
        ("has the configuration and seed of", "count twice"),
        make=(
            run("sw/a__s1", **REPORT_RUN),
            lambda root, data: shutil.copytree(root / "sw" / "a__s1", root / "sw" / "b__s1"),
        ),
    ),
    report("workers-zero", "--workers 0", ("field '--workers'", "must be positive"), "--workers", "0"),
    report("resamples-zero", "--n-resamples 0", ("field '--n-resamples'",), "--n-resamples", "0"),
    report(
        "page-is-folder",
        "a folder named report.html (the analysis is not written either)",
        ("{tmp}/sw/report.html", "is a folder where an output file goes"),
        make=(run("sw/a__s1", **REPORT_RUN), folder("sw/report.html")),
    ),
    report(
        "figures-is-file",
        "a file named report-figures",
        ("{tmp}/sw/report-figures", "is a file where an output folder"),
        files={"sw/report-figures": "x"},
    ),
    report(
        "out-is-file",
        "--out that is a file",
        ("{tmp}/o", "is a file where an output folder goes"),
        "--out",
        "{tmp}/o",
        files={"o": "x"},
    ),
    report(
        "map-run-unknown",
        "--map-run naming no run (nothing analysed or written)",
        ("{tmp}/sw", "field '--map-run'", "no complete run named 'nope'"),
        "--map-run",
        "nope",
    ),
]


def theory(command: str, name: str, what: str, options: tuple[str, ...], words: tuple[str, ...], **case: Any) -> Case:
    return Case("theory", f"{command}-{name}", what, ("theory", command, *options), words, **case)


OUT = ("--out", "{tmp}/out")
THEORY = [
    theory(
        "capacity",
        "num-labels-zero",
        "--num-labels 0",
        ("--model", "minilm", "--num-labels", "0"),
        ("field '--num-labels'", "must be at least 2"),
    ),
    theory("capacity", "rank-zero", "--rank 0", ("--model", "minilm", "--rank", "0"), ("field '--rank'",)),
    theory(
        "capacity",
        "model-unknown",
        "an unknown model, offline",
        ("--model", "no-such-model-anywhere"),
        ("field 'model'", "unknown model"),
    ),
    theory(
        "capacity", "method-full", "--method full", ("--model", "minilm", "--method", "full"), ("field '--method'",)
    ),
    theory(
        "capacity",
        "targets-unknown",
        "--targets foo",
        ("--model", "minilm", "--targets", "foo"),
        ("target modules ['foo'] are not in the model",),
    ),
    theory(
        "capacity",
        "targets-comma",
        "--targets , (was taken as the default)",
        ("--model", "minilm", "--targets", ","),
        ("field '--targets'", "lists nothing"),
    ),
    theory("memorisation", "d-zero", "--d 0", ("--d", "0", *OUT), ("field '--d'", "must be positive")),
    theory(
        "memorisation", "ranks-comma", "--ranks ,", ("--ranks", ",", *OUT), ("field '--ranks'", "needs one or more")
    ),
    theory(
        "memorisation",
        "ranks-text",
        "--ranks a,b",
        ("--ranks", "a,b", *OUT),
        ("field '--ranks'", "not comma-separated ints"),
    ),
    theory("memorisation", "ranks-zero", "--ranks 0", ("--ranks", "0", *OUT), ("field '--ranks'", "at least 1")),
    theory("memorisation", "k-one", "--k 1", ("--k", "1", *OUT), ("field '--k'", "must be at least 2")),
    theory(
        "memorisation",
        "out-is-file",
        "--out that is a file (refused before the experiment runs)",
        ("--steps", "1", *OUT),
        ("{tmp}/out", "is a file where an output folder goes"),
        files={"out": "x"},
    ),
    theory("optimal-rank", "n-zero", "--n 0", ("--n", "0", *OUT), ("field '--n'", "must be positive")),
    theory(
        "optimal-rank",
        "rate-over-one",
        "--noise-rates 1.5",
        ("--noise-rates", "1.5", *OUT),
        ("field '--noise-rates'", "below 1"),
    ),
    theory(
        "optimal-rank",
        "rate-negative",
        "--noise-rates -0.1",
        ("--noise-rates", "-0.1", *OUT),
        ("field '--noise-rates'", "at least 0"),
    ),
    theory("optimal-rank", "rate-nan", "--noise-rates nan", ("--noise-rates", "nan", *OUT), ("field '--noise-rates'",)),
    theory("optimal-rank", "true-rank-zero", "--true-rank 0", ("--true-rank", "0", *OUT), ("field '--true-rank'",)),
    theory(
        "optimal-rank",
        "output-is-folder",
        "a folder named optimal_rank.csv in --out",
        ("--steps", "1", *OUT),
        ("{tmp}/out/optimal_rank.csv", "is a folder"),
        make=(folder("out/optimal_rank.csv"),),
    ),
    theory(
        "runs",
        "not-a-run",
        "a folder that is not a run",
        ("{tmp}/x", *OUT),
        ("{tmp}/x", "none of the folders is a finished LoRA run", "not a run directory (no run.json)"),
        make=(folder("x"),),
    ),
    theory(
        "runs",
        "run-json-list",
        "a run whose run.json is a list",
        ("{tmp}/r", *OUT),
        ("{tmp}/r", "not a finished run"),
        make=(run("r", write("run.json", "[1]")),),
    ),
    theory(
        "runs", "missing", "a folder that does not exist", ("{tmp}/none", *OUT), ("{tmp}/none", "not a run directory")
    ),
    theory(
        "runs",
        "full-fine-tuning",
        "a run without a rank (full fine-tuning)",
        ("{tmp}/r", *OUT),
        ("method 'full' has no rank",),
        make=(run("r", config={"method": "full"}),),
    ),
    theory(
        "runs",
        "no-accuracy",
        "a run.json without its accuracy per epoch",
        ("{tmp}/r", *OUT),
        ("{tmp}/r", "lacks dataset, model, rank, noise_rate or the accuracy"),
        make=(run("r"),),
    ),
    theory(
        "runs",
        "out-is-file",
        "--out that is a file",
        ("{tmp}/r", *OUT),
        ("{tmp}/out", "is a file where an output folder goes"),
        files={"out": "x"},
        make=(run("r", run_json(lambda r: r | {"val_accuracy_per_epoch": [0.5], "progress": {"step": 10}})),),
    ),
]

CASES = [*ANALYZE, *DETECT, *REPORT, *THEORY]
