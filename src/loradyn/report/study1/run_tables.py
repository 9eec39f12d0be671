"""What each run reached (validation accuracy, time), and the family's multiple-testing summary."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from loradyn.report.study1.runs import Condition
from loradyn.report.table import DASH, Table, num

ALPHA = 0.05


def accuracy_table(conditions: list[Condition]) -> Table:
    """Validation accuracy per run: after each epoch and the last; training time."""
    rows, data = [], []
    for c in conditions:
        for r in c.runs:
            per_epoch = r.run.get("val_accuracy_per_epoch") or []
            train_s = (r.run.get("timings") or {}).get("train")
            rows.append(
                [
                    r.name,
                    c.label,
                    str(r.seed),
                    num(r.val_accuracy),
                    ", ".join(num(a) for a in per_epoch) or DASH,
                    DASH if train_s is None else f"{train_s:,.0f}",
                ]
            )
            data.append(
                {
                    "run": r.name,
                    "condition": c.label,
                    "seed": r.seed,
                    "val_accuracy": r.val_accuracy,
                    "val_accuracy_per_epoch": per_epoch,
                    "train_seconds": train_s,
                }
            )
    return Table(
        "accuracy",
        "Validation accuracy per run",
        ["run", "condition", "seed", "final", "per epoch", "training (s)"],
        rows,
        [
            "Accuracy of the argmax prediction against the majority label of the held-out items (`run.json`). "
            "Chance is 1/3 for NLI (1/2 for alphaNLI). The paper states no accuracy in its abstract (its code logs "
            "each run's final validation accuracy, not published with it); its encoders (125M–184M parameters) and "
            "decoders (1.5B–3B) reach far higher than the small models a CPU trains here."
        ],
        pd.DataFrame(data),
        align=["l", "l", "r", "r", "r", "r"],
    )


def test_kind(name: str) -> str:
    """A test's kind: its name without the group it was run in (``within label 2`` -> ``within label``)."""
    return re.sub(r" \d+$", "", name)


def multiple_testing_table(family: dict[str, Any]) -> Table:
    """How many of the family's tests are significant at 0.05: raw, after Holm, after Benjamini-Hochberg; by kind
    of test and in all."""
    tests = pd.DataFrame(family["tests"], columns=["run", "test", "pvalue", "pvalue_holm", "pvalue_bh"])
    tests = tests[tests["pvalue"].notna()].assign(kind=lambda t: t["test"].map(test_kind))
    significant = tests.assign(
        raw=tests["pvalue"] < ALPHA, holm=tests["pvalue_holm"] < ALPHA, bh=tests["pvalue_bh"] < ALPHA
    )
    counts = significant.groupby("kind", sort=False)[["raw", "holm", "bh"]].agg(["sum", "count"])
    rows, data = [], []
    for kind in counts.index:
        n = int(counts.loc[kind, ("raw", "count")])
        hits = [int(counts.loc[kind, (m, "sum")]) for m in ("raw", "holm", "bh")]
        rows.append([kind, f"{n:,}", *(f"{h:,}" for h in hits)])
        data.append({"test": kind, "n": n, "raw": hits[0], "holm": hits[1], "bh": hits[2]})
    totals = [int(significant[m].sum()) for m in ("raw", "holm", "bh")]
    rows.append(["**all tests**", f"{len(tests):,}", *(f"**{t:,}**" for t in totals)])
    data.append({"test": "all", "n": len(tests), "raw": totals[0], "holm": totals[1], "bh": totals[2]})
    return Table(
        "multiple_testing",
        f"Multiple testing over the family: tests significant at {ALPHA}",
        ["test", "tests", "p < 0.05", "Holm-adjusted p < 0.05", "Benjamini–Hochberg-adjusted p < 0.05"],
        rows,
        [
            f"Every test of every run analysed together is one family ({family['n_tests']:,} tests with a defined "
            "p-value, `analysis.json`); Holm controls the family-wise error, Benjamini–Hochberg the false discovery "
            "rate."
        ],
        pd.DataFrame(data),
    )
