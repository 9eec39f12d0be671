"""``loradyn detect``'s core: every applicable detector over run directories, into one per-example table, and
its evaluation written beside it.

A run directory gives its dynamics (``dynamics.parquet``; rows against the noisy labels), its examples
(``examples.parquet``: ``label`` trained on, ``original_label``, the truth ``is_noisy``, ``split``, ``tracked`` and,
where annotations exist, ``entropy`` and ``category``) and its configuration (``run.json``). Confident learning
applies where the directory also holds ``oof_probs.parquet`` (``example_id`` and ``probs``, the out-of-sample class
probabilities of held-out folds, written by `loradyn.experiments.kfold.write_oof`). RACT pairs runs whose
configurations differ only in their rank.
"""

from __future__ import annotations

import io
import itertools
import json
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loradyn.errors import DataError
from loradyn.experiments.kfold import OOF_PROBS, check_kfold, plan_folds, write_oof
from loradyn.experiments.steps import RUN_JSON, Steps, read_run, to_stderr
from loradyn.io import check_writable, dumps, json_writer, read_parquet, read_text, write_atomic, write_files
from loradyn.noisy.confident import confident_learning
from loradyn.noisy.detectors import (
    aum_score,
    datamap_confidence,
    forgetting_score,
    prediction_disagreement,
    small_loss,
)
from loradyn.noisy.evaluation import evaluation_tables
from loradyn.noisy.ract import DEFAULT_WINDOW, check_window, rank_discrepancy
from loradyn.noisy.rows import check_source, covers, some, trained_rows
from loradyn.noisy.thresholds import flag_gmm, flag_top_rate, flag_trusted
from loradyn.store import DYNAMICS, read_dynamics
from loradyn.train.config import stored_config

EXAMPLES = "examples.parquet"
DETECTIONS = "detections.parquet"
#: The evaluation files `write_results` writes: per run (or RACT pair), per condition over seeds, per category.
EVALUATION = {
    "runs": "evaluation.parquet",
    "conditions": "evaluation_conditions.parquet",
    "categories": "evaluation_categories.parquet",
}
EVALUATION_JSON = "evaluation.json"
EXAMPLE_COLUMNS = ("example_id", "label", "original_label", "is_noisy", "split", "tracked")
ANNOTATIONS = ("entropy", "category")
SCOPES = ("tracked", "train")
#: Configuration fields that name the condition of a detections row.
CONDITION = ("dataset", "model", "method", "noise_kind", "noise_rate", "noise_seed", "seed")
#: Configuration fields that may differ within a RACT pair: the rank, and where the data were read from.
PAIR_IGNORES = ("rank", "data_dir")

#: Detectors of one run: name -> (score function of (dynamics, ids, source), whether it reads ``source``; the
#: others read the training pass alone).
SINGLE_RUN: dict[str, tuple[Callable[[pd.DataFrame, np.ndarray, str], np.ndarray], bool]] = {
    "small_loss": (lambda d, ids, source: small_loss(d, ids, reduce="mean", source=source), True),
    "final_loss": (lambda d, ids, source: small_loss(d, ids, reduce="final", source=source), True),
    "aum": (lambda d, ids, source: aum_score(d, ids), False),
    "datamap_confidence": (lambda d, ids, source: datamap_confidence(d, ids), False),
    "forgetting": (lambda d, ids, source: forgetting_score(d, ids), False),
    "disagreement": (lambda d, ids, source: prediction_disagreement(d, ids, source=source), True),
}
DETECTORS = ("rank_discrepancy", *SINGLE_RUN, "confident_learning")


@dataclass(frozen=True)
class NoisyRun:
    """One run directory's detector inputs.

    Attributes
    ----------
    run_dir : Path
    config : dict
        ``run.json``'s ``config``.
    dynamics : DataFrame
        The rows against the noisy labels (``target == "noisy"``).
    examples : DataFrame
        The scored examples, indexed by ``example_id`` in sorted order, with the columns of ``examples.parquet``.
    """

    run_dir: Path
    config: dict[str, Any]
    dynamics: pd.DataFrame
    examples: pd.DataFrame
    fingerprint: dict[str, str] | None = None  # run.json's digest of the composed data, where it has one

    @property
    def ids(self) -> np.ndarray:
        return self.examples.index.to_numpy()

    @property
    def name(self) -> str:
        return self.run_dir.name


