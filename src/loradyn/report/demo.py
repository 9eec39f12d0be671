"""``docs/results/demo.md``: the demo run and its analysis beside the first study, written by ``loradyn demo``."""

from __future__ import annotations

from typing import Any

from loradyn.report.paper import STUDY1
from loradyn.report.provenance import made_by

CATEGORIES = ("clean", "ambiguous", "contested")


def _rho(r: dict[str, Any]) -> str:
    ci = f" [{r['low']:.3f}, {r['high']:.3f}]" if r.get("low") is not None else ""
    return f"{r['estimate']:.3f}{ci}, p = {r['pvalue']:.2g}"


def _shares(block: dict[str, Any]) -> str:
    cells = []
    for c in CATEGORIES:
        g = block["by_group"].get(c)
        cells.append(f"{g['share']:.1%} [{g['low']:.1%}, {g['high']:.1%}]" if g else "-")
    return " / ".join(cells) + f"; chi2 p = {block['chi2_test']['pvalue']:.2g}"


def _verdict(holds: bool) -> str:
    return "holds" if holds else "does NOT hold"


def demo_page(run: dict[str, Any], stats: dict[str, Any], *, command: str, seconds: float, reused: bool) -> str:
    """The markdown page: design, a table of the demo's statistics beside the paper's findings, and verdicts
    computed from the numbers."""
    config, data = run["config"], run["data"]
    s, controls, unlearning = stats["spearman"], stats["controls"], stats["unlearning"]
    regression = stats["hierarchical_regression_aulc"]
    within = controls.get("within_label", {})
    partial = {k: v for k, v in controls.get("partial_one_length", {}).items() if v["estimate"] is not None}
    strict = controls.get("partial_strict", {})
    delta = unlearning["delta_loss_mean"]
    low, high = STUDY1["rho_range"]
    rows = [
        ("Spearman ρ(AULC, entropy) [95% bootstrap CI]", _rho(s["aulc"]), f"positive in all 25, {low}–{high}"),
        ("Kendall τ-b(AULC, entropy)", f"{s['aulc']['kendall_tau']:.3f}", ""),
        ("ρ(Δloss, entropy) [95% CI]", _rho(s["delta_loss"]), ""),
        (
            "ρ(AULC, entropy) within each gold label (the study's control)",
            ", ".join(f"label {k}: {v['rho']:.3f} (n {v['n']})" for k, v in within.items()),
            "the effect survives within labels",
        ),
        (
            "partial ρ controlling one length at a time (premise, hypothesis, total words)",
            ", ".join(f"{v['estimate']:.3f}" for v in partial.values()),
            "",
        ),
        (
            "stricter: partial ρ controlling lengths, gold label and majority confidence together",
            f"{strict['estimate']:.3f}, p = {strict['pvalue']:.2g} ({strict['variance_left']:.0%} of entropy's rank "
            "variance left)"
            if strict.get("estimate") is not None
            else "undefined: the controls determine entropy",
            "",
        ),
        (
            "ΔR² of entropy over the training-pass data map (AULC ~ confidence + variability)",
            f"{regression['delta_r2']:.4f}, F p = {regression['pvalue']:.2g}, HC3 p = {regression['pvalue_hc3']:.2g}"
            if "delta_r2" in regression
            else regression.get("skipped", ""),
            "",
        ),
        (
            "mean Δloss (final − step 0) clean / ambiguous / contested",
            " / ".join(f"{delta[c]:+.3f}" for c in CATEGORIES),
            "contested items un-learn under LoRA",
        ),
        ("share whose loss rose (Δloss > 0) [95% Wilson CI]", _shares(unlearning["delta_loss_positive"]), ""),
        ("share learned, then lost [95% Wilson CI]", _shares(unlearning["learned_then_lost"]), ""),
        (
            f"validation accuracy ({data['n_validation']} held-out ChaosNLI items, majority label)",
            ", ".join(f"epoch {i + 1}: {a:.3f}" for i, a in enumerate(run["val_accuracy_per_epoch"])),
            "",
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    survives = all(v["rho"] > 0 for v in within.values()) and all(v["estimate"] > 0 for v in partial.values())
    verdicts = [
        f"ρ(AULC, entropy) is positive with a CI that excludes 0: {_verdict(s['aulc']['low'] > 0)}.",
        f"It is inside the paper's range {low}–{high}: {_verdict(low <= s['aulc']['estimate'] <= high)}.",
        f"It stays positive within every gold label and under each length control: {_verdict(survives)}.",
        f"Contested items un-learn more than clean ones (mean Δloss): {_verdict(delta['contested'] > delta['clean'])}.",
        f"Contested items un-learn in absolute terms (mean Δloss > 0): {_verdict(delta['contested'] > 0)}.",
    ]
    steps = f"{run['progress']['checkpoints']} probes over {run['progress']['step']} optimizer steps"
    method = f"LoRA r{config['rank']}" if config["method"] == "lora" else config["method"]
    return f"""# The demo run beside the first study

{made_by(command, seconds)}{" It summarised a run made before." if reused else ""}

The run itself trained for {run["timings"]["train"]:.0f} s and probed for {run["timings"]["probe"]:.0f} s
(`run.json`); the statistics are `loradyn analyze`'s (`metrics.parquet`, `stats.json`, `analysis.json` in the run
directory).

The demo is the first study's design at laptop scale, not a replication: {config["model"]} with {method},
{config["n_bulk"]:,} bulk items instead of 20,000, {config["epochs"]} epochs instead of 5, lr {config["lr"]:g}
instead of 2e-5 so that a few hundred steps learn something, a probe every {config["probe_every"]} steps ({steps}).
Everything else is the study's recipe as its code has it (loradyn's defaults, listed in `RunConfig`'s docstring):
the {data["n_tracked"]:,} tracked ChaosNLI-SNLI items of its 80/20 split, one bulk draw with seed
{config["bulk_seed"]}, class-weighted loss, the clamped-cosine schedule, random batches, no segment ids.
`CHANGELOG.md` says what changed since loradyn 0.1.

| measure | demo | first study |
|---|---|---|
{table}

{chr(10).join(f"- {v}" for v in verdicts)}

The paper's grid (encoders and decoders, ranks, full fine-tuning, seeds, MNLI) is the replication's job
(`docs/results/paper1-cpu/`), not the demo's.
"""
