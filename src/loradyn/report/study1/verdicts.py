"""The first study's findings beside this sweep's numbers, each with a verdict computed from them: "holds",
"does NOT hold", or "not tested here" when the sweep lacks the runs."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from loradyn.report.paper import STUDY1
from loradyn.report.study1.correlation_tables import with_entropy
from loradyn.report.study1.runs import Condition
from loradyn.report.study1.unlearning_tables import LEARNED_CLEAN_DELTA
from loradyn.report.table import Table, interval, num

HOLDS, FAILS, UNTESTED = "holds", "does NOT hold", "not tested here"


def verdict(holds: bool | None) -> str:
    return UNTESTED if holds is None else HOLDS if holds else FAILS


def _row(finding: str, paper: str, here: str, holds: bool | None) -> dict[str, str]:
    return {"finding": finding, "paper": paper, "here": here, "verdict": verdict(holds)}


def _data(tables: dict[str, Table], key: str) -> pd.DataFrame:
    table = tables.get(key)
    return table.data if table is not None and table.data is not None else pd.DataFrame()


def findings(conditions: list[Condition], tables: dict[str, Table], family: dict[str, Any]) -> Table:
    """The verdict table."""
    claims = STUDY1["claims"]
    low, high = STUDY1["rho_range"]
    t1 = _data(tables, "table1")
    rows = []
    if t1.empty:
        rows.append(_row("ρ(AULC, entropy) > 0 in every condition", claims["positive"], "no run has entropy", None))
    else:
        rho = t1["rho_mean"]
        spread = f"ρ from {num(rho.min())} to {num(rho.max())}"
        rows += [
            _row(
                "ρ(AULC, entropy) > 0 in every condition (mean over seeds)",
                claims["positive"],
                f"{int((rho > 0).sum())} of {len(t1)} conditions; {spread}",
                bool((rho > 0).all()),
            ),
            _row(
                "… with a 95% CI above 0 (loradyn's CI)",
                "",
                f"{int((t1['ci_loradyn_low'] > 0).sum())} of {len(t1)} conditions",
                bool((t1["ci_loradyn_low"] > 0).all()),
            ),
            _row(
                f"ρ inside the paper's range {low}–{high}",
                f"{low}–{high} over 25 conditions",
                f"{int(rho.between(low, high).sum())} of {len(t1)} conditions",
                bool(rho.between(low, high).all()),
            ),
        ]
        rows.append(_reference(t1))
    rows.append(_decoders(with_entropy(conditions), claims["decoders"]))
    rows += _unlearning(_data(tables, "unlearning"), claims)
    rows += _controls(_data(tables, "controls"), claims["controls"])
    rows.append(_authors_partial(_data(tables, "authors_partial"), claims["controls"]))
    rows.append(_seeds(with_entropy(conditions), claims["seeds"]))
    rows.append(_datasets(with_entropy(conditions), claims["datasets"]))
    rows.append(_noise(_data(tables, "noise_tests"), claims["noise"]))
    rows.append(_rank(_data(tables, "rank_monotonicity")))
    rows += _ablations(with_entropy(conditions))
    rows.append(_family(family))
    frame = pd.DataFrame(rows)
    return Table(
        "findings",
        "The first study's findings, tested on this sweep",
        ["finding", "paper", "here", "verdict"],
        frame[["finding", "paper", "here", "verdict"]].values.tolist(),
        [f"Paper: {STUDY1['source']}. Verdicts are computed from the tables below."],
        frame,
        align=["p{0.3\\linewidth}", "p{0.25\\linewidth}", "p{0.3\\linewidth}", "l"],
    )


def _reference(t1: pd.DataFrame) -> dict[str, str]:
    value = STUDY1["roberta_lora_r4_snli"]
    finding = f"roberta-base LoRA r4 SNLI: ρ ≈ {value} (inside our 95% CI, loradyn's)"
    mean, sd = STUDY1["roberta_lora_r4_snli_seeds"]
    paper = f"≈ {value} ({mean} ± {sd} over 3 seeds)"
    ref = t1[t1["reference"]]
    if ref.empty:
        return _row(finding, paper, "the sweep has no such condition", None)
    r = ref.iloc[0]
    inside = bool(r["ci_loradyn_low"] <= value <= r["ci_loradyn_high"])
    return _row(finding, paper, f"{num(r['rho_mean'])} {interval(r['ci_loradyn_low'], r['ci_loradyn_high'])}", inside)


def _decoders(conditions: list[Condition], claim: str) -> dict[str, str]:
    finding = "decoders correlate more than encoders at matched LoRA rank"
    matched: dict[tuple, dict[bool, list[float]]] = defaultdict(lambda: defaultdict(list))
    for c in conditions:
        if c.method == "lora" and c.decoder is not None and not c.config.get("noise_rate"):
            matched[(c.dataset, c.rank, c.extra)][c.decoder].append(c.summary["spearman"]["aulc"]["mean"])
    pairs = {k: v for k, v in matched.items() if v[True] and v[False]}
    if not pairs:
        unknown = any(c.decoder is None for c in conditions)
        why = "no decoder and encoder at one rank" + (" (or model kind not recorded in run.json)" if unknown else "")
        return _row(finding, claim, why, None)
    here = "; ".join(
        f"{ds} r{rank}: decoders {num(np.mean(v[True]))} vs encoders {num(np.mean(v[False]))}"
        for (ds, rank, _), v in pairs.items()
    )
    return _row(finding, claim, here, all(np.mean(v[True]) > np.mean(v[False]) for v in pairs.values()))


def _unlearning(data: pd.DataFrame, claims: dict[str, str]) -> list[dict[str, str]]:
    """Un-learning verdicts, judged on the conditions that learned (`LEARNED_CLEAN_DELTA`): a model that stayed near
    its starting point neither un-learns nor shows that it does not."""
    learned = data[data["clean"] <= LEARNED_CLEAN_DELTA] if not data.empty else data
    rows = []
    for finding, method, claim, holds in (
        ("contested items un-learn under LoRA (mean Δloss > 0)", "lora", "unlearning_lora", lambda d: d > 0),
        ("… and not under full fine-tuning (mean Δloss ≤ 0)", "full", "unlearning_full", lambda d: d <= 0),
        ("… and not under IA3 (mean Δloss ≤ 0)", "ia3", "unlearning_ia3", lambda d: d <= 0),
    ):
        name = {"lora": "LoRA", "full": "full-FT", "ia3": "IA3"}[method]
        every = data[data["method"] == method] if not data.empty else data
        judged = learned[learned["method"] == method] if not learned.empty else learned
        if every.empty:
            rows.append(_row(finding, claims[claim], f"no {name} condition", None))
            continue
        unlearned = (
            f"{len(every) - len(judged)} of {len(every)} did not learn (clean Δ > {num(LEARNED_CLEAN_DELTA, 1)})"
        )
        if judged.empty:
            rows.append(_row(finding, claims[claim], f"not judged: {unlearned}", None))
            continue
        ok = holds(judged["contested"])
        here = (
            f"{int(ok.sum())} of {len(judged)} {name} conditions that learned; contested Δ from "
            f"{num(judged['contested'].min())} to {num(judged['contested'].max())}"
            + (f"; {unlearned}, not judged" if len(judged) < len(every) else "")
        )
        rows.append(_row(finding, claims[claim], here, bool(ok.all())))
    lora, full = (learned[learned["method"] == m] if not learned.empty else learned for m in ("lora", "full"))
    matched = [(g, f) for g, f in full.groupby("base")["contested"] if g in set(lora["base"])] if not full.empty else []
    finding = "contested Δloss lower under full FT than under LoRA, model by model"
    if not matched:
        rows.append(_row(finding, claims["unlearning_full"], "no model with both LoRA and full FT that learned", None))
    else:
        lower = [float(f.iloc[0]) < lora.loc[lora["base"] == g, "contested"].min() for g, f in matched]
        rows.append(_row(finding, claims["unlearning_full"], f"{sum(lower)} of {len(lower)} models", all(lower)))
    return rows


def _controls(data: pd.DataFrame, claim: str) -> list[dict[str, str]]:
    finding = "ρ stays positive within every gold label and under each one-length partial control (the study's)"
    strict = "ρ stays positive under the strict joint control (loradyn's; the paper does not test it)"
    if data.empty:
        return [_row(finding, claim, "no run has entropy", None), _row(strict, "", "no run has entropy", None)]
    columns = [c for c in data if c.startswith(("within_label_", "partial_")) and c != "partial_strict"]
    controlled = data[data[columns].notna().any(axis=1)]  # a condition of too few items has no control: not judged
    ok = controlled[columns].apply(lambda row: bool((row.dropna() > 0).all()), axis=1)
    rows = [
        _row(finding, claim, f"{int(ok.sum())} of {len(controlled)} conditions (means over seeds)", bool(ok.all()))
        if len(controlled)
        else _row(finding, claim, "no condition has enough items for the controls", None)
    ]
    if data["partial_strict"].isna().all():
        return [*rows, _row(strict, "", "undefined (no majority confidence, or the controls determine entropy)", None)]
    strict_ok = data["partial_strict"].dropna() > 0
    return [*rows, _row(strict, "", f"{int(strict_ok.sum())} of {len(strict_ok)} conditions", bool(strict_ok.all()))]


def _authors_partial(data: pd.DataFrame, claim: str) -> dict[str, str]:
    finding = (
        "ρ(threshold learning time, entropy) stays positive under each one-covariate partial control (the author's)"
    )
    if data.empty:
        return _row(finding, claim, "no run has items whose loss falls below 0.693", None)
    columns = [c for c in data if c.startswith("partial_")]
    ok = data[["rho", *columns]].apply(lambda row: bool((row.dropna() > 0).all()), axis=1)
    values = data[columns].to_numpy(dtype=float)
    spread = f"partial ρ from {num(np.nanmin(values))} to {num(np.nanmax(values))}" if np.isfinite(values).any() else ""
    return _row(finding, claim, f"{int(ok.sum())} of {len(data)} conditions (one seed each); {spread}", bool(ok.all()))


def _ablations(conditions: list[Condition]) -> list[dict[str, str]]:
    """The author's robustness runs (his script 10): entropy buckets, soft labels and alphaNLI, each asked whether
    the correlation stays positive; their outcomes are not in the abstract."""
    claims = STUDY1["claims"]

    def rho(c: Condition) -> float:
        return c.summary["spearman"]["aulc"]["mean"]

    def tested(finding: str, paper: str, members: list[Condition], what: str) -> dict[str, str]:
        if not members:
            return _row(finding, paper, f"no {what} condition", None)
        here = "; ".join(f"{c.extra or c.dataset}: {num(rho(c))}" for c in members)
        return _row(finding, paper, here, all(rho(c) > 0 for c in members))

    buckets = [c for c in conditions if c.config.get("train_categories") is not None]
    soft = [c for c in conditions if c.config.get("soft_labels")]
    alphanli = [c for c in conditions if c.dataset == "chaosnli-alphanli"]
    return [
        tested("ρ(AULC, entropy) > 0 whichever entropy bucket is trained on", claims["buckets"], buckets, "bucket"),
        tested("ρ(AULC, entropy) > 0 when the ChaosNLI items train on soft labels", claims["soft"], soft, "soft-label"),
        tested("ρ(AULC, entropy) > 0 on alphaNLI (two classes)", claims["alphanli"], alphanli, "alphaNLI"),
    ]


def _seeds(conditions: list[Condition], claim: str) -> dict[str, str]:
    finding = "ρ > 0 in every seed of every condition"
    multi = [c for c in conditions if len(c.runs) > 1]
    if not multi:
        return _row(finding, claim, "no condition has two seeds or more", None)
    rhos = [r.stats["spearman"]["aulc"]["estimate"] for c in multi for r in c.runs]
    positive = sum(r > 0 for r in rhos)
    return _row(
        finding, claim, f"{positive} of {len(rhos)} runs in {len(multi)} multi-seed conditions", positive == len(rhos)
    )


def _datasets(conditions: list[Condition], claim: str) -> dict[str, str]:
    finding = "ρ > 0 on every dataset, for each model and adapter run on several"
    by_setting: dict[tuple, dict[str, float]] = defaultdict(dict)
    for c in conditions:
        by_setting[(c.model, c.adapter, c.extra)][c.dataset] = c.summary["spearman"]["aulc"]["mean"]
    several = {k: v for k, v in by_setting.items() if len(v) > 1}
    if not several:
        return _row(finding, claim, "every model and adapter ran on one dataset", None)
    values = [rho for v in several.values() for rho in v.values()]
    return _row(
        finding,
        claim,
        f"{sum(v > 0 for v in values)} of {len(values)} conditions in {len(several)} "
        f"setting{'s' if len(several) != 1 else ''}",
        all(v > 0 for v in values),
    )


def _noise(data: pd.DataFrame, claim: str) -> dict[str, str]:
    finding = "noise raises the clean items' AULC (one-sided Wilcoxon p < 0.05, every seed and rate)"
    if data.empty:
        return _row(finding, claim, "no clean-tracked noise runs with a control", None)
    significant = (data["pvalue"] < 0.05) & (data["mean_difference"] > 0)
    return _row(
        finding,
        claim,
        f"{int(significant.sum())} of {len(data)} seed × rate tests; Cohen's d from "
        f"{num(data['cohens_d'].min(), 2)} to {num(data['cohens_d'].max(), 2)}",
        bool(significant.all()),
    )


def _rank(data: pd.DataFrame) -> dict[str, str]:
    finding = (
        f"ρ falls as the rank grows (the author's rank-sweep gate: Spearman(rank, ρ) < {num(STUDY1['rank_gate'], 1)})"
    )
    paper = "ranks " + ", ".join(map(str, STUDY1["rank_sweep_ranks"])) + ", seed 42"
    tested = data[data["rho_rank"].notna()] if not data.empty else data
    if tested.empty:
        return _row(finding, paper, "no LoRA rank sweep of 3 ranks or more", None)
    here = "; ".join(f"{g}: {num(r)}" for g, r in zip(tested["group"], tested["rho_rank"], strict=True))
    return _row(finding, paper, here, bool(tested["gate_passed"].all()))


def _family(family: dict[str, Any]) -> dict[str, str]:
    finding = "ρ(AULC, entropy) significant in every run after Holm over the whole family"
    tests = [t for t in family["tests"] if t["test"] == "spearman aulc" and t["pvalue_holm"] is not None]
    if not tests:
        return _row(finding, "", "no run has entropy", None)
    hits = sum(t["pvalue_holm"] < 0.05 for t in tests)
    return _row(
        finding,
        "no correction in the study's code",
        f"{hits} of {len(tests)} runs ({family['n_tests']:,} tests in the family)",
        hits == len(tests),
    )