def load_run(run_dir: str | os.PathLike[str], *, scope: str = "tracked") -> NoisyRun:
    """Read a run directory's detector inputs.

    ``scope="tracked"`` (the default) scores the tracked training examples, which probes and the training pass
    both record, so every detector applies; ``"train"`` scores every training example (then only the training
    pass covers them all, and ``source="auto"`` reads it).
    """
    if scope not in SCOPES:
        raise DataError(
            f"scope must be one of {', '.join(SCOPES)}, got {scope!r}", field="scope", fix="use one of them"
        )
    run_dir = Path(run_dir)
    config, fingerprint = _read_config(run_dir)
    try:
        dynamics = read_dynamics(run_dir)
        if not config.get("noise_rate") and "target" in dynamics:
            # Without noise the original labels are the labels trained on (a run records nothing else): detectors
            # read them as such, and every flag is a false alarm.
            dynamics = dynamics[dynamics["target"] == "original"].assign(target="noisy")
        dynamics = trained_rows(dynamics)
    except DataError as err:
        raise DataError(err.message, path=err.path or run_dir / DYNAMICS, field=err.field, fix=err.fix) from None
    path = run_dir / EXAMPLES
    if not path.is_file():
        raise DataError("no examples.parquet in the run directory", path=path, fix="point at a finished run directory")
    examples = read_parquet(path)
    missing = [c for c in EXAMPLE_COLUMNS if c not in examples]
    if missing:
        raise DataError(f"missing columns {missing}", path=path, field=missing[0], fix="re-record the run")
    keep = (examples["split"] == "train") & (examples["tracked"].astype(bool) if scope == "tracked" else True)
    examples = examples[keep].set_index("example_id").sort_index()
    if examples.empty:
        raise DataError(f"no {scope} training examples", path=path, field="split", fix="score a run that trained")
    recorded = dynamics[["example_id", "label"]].drop_duplicates().set_index("example_id")["label"]
    recorded = recorded[recorded.index.isin(examples.index)]
    wrong = recorded.index[recorded.to_numpy() != examples.loc[recorded.index, "label"].to_numpy()]
    if len(wrong):
        raise DataError(
            f"the noisy labels of {len(set(wrong))} example(s) differ from examples.parquet, e.g. {some(wrong)}",
            path=run_dir / DYNAMICS,
            field="label",
            fix="dynamics.parquet and examples.parquet must come from the same run",
        )
    return NoisyRun(run_dir, config, dynamics, examples, fingerprint)


def _read_config(run_dir: Path) -> tuple[dict[str, Any], dict[str, str] | None]:
    """run.json's configuration and data fingerprint."""
    run = read_run(run_dir)
    if run is None:
        raise DataError(
            "no run.json in the run directory", path=run_dir / RUN_JSON, fix="point at a loradyn run directory"
        )
    config = stored_config(run.get("config"), run_dir / RUN_JSON)
    fingerprint = run.get("fingerprint")
    return config, fingerprint if isinstance(fingerprint, dict) else None


def check_comparable(a: NoisyRun, b: NoisyRun) -> None:
    """Raise a `DataError` naming both runs unless they trained on the same composed data (their run.json
    fingerprints, where both have one) and score the same examples with the same noisy labels."""
    if a.fingerprint and b.fingerprint:
        differ = sorted(
            k for k in a.fingerprint.keys() | b.fingerprint.keys() if a.fingerprint.get(k) != b.fingerprint.get(k)
        )
        if differ:
            raise DataError(
                f"runs {a.run_dir} and {b.run_dir} trained on different data (their fingerprints differ in "
                f"{', '.join(differ)}), so their rank discrepancy compares nothing",
                field="fingerprint",
                fix="pair runs made from the same data files and data settings, differing only in rank",
            )
    if not np.array_equal(a.ids, b.ids):
        only_a, only_b = np.setdiff1d(a.ids, b.ids), np.setdiff1d(b.ids, a.ids)
        raise DataError(
            f"runs {a.run_dir} and {b.run_dir} cover different examples: {len(only_a)} only in the first "
            f"(e.g. {some(only_a)}), {len(only_b)} only in the second (e.g. {some(only_b)})",
            field="example_id",
            fix="compare runs that differ only in rank: the same dataset, n_bulk, tracked items and seed",
        )
    differ = a.ids[a.examples["label"].to_numpy() != b.examples["label"].to_numpy()]
    if len(differ):
        raise DataError(
            f"runs {a.run_dir} and {b.run_dir} trained on different noisy labels for {len(differ)} example(s), "
            f"e.g. {some(differ)}",
            field="label",
            fix="compare runs with the same noise_rate, noise_kind and noise_seed",
        )


