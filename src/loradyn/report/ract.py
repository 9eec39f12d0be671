"""``docs/results/ract-agnews-cpu.md``: RACT beside training on noisy and on clean data, every detector side by side,
and the second study's numbers, written by ``loradyn ract --report``. Every verdict is computed from the numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loradyn.report.paper import STUDY2
from loradyn.report.provenance import duration, made_by
from loradyn.report.ract_claims import memorisation_section, pm, rank_curve_section, separation_section, verdict

#: The accuracy table's columns, in order (the low rank retrained only where ``retrain_low`` asked for it).
ACCURACY_ROLES = ("low", "noisy", "removed", "downweighted", "removed_low", "oracle")


def _role_name(role: str, low: int, retrain: int) -> str:
    names = {
        "low": f"noisy r{low}",
        "noisy": f"noisy r{retrain}",
        "removed": f"removed r{retrain}",
        "downweighted": f"down-weighted r{retrain}",
        "removed_low": f"removed r{low}",
        "oracle": f"oracle r{retrain}",
    }
    return names[role]


#: Threshold rules as the detector tables show them, in order.
RULES = {
    "known_rate": "F1, top noise-rate share",
    "own": "F1, own rule",
    "gmm": "F1, mixture",
    "trusted": "F1, trusted",
}


def _wins(settings: list[dict[str, Any]], better: Callable[[dict[str, Any]], bool]) -> str:
    return f"{sum(better(s) for s in settings)} of {len(settings)} seeds"


def _greater(a: str, b: str) -> Callable[[dict[str, Any]], bool]:
    return lambda s: s[a] is not None and s[b] is not None and s[a] > s[b]


def _departures(config: dict[str, Any], n_train: int, n_test: int) -> list[str]:
    here = {
        "model": config["model"],
        "dataset": config["dataset"],
        "noise_kind": config["noise_kind"],
        "low_rank": config["low_rank"],
        "high_rank": config["high_rank"],
        "epochs": config["epochs"],
        "n_train": n_train,
        "n_test": n_test,
    }
    names = {
        "n_train": "training items",
        "n_test": "clean test items",
        "low_rank": "low rank",
        "high_rank": "high rank",
    }
    paper = {**STUDY2, "epochs": f"about {STUDY2['epochs']}"}
    return [
        f"{names.get(key, key)}: {value:,} here, {paper[key]:,} in the paper"
        if isinstance(value, int) and isinstance(paper[key], int)
        else f"{names.get(key, key)}: {value} here, {paper[key]} in the paper"
        for key, value in here.items()
        if value != STUDY2[key]
    ]


def _detector_tables(summary: dict[str, Any]) -> str:
    """Per noise rate with noise: every detector (and the run it read), F1 under each threshold rule, AUROC, AP."""
    conditions = summary["detectors"]
    rules = [r for r in RULES if any(c["threshold"] == r for c in conditions)]
    blocks = []
    for rate in sorted({c["noise_rate"] for c in conditions if c["noise_rate"] > 0}):
        rows: dict[str, dict[str, Any]] = {}
        for c in (c for c in conditions if c["noise_rate"] == rate):
            name = c["detector"] + (
                f" (r{c['low_rank']:g} vs r{c['rank']:g})" if c.get("low_rank") is not None else f" (r{c['rank']:g})"
            )
            rows.setdefault(name, {"auroc": pm(c, "auroc"), "ap": pm(c, "average_precision"), "sort": c})
            rows[name][c["threshold"]] = pm(c, "f1")
        ordered = sorted(rows.items(), key=lambda item: -(item[1]["sort"].get("auroc_mean") or 0))
        header = "| detector | " + " | ".join(RULES[r] for r in rules) + " | AUROC | AP |"
        lines = [header, "|---" * (len(rules) + 3) + "|"]
        lines += [
            f"| {name} | " + " | ".join(row.get(r, "–") for r in rules) + f" | {row['auroc']} | {row['ap']} |"
            for name, row in ordered
        ]
        n_seeds = max(c["n_seeds"] for c in conditions if c["noise_rate"] == rate)
        blocks.append(f"**{rate:.0%} noise** ({n_seeds} seed(s), mean ± SD; by AUROC)\n\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def _best_by_auroc(summary: dict[str, Any], rate: float) -> dict[str, Any]:
    rows = [c for c in summary["detectors"] if c["noise_rate"] == rate and c.get("auroc_mean") is not None]
    return max(rows, key=lambda c: c["auroc_mean"])


def _verdicts(summary: dict[str, Any]) -> list[str]:
    config, settings = summary["config"], summary["settings"]
    accuracy = {r["noise_rate"]: r for r in summary["accuracy"]}
    detection = {r["noise_rate"]: r for r in summary["detection"]}
    low, retrain = config["low_rank"], settings[0]["runs"]["noisy"]["rank"]
    lines = []
    for rate in sorted(accuracy):
        acc, det = accuracy[rate], detection[rate]
        seeds = [s for s in settings if s["noise_rate"] == rate]
        at = f"At {rate:.0%} noise"
        if rate == 0:
            change = (acc["removed_accuracy_mean"] or acc["noisy_accuracy_mean"]) - acc["noisy_accuracy_mean"]
            lines.append(
                f"{at} there is nothing to detect: RACT flags {det['n_flagged_mean']:.0f} clean example(s) on "
                f"average, and retraining without them changes clean-test accuracy by {change:+.3f}."
            )
            continue
        lines.append(
            f"{at}, rank discrepancy beats the trivial baseline (final prediction ≠ label, the better of the runs) "
            f"in F1: {verdict(det['f1_mean'] > det['baseline_f1_mean'])} ({det['f1_mean']:.3f} vs "
            f"{det['baseline_f1_mean']:.3f}; {_wins(seeds, _greater('f1', 'baseline_f1'))})."
        )
        lines.append(
            f"{at}, rank discrepancy ranks noisy labels above clean ones at all (AUROC > 0.5): "
            f"{verdict(det['auroc_mean'] > 0.5)} ({det['auroc_mean']:.3f})."
        )
        best = _best_by_auroc(summary, rate)
        is_ract = best["detector"] == "rank_discrepancy"
        best_name = best["detector"] if is_ract else f"{best['detector']} r{best['rank']}"
        lines.append(
            f"{at}, rank discrepancy ranks the noisy labels best of all detectors (AUROC): {verdict(is_ract)} "
            f"(best: {best_name}, {best['auroc_mean']:.3f}; rank discrepancy {det['auroc_mean']:.3f})."
        )
        retrainings = (
            ("removed", f"rank {retrain} without the flagged examples", "noisy"),
            ("downweighted", f"rank {retrain} with them down-weighted", "noisy"),
            ("removed_low", f"rank {low} without the flagged examples", "low"),
        )
        for role, what, base in retrainings:
            if acc[f"{role}_accuracy_mean"] is None:
                continue
            gap = acc["oracle_accuracy_mean"] - acc[f"{base}_accuracy_mean"]
            gain = acc[f"{role}_accuracy_mean"] - acc[f"{base}_accuracy_mean"]
            closed_text = f", {gain / gap:.0%} of the gap to the oracle closed" if gap > 0 and gain > 0 else ""
            lines.append(
                f"{at}, retraining {what} beats training it on the noisy data: "
                f"{verdict(acc[f'{role}_accuracy_mean'] > acc[f'{base}_accuracy_mean'])} "
                f"({acc[f'{role}_accuracy_mean']:.3f} vs {acc[f'{base}_accuracy_mean']:.3f}; "
                f"{_wins(seeds, _greater(f'{role}_accuracy', f'{base}_accuracy'))}{closed_text})."
            )
        lines.append(
            f"{at}, the rank-{low} adapter resists the noise better than the rank-{retrain} one (clean-test accuracy): "
            f"{verdict(acc['low_accuracy_mean'] > acc['noisy_accuracy_mean'])} "
            f"({acc['low_accuracy_mean']:.3f} vs {acc['noisy_accuracy_mean']:.3f}; "
            f"{_wins(seeds, _greater('low_accuracy', 'noisy_accuracy'))})."
        )
    return lines


def _paper_rows(summary: dict[str, Any]) -> tuple[str, list[str]]:
    """The side-by-side with the second study at its noise rate, and verdicts against its numbers."""
    rate = STUDY2["noise_rate"]
    accuracy = {r["noise_rate"]: r for r in summary["accuracy"]}
    detection = {r["noise_rate"]: r for r in summary["detection"]}
    if rate not in accuracy:
        return f"No setting at {rate:.0%} noise was run, so nothing here compares with the paper's numbers.", []
    acc, det = accuracy[rate], detection[rate]
    retrained = ("removed", "downweighted", "removed_low")
    after = max(acc[f"{role}_accuracy_mean"] or 0.0 for role in retrained)
    low, retrain = summary["config"]["low_rank"], summary["settings"][0]["runs"]["noisy"]["rank"]
    rows = [
        ("rank discrepancy detection F1", pm(det, "f1"), f"{STUDY2['ract_detection_f1']:.3f}"),
        ("trivial baseline F1 (final prediction ≠ label)", pm(det, "baseline_f1"), "not reported"),
        *(
            (f"clean-test accuracy after RACT, {what}", pm(acc, f"{role}_accuracy"), paper)
            for role, what, paper in (
                ("removed", f"rank {retrain}, removed", f"{STUDY2['ract_accuracy']:.4f}"),
                ("downweighted", f"rank {retrain}, down-weighted", "–"),
                ("removed_low", f"rank {low}, removed (the paper's retraining)", f"{STUDY2['ract_accuracy']:.4f}"),
            )
            if acc[f"{role}_accuracy_mean"] is not None
        ),
        ("clean-test accuracy on the noisy data", pm(acc, "noisy_accuracy"), "not reported"),
        ("clean-test accuracy on clean data (oracle)", pm(acc, "oracle_accuracy"), "not reported"),
    ]
    table = "| at 30% symmetric noise | here | paper |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    verdicts = [
        f"Rank discrepancy reaches the paper's {STUDY2['ract_detection_f1']:.1%} detection F1: "
        f"{verdict(det['f1_mean'] >= STUDY2['ract_detection_f1'])} ({det['f1_mean']:.1%} here).",
        f"Accuracy after RACT reaches the paper's {STUDY2['ract_accuracy']:.2%}: "
        f"{verdict(after >= STUDY2['ract_accuracy'])} ({after:.2%} here, the best of the retrainings).",
    ]
    return table, verdicts


def ract_page(summary: dict[str, Any], *, command: str, seconds: float, figure: str | None = None) -> str:
    """The markdown page of a finished ``loradyn ract`` (its ``ract.json``); ``figure``: the file name of its
    memorisation figure (`memorisation_figure`), beside the page."""
    config, settings = summary["config"], summary["settings"]
    first = settings[0]
    retrain = first["runs"]["noisy"]["rank"]
    n_test = first["n_validation"]
    rates = sorted({s["noise_rate"] for s in settings})
    seeds = sorted({s["seed"] for s in settings})
    detection = {r["noise_rate"]: r for r in summary["detection"]}
    roles = [r for r in ACCURACY_ROLES if any(s[f"{r}_accuracy"] is not None for s in settings)]
    accuracy_rows = []
    for r in summary["accuracy"]:
        d = detection[r["noise_rate"]]
        flagged_noisy = [s["n_flagged_noisy"] for s in settings if s["noise_rate"] == r["noise_rate"]]
        accuracy_rows.append(
            f"| {r['noise_rate']:.0%} | {r['n_seeds']} | {d['n_flagged_mean']:.0f} "
            f"({sum(flagged_noisy) / len(flagged_noisy):.0f} noisy) | "
            + " | ".join(pm(r, f"{role}_accuracy") for role in roles)
            + " |"
        )
    detection_rows = [
        f"| {r['noise_rate']:.0%} | {pm(r, 'precision')} | {pm(r, 'recall')} | {pm(r, 'f1')} | {pm(r, 'auroc')} "
        f"| {pm(r, 'baseline_f1')} |"
        for r in summary["detection"]
        if r["noise_rate"] > 0
    ]
    paper_table, paper_verdicts = _paper_rows(summary)
    memorisation, memorisation_verdicts = memorisation_section(summary, figure)
    rank_curve, rank_curve_verdicts = rank_curve_section(summary)
    separation, separation_verdicts = separation_section(summary)
    departures = _departures(config, first["n_train"], n_test)
    actions = {"remove": "removed", "downweight": f"down-weighted (loss × {config['downweight']:g})"}
    action = " and, separately, ".join(v for k, v in actions.items() if config["action"] in (k, "both"))
    kfold = (
        f" Confident learning reads {config['kfold']} held-out folds of the rank-{retrain} run (cleanlab)."
        if config.get("kfold")
        else " Confident learning is left out (no `kfold` in the configuration: it needs K more trainings)."
    )
    start, end = config["window"]
    return f"""# RACT and the noisy-label detectors, side by side

