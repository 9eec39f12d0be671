"""The controls of the first study's correlation, per condition: rho within labels and one length at a time (its
Table 1 scripts) with loradyn's strict joint control; the author's own partial correlation on the threshold learning
time (his script 05); and the hierarchical regressions of AULC on the data map, then entropy (his script 10 on the
probe map, loradyn's on the training-pass map)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loradyn.report.study1.correlation_tables import with_entropy
from loradyn.report.study1.runs import Condition
from loradyn.report.table import DASH, Table, num

LABEL_NAMES = {"0": "entailment", "1": "neutral", "2": "contradiction"}  # ChaosNLI's class order
LENGTH_NAMES = {"premise_words": "premise", "hypothesis_words": "hypothesis", "total_words": "total"}
#: The author's covariates (script 05), one at a time, and their column names.
AUTHORS_COVARIATES = {
    **{k: f"{v} words" for k, v in LENGTH_NAMES.items()},
    "majority_confidence": "majority confidence",
    "label_skewness": "label skewness",
}


def controls_table(conditions: list[Condition]) -> Table | None:
    """Per condition, mean over seeds: rho within each gold label and the partial rho controlling one length at a time
    (the study's controls), and the strict joint control (loradyn's)."""
    entries = with_entropy(conditions)
    if not entries:
        return None
    labels = sorted({g for c in entries for r in c.runs for g in r.stats["controls"].get("within_label", {})})
    lengths = [
        k
        for k in LENGTH_NAMES
        if any(k in r.stats["controls"].get("partial_one_length", {}) for c in entries for r in c.runs)
    ]
    rows, data = [], []
    for c in entries:
        controls = [r.stats["controls"] for r in c.runs]
        record = {"condition": c.label, "rho": c.summary["spearman"]["aulc"]["mean"]}
        for g in labels:
            record[f"within_label_{g}"] = _mean([x.get("within_label", {}).get(g, {}).get("rho") for x in controls])
        for k in lengths:
            record[f"partial_{k}"] = _mean(
                [x.get("partial_one_length", {}).get(k, {}).get("estimate") for x in controls]
            )
        record["partial_strict"] = _mean([x.get("partial_strict", {}).get("estimate") for x in controls])
        record["strict_variance_left"] = _mean([x.get("partial_strict", {}).get("variance_left") for x in controls])
        data.append(record)
        cells = [c.label, num(record["rho"])]
        cells += [num(record[f"within_label_{g}"]) for g in labels]
        cells += [num(record[f"partial_{k}"]) for k in lengths]
        left = record["strict_variance_left"]
        cells += [num(record["partial_strict"]), DASH if np.isnan(left) else f"{left:.0%}"]
        rows.append(cells)
    return Table(
        "controls",
        "Controls: ρ(AULC, entropy) within labels and partial ρ (mean over seeds)",
        [
            "condition",
            "ρ",
            *(f"within {LABEL_NAMES.get(g, 'label ' + g)}" for g in labels),
            *(f"partial ρ | {LENGTH_NAMES[k]} words" for k in lengths),
            "strict joint partial ρ (loradyn's)",
            "entropy rank variance left",
        ],
        rows,
        [
            "Within labels: ρ inside each gold (majority) label of 10 items or more; partial ρ: one length at a time "
            "(the study's controls).",
            "The strict joint control is loradyn's, not the study's: lengths, gold label and majority confidence "
            "together; majority confidence nearly determines entropy, so little of entropy's rank variance is left.",
        ],
        pd.DataFrame(data),
    )


def authors_partial_table(conditions: list[Condition]) -> Table | None:
    """The author's partial correlation (his script 05) per condition, on its first seed as he ran it: Spearman of
    the threshold learning time against entropy, then controlling for each covariate alone."""
    entries = [c for c in with_entropy(conditions) if "spearman" in c.runs[0].stats.get("authors_partial", {})]
    if not entries:
        return None
    covariates = [
        k for k in AUTHORS_COVARIATES if any(k in c.runs[0].stats["authors_partial"]["partial"] for c in entries)
    ]
    rows, data = [], []
    for c in entries:
        result = c.runs[0].stats["authors_partial"]
        partial = {k: result["partial"].get(k, {}).get("estimate") for k in covariates}
        record = {
            "condition": c.label,
            "seed": c.runs[0].seed,
            "n_learned": result["n"],
            "n_never": result["n_never"],
            "rho": result["spearman"]["estimate"],
            **{f"partial_{k}": np.nan if v is None else v for k, v in partial.items()},
        }
        data.append(record)
        rows.append(
            [
                c.label,
                str(c.runs[0].seed),
                f"{result['n']:,} of {result['n'] + result['n_never']:,}",
                num(record["rho"]),
            ]
            + [num(partial[k]) for k in covariates]
        )
    return Table(
        "authors_partial",
        "The author's partial correlation: threshold learning time against entropy, one covariate at a time",
        [
            "condition",
            "seed",
            "items learned",
            "ρ(time, H)",
            *(f"partial ρ | {AUTHORS_COVARIATES[k]}" for k in covariates),
        ],
        rows,
        [
            "As the author's script 05 computes it, on one seed per condition (his: seed 42): the threshold learning "
            "time is the step of the first probe whose loss is below 0.693 (the first crossing); items never below it "
            "are left out; each partial ρ controls for one covariate (first-order partial Spearman). Label skewness is "
            "scipy's (biased) skewness of the item's vote counts. loradyn's controls above are on AULC instead.",
        ],
        pd.DataFrame(data),
    )


def regression_table(conditions: list[Condition]) -> Table | None:
    """Hierarchical regression of AULC on the data map, then entropy, per condition (mean over seeds): the author's
    on the probe map (step 0 included), loradyn's on the training-pass map."""
    entries = with_entropy(conditions)
    rows, data = [], []
    for c in entries:
        record: dict[str, object] = {"condition": c.label}
        cells = [c.label]
        for key, name in (
            ("hierarchical_regression_aulc_probe_map", "probe"),
            ("hierarchical_regression_aulc", "training"),
        ):
            fits = [r.stats.get(key, {}) for r in c.runs]
            fits = [f for f in fits if "r2_base" in f]
            r2 = _mean([f["r2_base"] for f in fits])
            delta = _mean([f["delta_r2"] for f in fits])
            significant = sum(f["pvalue"] < 0.05 for f in fits)
            record |= {f"{name}_r2_map": r2, f"{name}_delta_r2": delta, f"{name}_significant": significant}
            cells += [num(r2), num(delta, 4), f"{significant} of {len(fits)}"] if fits else [DASH, DASH, "not fitted"]
        rows.append(cells)
        data.append(record)
    if not any(r[1] != DASH or r[4] != DASH for r in rows):
        return None
    return Table(
        "regression",
        "Hierarchical regression: AULC on the data map, then entropy (mean over seeds)",
        [
            "condition",
            "the author's (probe map): R² map",
            "ΔR² + entropy",
            "runs F p < 0.05",
            "loradyn's (training-pass map): R² map",
            "ΔR² + entropy",
            "runs F p < 0.05",
        ],
        rows,
        [
            "The author's (script 10 --cartography): confidence (mean p(gold) = exp(−loss)) and variability (SD, "
            "ddof 0) over the probes, step 0 included, the very losses AULC averages, so the map alone explains "
            "nearly all of AULC: the regression is close to circular. loradyn's map comes from the training pass "
            "(per epoch), a measurement AULC is not made of. F test of the nested OLS models.",
        ],
        pd.DataFrame(data),
    )


def _mean(values: list[float | None]) -> float:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else np.nan