def pair_runs(runs: Sequence[NoisyRun], *, ranks: tuple[int, int] | None = None) -> list[tuple[NoisyRun, NoisyRun]]:
    """RACT pairs ``(low, high)``: LoRA runs whose configurations agree on everything but the rank (and
    ``data_dir``), checked with `check_comparable`.

    Parameters
    ----------
    runs
        Runs to pair; a run without a partner is left out.
    ranks
        ``(low, high)``: pair exactly these ranks (e.g. ``(4, 16)``, the study's), for a rank sweep. By default a
        group of matching runs must hold exactly two ranks.
    """
    if ranks is not None and (len(ranks) != 2 or not 0 < ranks[0] < ranks[1]):
        raise DataError(
            f"ranks must be (low, high) with 0 < low < high, got {ranks}", field="ranks", fix="write the low rank first"
        )
    groups: dict[str, list[NoisyRun]] = defaultdict(list)
    for run in runs:
        if run.config.get("method", "lora") == "lora":
            rest = {k: v for k, v in run.config.items() if k not in PAIR_IGNORES}
            groups[json.dumps(rest, sort_keys=True, default=str)].append(run)
    pairs = []
    for group in groups.values():
        by_rank: dict[int, list[NoisyRun]] = defaultdict(list)
        for run in group:
            by_rank[run.config["rank"]].append(run)
        for rank, same in by_rank.items():
            if len(same) > 1:
                raise DataError(
                    f"runs {same[0].run_dir} and {same[1].run_dir} have equal ranks ({rank}) and the same "
                    "configuration otherwise, so neither is the low-rank run",
                    field="rank",
                    fix="pair a low-rank with a high-rank run (e.g. 4 and 16); leave out the duplicate",
                )
        if ranks is not None:
            chosen = [by_rank[r][0] for r in ranks if r in by_rank]
        elif len(by_rank) > 2:
            raise DataError(
                f"runs {', '.join(str(r.run_dir) for r in group)} differ only in rank ({sorted(by_rank)}), so the "
                "RACT pair is ambiguous",
                field="rank",
                fix="pass ranks=(low, high), e.g. (4, 16)",
            )
        else:
            chosen = sorted(group, key=lambda r: r.config["rank"])
        if len(chosen) == 2:
            check_comparable(*chosen)
            pairs.append((chosen[0], chosen[1]))
    return pairs


def _why_unpaired(runs: Sequence[NoisyRun]) -> str | None:
    """Which pairing rule two LoRA runs of different ranks break (the first such two), or None if there are none."""
    lora = [r for r in runs if r.config.get("method", "lora") == "lora"]
    for a, b in itertools.combinations(lora, 2):
        if a.config.get("rank") != b.config.get("rank"):
            differ = sorted(
                k
                for k in a.config.keys() | b.config.keys()
                if k not in PAIR_IGNORES and a.config.get(k) != b.config.get(k)
            )
            if not differ:  # a pair by the rule, left out by the ranks asked for
                continue
            return (
                f"{a.run_dir} (rank {a.config.get('rank')}) and {b.run_dir} (rank {b.config.get('rank')}) also differ "
                f"in {', '.join(differ)}"
            )
    return None