{made_by(command, seconds)} The runs it reports took {duration(summary["seconds"]["steps"])} of training and
probing in all (their `run.json` timings; a resumed command reads finished steps instead of training them).

## Setting

- Model and data: {config["model"]} with LoRA on {config["dataset"]}, {first["n_train"]:,} training items,
  {config["noise_kind"]} label noise at {", ".join(f"{r:.0%}" for r in rates)}, seeds {", ".join(map(str, seeds))}.
- Recipe: {config["epochs"]} epoch(s) at lr {config["lr"]:g}, batches of {config["batch_size"]}, max length
  {config["max_length"]}; every other field is in `ract.json`'s `config`.
- Accuracy is clean-test accuracy: the last epoch's accuracy on {n_test:,} items of the dataset's test split, whose
  labels are never noised.
- RACT: ranks {config["low_rank"]} and {config["high_rank"]} train on the noisy labels; rank discrepancy is the
  rank-{config["low_rank"]} run's mean loss minus the rank-{config["high_rank"]} run's over {start:.0%}–{end:.0%} of
  training ({config["source"]} rows; {config["scope"]} examples scored); it flags by `{config["threshold"]}`; the
  flagged examples are {action}, and rank {retrain} is retrained. "Noisy" is rank {retrain} on the noisy labels,
  "oracle" rank {retrain} on clean labels.
