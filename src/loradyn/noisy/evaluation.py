"""Detectors against the ground-truth noise mask: precision, recall and F1 of flags, AUROC and average precision
of scores; many detectors at once, their mean and SD over seeds, and their behaviour per annotation-entropy
category (is a flagged example wrong, or only contested?)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from loradyn.data.annotations import CATEGORIES
from loradyn.errors import DataError
from loradyn.stats.seeds import aggregate_seeds

#: Columns of a detections table (see `loradyn.experiments.detect.detect`) that vary per example; every other column
#: except the ``flag_*`` ones names the condition a row belongs to.
PER_EXAMPLE = ("example_id", "score", "is_noisy", "label", "original_label", "entropy", "category")
FLAG_PREFIX = "flag_"
COUNTS = ("n", "n_noisy", "n_flagged")
METRICS = ("precision", "recall", "f1", "auroc", "average_precision")
#: What differs between the seeds of one condition: aggregated over by `aggregate_over_seeds`.
SEED_COLUMNS = ("run", "seed", "noise_seed")


def detection_metrics(flags: np.ndarray, is_noisy: np.ndarray, *, zero_division: float = 0.0) -> dict[str, float]:
    """Precision, recall and F1 of ``flags`` against the truth ``is_noisy``, both ``(N,)`` bool; a ratio with a
    zero denominator is ``zero_division`` (0, scikit-learn's value; NaN says "nothing to measure")."""
    flags, is_noisy = np.asarray(flags, dtype=bool), np.asarray(is_noisy, dtype=bool)
    if flags.shape != is_noisy.shape:
        raise ValueError(f"flags and is_noisy must have one shape, got {flags.shape} and {is_noisy.shape}")
    tp = float(np.sum(flags & is_noisy))
    fp = float(np.sum(flags & ~is_noisy))
    fn = float(np.sum(~flags & is_noisy))
    return {
        "precision": tp / (tp + fp) if tp + fp else zero_division,
        "recall": tp / (tp + fn) if tp + fn else zero_division,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else zero_division,
    }


def auroc(scores: np.ndarray, is_noisy: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` ``(N,)`` for the truth ``is_noisy`` ``(N,)`` (scikit-learn's)."""
    return float(roc_auc_score(*_truth_and_scores(is_noisy, scores)))


def average_precision(scores: np.ndarray, is_noisy: np.ndarray) -> float:
    """Average precision of ``scores`` ``(N,)`` for the truth ``is_noisy`` ``(N,)`` (scikit-learn's)."""
    return float(average_precision_score(*_truth_and_scores(is_noisy, scores)))


def _truth_and_scores(is_noisy: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    is_noisy = np.asarray(is_noisy, dtype=bool)
    if is_noisy.all() or not is_noisy.any():
        raise ValueError(f"ranking metrics need noisy and clean items; all {len(is_noisy)} are {bool(is_noisy[0])}")
    return is_noisy, np.asarray(scores, dtype=float)


def condition_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of a detections table that name a condition: all but `PER_EXAMPLE` and the flags."""
    return [c for c in frame.columns if c not in PER_EXAMPLE and not c.startswith(FLAG_PREFIX)]


def evaluate(detections: pd.DataFrame, *, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """Every detector of a detections table against its truth.

    Parameters
    ----------
    detections
        One row per condition x example, with ``score``, ``is_noisy`` and ``flag_<threshold>`` columns (bool;
        NA for a detector without that rule), as `loradyn.experiments.detect.detect` writes.
    keys
        Columns that tell conditions apart (``detector``, ``run``, ...); by default every column that is not
        per-example (`condition_columns`).

    Returns
    -------
    DataFrame
        One row per condition x threshold: the keys, ``threshold``, ``n``, ``n_noisy``, ``n_flagged``,
        ``precision``, ``recall``, ``f1`` (of the flags), ``auroc`` and ``average_precision`` (of the scores, so
        the same for every threshold of a condition). A condition without noisy items (a run trained without
        noise) has nothing to find: recall, AUROC and AP are NaN, and precision and F1 are 0 where anything was
        flagged (every flag a false alarm), NaN where nothing was.
    """
    keys = list(keys or condition_columns(detections))
    flag_columns = [c for c in detections.columns if c.startswith(FLAG_PREFIX)]
    rows = []
    for values, group in detections.groupby(keys, dropna=False, sort=True):
        is_noisy = group["is_noisy"].to_numpy(dtype=bool)
        scores = group["score"].to_numpy(dtype=float)
        both = is_noisy.any() and not is_noisy.all()
        ranking = {
            "auroc": auroc(scores, is_noisy) if both else np.nan,
            "average_precision": average_precision(scores, is_noisy) if both else np.nan,
        }
        for column in flag_columns:
            flags = group[column]
            if flags.isna().all():
                continue
            if flags.isna().any():
                raise ValueError(f"{column} is missing for some examples of {dict(zip(keys, values, strict=True))}")
            flags = flags.to_numpy(dtype=bool)
            rows.append(
                {
                    **dict(zip(keys, values, strict=True)),
                    "threshold": column.removeprefix(FLAG_PREFIX),
                    "n": len(group),
                    "n_noisy": int(is_noisy.sum()),
                    "n_flagged": int(flags.sum()),
                    **detection_metrics(flags, is_noisy, zero_division=0.0 if is_noisy.any() else np.nan),
                    **ranking,
                }
            )
    return pd.DataFrame(rows)


def aggregate_over_seeds(evaluation: pd.DataFrame, *, over: Sequence[str] = SEED_COLUMNS) -> pd.DataFrame:
    """Mean and SD (ddof=1; NaN for one seed) of each metric of `evaluate` across the seeds of each condition.

    Parameters
    ----------
    evaluation
        The output of `evaluate`.
    over
        Columns that differ between seeds of one condition (`SEED_COLUMNS`: the run, its seed and its noise
        seed); the rest (detector, noise rate, rank, threshold, ...) name the condition.

    Returns
    -------
    DataFrame
        One row per condition: its columns, ``n_seeds``, and ``<metric>_mean`` and ``<metric>_sd`` for
        precision, recall, f1, auroc and average_precision.
    """
    keys = [c for c in evaluation.columns if c not in (*over, *COUNTS, *METRICS)]
    rows = []
    for values, group in evaluation.groupby(keys, dropna=False, sort=True):
        condition = dict(zip(keys, values, strict=True))
        if "seed" in group and group["seed"].duplicated().any():
            seed = group.loc[group["seed"].duplicated(), "seed"].iloc[0]
            raise DataError(
                f"two runs of seed {seed} fall in one condition ({', '.join(f'{k} {v}' for k, v in condition.items())})"
                ": they differ in a setting the evaluation does not separate (a learning rate, say)",
                field="runs",
                fix="evaluate together runs that differ only in seed and rank; give the others their own command",
            )
        row = {**condition, "n_seeds": len(group)}
        for metric in METRICS:
            summary = aggregate_seeds(group[metric].to_numpy(dtype=float))
            row[f"{metric}_mean"], row[f"{metric}_sd"] = summary["mean"], summary["sd"]
        rows.append(row)
    return pd.DataFrame(rows)


def evaluate_by_category(
    detections: pd.DataFrame, *, threshold: str = "known_rate", keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """Flags per annotation-entropy category (clean / ambiguous / contested), where annotations exist.

    A detector that flags contested items whose label is right finds disagreement, not noise: within each
    category this reports how many items there are (``n``), how many are noisy (``n_noisy``), the share flagged
    (``share_flagged``), and precision and recall of the flags among the category's items (NaN where nothing
    is flagged, or nothing is noisy: there is nothing to measure).

    Parameters
    ----------
    detections
        As for `evaluate`, with a ``category`` column; rows without a category (items without annotations) are
        left out.
    threshold
        Which flags: the ``<threshold>`` of a ``flag_<threshold>`` column.
    keys
        As for `evaluate`.
    """
    column = f"{FLAG_PREFIX}{threshold}"
    if column not in detections:
        available = [c.removeprefix(FLAG_PREFIX) for c in detections.columns if c.startswith(FLAG_PREFIX)]
        raise ValueError(f"threshold must be one of {', '.join(available)}, got {threshold!r}")
    if "category" not in detections or detections["category"].isna().all():
        raise DataError(
            "no example has an annotation-entropy category",
            field="category",
            fix="score runs on annotated data (ChaosNLI items have entropy and category in examples.parquet)",
        )
    keys = list(keys or condition_columns(detections))
    annotated = detections[detections["category"].notna() & detections[column].notna()]
    rows = []
    for values, group in annotated.groupby([*keys, "category"], dropna=False, sort=True):
        flags = group[column].to_numpy(dtype=bool)
        is_noisy = group["is_noisy"].to_numpy(dtype=bool)
        metrics = detection_metrics(flags, is_noisy, zero_division=np.nan)
        rows.append(
            {
                **dict(zip([*keys, "category"], values, strict=True)),
                "n": len(group),
                "n_noisy": int(is_noisy.sum()),
                "share_flagged": float(flags.mean()),
                "precision": metrics["precision"],
                "recall": metrics["recall"],
            }
        )
    table = pd.DataFrame(rows)
    order = {name: i for i, name in enumerate(CATEGORIES)}
    table = table.sort_values([*keys, "category"], key=lambda s: s.map(order) if s.name == "category" else s)
    return table.reset_index(drop=True)


def evaluation_tables(detections: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A detections table's whole evaluation: ``runs`` (`evaluate`: per detector x run x threshold),
    ``conditions`` (`aggregate_over_seeds`: mean and SD over seeds) and, where any example has an annotation-entropy
    category, ``categories`` (`evaluate_by_category` at the known noise rate)."""
    per_run = evaluate(detections)
    tables = {"runs": per_run, "conditions": aggregate_over_seeds(per_run)}
    if "category" in detections and detections["category"].notna().any():
        tables["categories"] = evaluate_by_category(detections)
    return tables