def detect(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    detectors: Sequence[str] | None = None,
    scope: str = "tracked",
    source: str = "auto",
    window: tuple[float, float] = DEFAULT_WINDOW,
    ranks: tuple[int, int] | None = None,
    trusted: pd.Series | int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-example scores and flags of every applicable detector, over run directories.

    Parameters
    ----------
    run_dirs
        Run directories trained on noisy labels (recorded with ``record_labels="both"``).
    detectors
        Names from `DETECTORS`; by default every one that applies: the single-run detectors on each run (those
        of the training pass where it was recorded), ``rank_discrepancy`` on each RACT pair (`pair_runs`), and
        ``confident_learning`` where ``oof_probs.parquet`` exists. A named detector that does not apply is an
        error.
    scope
        ``"tracked"`` or ``"train"`` examples (see `load_run`).
    source
        ``"auto"``, ``"probe"`` or ``"inline"`` for the detectors that can read either (small loss, final loss,
        disagreement, rank discrepancy).
    window
        Rank discrepancy's window (`loradyn.noisy.ract.DEFAULT_WINDOW`).
    ranks
        RACT's ``(low, high)`` ranks, for a rank sweep (see `pair_runs`); given, no such pair is an error.
    trusted
        A trusted subset, which adds ``flag_trusted``: ``is_noisy`` indexed by example id (e.g. items checked by
        hand, `read_trusted`), or a number ``n``: each run's own truth of ``n`` scored examples drawn with ``seed``
        (`trusted_sample`), a simulated hand check for runs with injected noise.
    seed
        Seeds the Gaussian mixture and the draw of a trusted sample.

    Returns
    -------
    DataFrame
        One row per detector x run (or RACT pair) x example: ``detector``, ``run`` (``low|high`` for a pair),
        ``rank`` and ``low_rank`` (RACT only), the condition (`CONDITION`), ``example_id``, ``score`` (larger =
        more likely noisy), ``flag_known_rate`` (the top ``round(noise_rate * N)``), ``flag_gmm``,
        ``flag_trusted`` (with ``trusted``), ``flag_own`` (a detector's own rule: disagreement, cleanlab's
        issues; NA otherwise), then the truth: ``is_noisy``, ``label``, ``original_label`` and, where
        annotations exist, ``entropy`` and ``category``.
    """
    if detectors is not None and not detectors:
        raise DataError("detectors is empty", field="detectors", fix="pass None for every applicable detector")
    unknown = sorted(set(detectors or ()) - set(DETECTORS))
    if unknown:
        raise DataError(
            f"detectors must be among {', '.join(DETECTORS)}, got {unknown}", field="detectors", fix="name known ones"
        )
    check_source(source)
    check_window(window)
    if not run_dirs:
        raise ValueError("no run directories given")
    wanted = list(detectors or DETECTORS)
    runs = [load_run(d, scope=scope) for d in run_dirs]
    pairs = pair_runs(runs, ranks=ranks) if "rank_discrepancy" in wanted else []
    why = _why_unpaired(runs) if "rank_discrepancy" in wanted and not pairs else None
    if ranks is not None and not pairs and not why:
        why = f"none of the runs has rank {ranks[0]} beside a run of rank {ranks[1]}"
    if why or ("rank_discrepancy" in wanted and not pairs and (detectors is not None or ranks is not None)):
        raise DataError(
            "no two runs differ only in rank" + (f": {why}" if why else ""),
            path=runs[0].run_dir,
            field="rank",
            fix="pass a low-rank and a high-rank run of the same configuration (e.g. ranks 4 and 16), or name the "
            "single-run detectors with --detectors",
        )
    blocks = []
    for run in runs:
        for name in (n for n in wanted if n in SINGLE_RUN):
            score_fn, reads_source = SINGLE_RUN[name]
            needed = source if reads_source else "inline"
            if not any(covers(run.dynamics, run.ids, s) for s in ("probe", "inline") if needed in (s, "auto")):
                if detectors is None:
                    continue
                raise DataError(
                    f"{name} needs {needed} rows for every scored example",
                    path=run.run_dir / DYNAMICS,
                    field="mode",
                    fix="record the training pass (record_inline=True), or choose another source or detector",
                )
            score = score_fn(run.dynamics, run.ids, source)
            own = score >= 1 if name == "disagreement" else None
            blocks.append(_block(name, [run], score, own=own, trusted=trusted, seed=seed))
        if "confident_learning" in wanted:
            probs = _oof_probs(run, required=detectors is not None)
            if probs is not None:
                result = confident_learning(probs, run.examples["label"].to_numpy())
                blocks.append(
                    _block("confident_learning", [run], result.scores, own=result.issues, trusted=trusted, seed=seed)
                )
    for low, high in pairs:
        score = rank_discrepancy(low.dynamics, high.dynamics, low.ids, window=window, source=source)
        blocks.append(_block("rank_discrepancy", [low, high], score, own=None, trusted=trusted, seed=seed))
    if not blocks:
        raise DataError("no detector applies to these runs", path=runs[0].run_dir, fix="check the runs' dynamics")
    return pd.concat(blocks, ignore_index=True)


def _oof_probs(run: NoisyRun, *, required: bool) -> np.ndarray | None:
    """The run's out-of-sample probabilities ``(N, K)`` in the order of its ids, or None where there are none."""
    path = run.run_dir / OOF_PROBS
    if not path.is_file():
        if required:
            raise DataError(
                "confident learning needs out-of-sample probabilities",
                path=path,
                fix="train held-out folds first: loradyn detect --kfold K (loradyn.experiments.kfold)",
            )
        return None
    table = read_parquet(path, fix="train held-out folds: loradyn detect --kfold K")
    for column in ("example_id", "probs"):
        if column not in table:
            raise DataError(f"missing column {column!r}", path=path, field=column, fix="write example_id and probs")
    table = table.drop_duplicates("example_id", keep="last").set_index("example_id")
    missing = np.setdiff1d(run.ids, table.index)
    if len(missing):
        raise DataError(
            f"{len(missing)} scored example(s) have no probabilities, e.g. {some(missing)}",
            path=path,
            field="example_id",
            fix="hold out every scored example in one fold",
        )
    return np.stack(table.loc[run.ids, "probs"].to_numpy()).astype(float)


def _block(
    detector: str,
    runs: list[NoisyRun],
    score: np.ndarray,
    *,
    own: np.ndarray | None,
    trusted: pd.Series | int | None,
    seed: int,
) -> pd.DataFrame:
    """One detector's rows over one run (or RACT pair): condition, score, flags and truth."""
    run, n = runs[-1], len(score)
    rank = run.config.get("rank") if run.config.get("method", "lora") == "lora" else None
    frame = pd.DataFrame(
        {
            "detector": detector,
            "run": "|".join(r.name for r in runs),
            "rank": pd.array([rank] * n, dtype="Int64"),
            "low_rank": pd.array([runs[0].config["rank"] if len(runs) > 1 else None] * n, dtype="Int64"),
            **{c: run.config[c] for c in CONDITION if c in run.config},
            "example_id": run.ids,
            "score": score,
            "flag_known_rate": flag_top_rate(score, rate=run.config["noise_rate"]),
            "flag_gmm": flag_gmm(score, seed=seed),
        }
    )
    if trusted is not None:
        subset = trusted_sample(run, trusted, seed=seed) if isinstance(trusted, int) else trusted
        try:
            frame["flag_trusted"] = flag_trusted(score, run.ids, subset)
        except DataError as err:
            raise DataError(err.message, path=run.run_dir, field=err.field, fix=err.fix) from None
    frame["flag_own"] = pd.array([None] * n if own is None else own, dtype="boolean")
    truth = [c for c in ("is_noisy", "label", "original_label", *ANNOTATIONS) if c in run.examples]
    return frame.join(run.examples[truth], on="example_id")


def trusted_sample(run: NoisyRun, n: int, *, seed: int = 0) -> pd.Series:
    """The truth (``is_noisy``, indexed by example id) of ``n`` of ``run``'s scored examples drawn at random with
    ``seed``: what a hand check of ``n`` items would find. The same ids and seed draw the same items in every
    run."""
    if isinstance(n, bool) or n < 1 or n > len(run.ids):
        raise DataError(
            f"a trusted sample of {n} from {len(run.ids)} scored examples",
            path=run.run_dir,
            field="trusted",
            fix=f"draw between 1 and {len(run.ids)} items",
        )
    chosen = np.sort(np.random.default_rng(seed).choice(len(run.ids), size=n, replace=False))
    return run.examples["is_noisy"].iloc[chosen].astype(bool)


def read_trusted(path: str | os.PathLike[str]) -> pd.Series:
    """A trusted subset from a file of ``example_id`` and ``is_noisy`` (true/false, 1/0): ``.csv``, ``.tsv``,
    ``.jsonl`` or ``.parquet``. Returns ``is_noisy`` (bool) indexed by example id."""
    path = Path(path)
    readers = {  # text is read by read_text, which names the line of a byte that is not UTF-8
        ".csv": lambda p: pd.read_csv(io.StringIO(read_text(p))),
        ".tsv": lambda p: pd.read_csv(io.StringIO(read_text(p)), sep="\t"),
        ".jsonl": lambda p: pd.read_json(io.StringIO(read_text(p)), lines=True),
        ".parquet": pd.read_parquet,
    }
    if path.suffix not in readers:
        raise DataError(f"unknown file type {path.suffix!r}", path=path, fix=f"use one of {', '.join(readers)}")
    if not path.is_file():
        raise DataError("file not found", path=path, fix="check the path")
    try:
        table = readers[path.suffix](path)
    except DataError:
        raise
    except ValueError as err:
        raise DataError(f"unreadable ({err})", path=path, fix="write one row per item: example_id, is_noisy") from None
    for column in ("example_id", "is_noisy"):
        if column not in table:
            raise DataError(f"missing column {column!r}", path=path, field=column, fix="write example_id, is_noisy")
    truth = table["is_noisy"].map(_truth_value)
    if truth.isna().any():
        line = int(truth.isna().to_numpy().argmax()) + (2 if path.suffix in (".csv", ".tsv") else 1)
        raise DataError(
            f"is_noisy must be true or false, got {table['is_noisy'][truth.isna()].iloc[0]!r}",
            path=path,
            line=line if path.suffix != ".parquet" else None,
            field="is_noisy",
            fix="write true/false (or 1/0)",
        )
    ids = table["example_id"].astype(str)
    if ids.duplicated().any():
        raise DataError(
            f"example id {ids[ids.duplicated()].iloc[0]!r} repeats", path=path, field="example_id", fix="list each once"
        )
    return pd.Series(truth.astype(bool).to_numpy(), index=ids.to_numpy(), name="is_noisy")


def _truth_value(value: Any) -> bool | None:
    text = str(value).strip().lower()
    return {"true": True, "1": True, "false": False, "0": False}.get(text)


def write_detections(detections: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a detections table (see `detect`) to Parquet, atomically; return the path."""
    return write_atomic(path, lambda tmp: detections.to_parquet(tmp, index=False))


def detect_runs(
    run_dirs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    kfold: int | None = None,
    executor: str | None = None,
    jobs: int | None = None,
    slurm: dict[str, Any] | None = None,
    show_progress: bool = False,
    log: Callable[[str], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """`detect` over ``run_dirs`` and `write_results` into ``out``: ``loradyn detect``.

    Every input is checked before anything is written: the runs and the options of `detect` (by running every
    detector that needs no training), and with ``kfold`` the fold plan of each run (`check_kfold`). Then, with
    ``kfold``, the K held-out-fold runs of every run are trained as one round (into ``<run_dir>/kfold-<K>/``; here
    one after another with ``executor=None``, else through that sweep executor, ``jobs`` at a time, its logs in
    ``out/.logs``) and each run's ``oof_probs.parquet`` is written, so that confident learning applies; then the
    detections and their evaluation are written. ``options`` are `detect`'s.
    """
    check_writable(result_files(out))
    if kfold is not None:
        for run_dir in run_dirs:
            check_kfold(run_dir, kfold)
        named = options.get("detectors")
        others = None if named is None else [d for d in named if d != "confident_learning"]
        if others is None or others:
            detect(run_dirs, **{**options, "detectors": others})
        steps = Steps(
            Path(out),
            log or to_stderr,
            what="detect",
            executor=executor,
            jobs=jobs,
            slurm=slurm,
            show_progress=show_progress,
            names_from=Path(os.path.commonpath([Path(r).resolve().parent for r in run_dirs])),
        )
        folds = {run_dir: plan_folds(steps, Path(run_dir).resolve(), kfold) for run_dir in run_dirs}
        steps.train()
        for run_dir, folders in folds.items():
            write_oof(run_dir, folders)
    return write_results(detect(run_dirs, **options), out)


def result_files(out: str | os.PathLike[str]) -> list[Path]:
    """The files `write_results` writes into ``out``."""
    out = Path(out)
    return [out / DETECTIONS, *(out / name for name in EVALUATION.values()), out / EVALUATION_JSON]


def write_results(detections: pd.DataFrame, out: str | os.PathLike[str]) -> dict[str, Any]:
    """Write a detections table and its evaluation (`loradyn.noisy.evaluation.evaluation_tables`) into ``out``,
    each file atomically: ``detections.parquet``, the `EVALUATION` Parquet files, and ``evaluation.json`` (the same
    tables as lists of records). Returns the JSON's contents, with ``written`` (the paths)."""
    out = Path(out)
    check_writable(result_files(out))
    tables = evaluation_tables(detections)
    writers = {out / DETECTIONS: lambda tmp: detections.to_parquet(tmp, index=False)}
    for name, table in tables.items():
        writers[out / EVALUATION[name]] = lambda tmp, t=table: t.to_parquet(tmp, index=False)
    payload: dict[str, Any] = {name: records(table) for name, table in tables.items()}
    payload["written"] = [str(p) for p in [*writers, out / EVALUATION_JSON]]
    write_files({**writers, out / EVALUATION_JSON: json_writer(payload)})  # all or nothing
    for name in EVALUATION.keys() - tables.keys():  # e.g. no categories now: an earlier file would mislead
        (out / EVALUATION[name]).unlink(missing_ok=True)
    return payload


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready records: missing values (NaN, NA, None) as None."""
    return json.loads(dumps(frame.astype(object).where(frame.notna(), None).to_dict("records")))