- Every other detector reads the same two runs.{kfold}
- Departures from the paper's setting: {"; ".join(departures) if departures else "none"}.

## Claim (i): memorisation against capacity

{memorisation}

## Claim (ii): the optimal rank under noise

{rank_curve}

## Claim (iii): temporal separation

{separation}

## RACT's retraining: clean-test accuracy (mean ± SD over seeds)

| noise | seeds | flagged | {" | ".join(_role_name(role, config["low_rank"], retrain) for role in roles)} |
{"|---" * (3 + len(roles))}|
{chr(10).join(accuracy_rows)}

## Claim (iv): rank discrepancy against the trivial baseline (mean ± SD over seeds)

Rank discrepancy here is the low rank's loss minus the high rank's, so a noisy item (fitted by the high rank only)
scores high; the paper writes it high minus low and flags large negative values: the same flags. An AUROC below
0.5 means the opposite sign would rank the noisy items higher (its AUROC is one minus this one).
Flags by `{config["threshold"]}`; the baseline is prediction disagreement by its own rule (the final prediction is
not the label), on whichever of the runs gives it the higher F1.

| noise | precision | recall | F1 | AUROC | baseline F1 |
|---|---|---|---|---|---|
{chr(10).join(detection_rows)}

## Every detector on the same runs

F1 under each threshold rule (top noise-rate share: the noise rate is known; own rule: the detector's own flag,
where it has one; mixture: a two-component Gaussian mixture of the scores), and the ranking metrics AUROC and
average precision, which need no threshold. `evaluation.json` in the output folder has every number, per seed and
per rule.

{_detector_tables(summary)}

## Beside the paper

{paper_table}

## Verdicts

Claim (i), memorisation:

{chr(10).join(f"- {v}" for v in memorisation_verdicts) or "- not measured"}

Claim (ii), the optimal rank:

{chr(10).join(f"- {v}" for v in rank_curve_verdicts) or "- not run"}

Claim (iii), temporal separation:

{chr(10).join(f"- {v}" for v in separation_verdicts) or "- not measured"}

Claim (iv), detection, and RACT's retraining:

{chr(10).join(f"- {v}" for v in [*_verdicts(summary), *paper_verdicts])}
"""
