"""`loradyn report` on a tiny sweep of synthetic runs (every table and figure, numbers checked against independent
computations on the metrics files) and on a tiny real run (the interactive map reads its real examples)."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from scipy import stats
from statsmodels.stats.multitest import multipletests
from test_train import small
from typer.testing import CliRunner

from loradyn.cli import app
from loradyn.data.catalog import load_examples
from loradyn.report.study1.page import write_report
from loradyn.report.table import interval, num, p_is, signed
from loradyn.stats.bootstrap import Bootstrap
from loradyn.synthetic import write_synthetic_run
from loradyn.train.runner import train

N_RESAMPLES = 300
MAP_RUN = "lora-r4__s42"  # its text has characters that must be escaped
RHO = "\N{GREEK SMALL LETTER RHO}"
MINUS = "\N{MINUS SIGN}"
SEEDS = (42, 123)
MAIN = {  # condition name: config, synthetic seed offset (so conditions differ), planted un-learning
    "lora-r4": ({"method": "lora", "rank": 4}, 0, 0.4),
    "lora-r16": ({"method": "lora", "rank": 16}, 1000, 0.4),
    "full": ({"method": "full", "rank": 16, "lr": 1e-4}, 2000, 0.0),  # its own learning rate, as paper1-cpu
}
BASE = {"model": "roberta-base", "dataset": "chaosnli-snli", "noise_scope": "all", "noise_rate": 0.0}
ABLATIONS = (  # name, what it changes, synthetic seed, planted un-learning (none under IA3, as under full FT)
    ("ia3", {"method": "ia3"}, 3000, 0.0),
    ("balanced", {"train_categories": "balanced"}, 4000, 0.4),
    ("soft", {"soft_labels": True}, 5000, 0.4),
    ("alphanli", {"dataset": "chaosnli-alphanli"}, 6000, 0.4),
)
TRICKY = "</script><script>window.pwned = 1</script> & <b>bold</b> “quoted”"
FIGURES = ("entropy_histogram", "loss_curves", "aulc_entropy", "rho_rank", "datamap", "noise_curves", "calibration")
TABLES = (
    "table1",
    "unlearning",
    "learned_then_lost",
    "rank",
    "rank_monotonicity",
    "controls",
    "authors_partial",
    "regression",
    "noise_tests",
    "noise_summary",
    "rebinning",
    "concordance",
    "category_region",
    "gradient_cosine",
    "gradient_norms",
    "accuracy",
    "multiple_testing",
)


def _set_run_json(run_dir, seed, **fields):
    path = run_dir / "run.json"
    run = json.loads(path.read_text())
    run["config"]["seed"] = run["seed"] = seed
    run.update(fields)
    path.write_text(json.dumps(run))


def _keep_probabilities(run_dir):
    """Add the class probabilities a run with ``record_probs: true`` keeps (p(gold) at the label, the rest split)."""
    dynamics = pd.read_parquet(run_dir / "dynamics.parquet")
    p, label = dynamics["p_gold"].to_numpy(dtype=float), dynamics["label"].to_numpy()
    probs = np.repeat(((1 - p) / 2)[:, None], 3, axis=1)
    probs[np.arange(len(p)), label] = p
    dynamics["probs"] = list(probs.astype(np.float32))
    dynamics.to_parquet(run_dir / "dynamics.parquet", index=False)


def _add_gradients(run_dir, seed):
    """What a run with ``gradient_cosine`` and ``gradient_norms`` records: a cosine falling over training and norms
    that grow with entropy."""
    rng = np.random.default_rng(seed)
    examples = pd.read_parquet(run_dir / "examples.parquet")
    tracked = examples[examples["tracked"]]
    norms = tracked["entropy"].to_numpy() + rng.normal(0, 0.3, len(tracked))
    pd.DataFrame({"example_id": tracked["example_id"], "grad_norm": np.abs(norms)}).to_parquet(
        run_dir / "gradient_norms.parquet", index=False
    )
    history = [{"step": 10 * k, "cosine": 0.9 - 0.05 * k + rng.normal(0, 0.01)} for k in range(6)]
    _set_run_json(run_dir, seed, gradient_cosine=history)


def make_sweep(root):
    """3 conditions (LoRA r4 and r16: a rank pair; full fine-tuning, no planted un-learning) x 2 seeds, the noise
    injection (clean-tracked, rates 0 and 0.3) x 2 seeds, IA3, a balanced bucket, soft labels and alphaNLI (one
    seed each), a foreign folder and an unfinished run."""
    for name, (adapter, offset, unlearning) in MAIN.items():
        for seed in SEEDS:
            d = write_synthetic_run(
                root / f"{name}__s{seed}",
                n_items=120,
                n_checkpoints=10,
                n_bulk=10,
                seed=seed + offset,
                unlearning_share=unlearning,
                config={**BASE, **adapter},
            )
            accuracy = 0.6 + offset / 10_000 + seed / 100_000
            _set_run_json(
                d, seed, val_accuracy_per_epoch=[0.5, accuracy], timings={"train": 10.0}, model={"decoder": False}
            )
            if name == "full":
                _keep_probabilities(d)
            if name == "lora-r4":
                _add_gradients(d, seed)
    for rate in (0.0, 0.3):
        for seed in SEEDS:  # the same synthetic seed: control and noisy runs of a seed track the same items
            d = write_synthetic_run(
                root / f"noise{rate}__s{seed}",
                n_items=120,
                n_checkpoints=10,
                seed=seed,
                noise_rate=rate,
                config={**BASE, "method": "lora", "rank": 4, "noise_scope": "clean_tracked", "noise_rate": rate},
            )
    for name, change, offset, unlearning in ABLATIONS:  # one seed each: the robustness runs of the author's script 10
        write_synthetic_run(
            root / f"{name}__s42",
            n_items=120,
            n_checkpoints=10,
            n_bulk=10,
            seed=offset,
            unlearning_share=unlearning,
            config={**BASE, "method": "lora", "rank": 4, **change},
        )
    (root / "logs").mkdir()
    unfinished = write_synthetic_run(root / "unfinished", n_items=30, seed=1, config=BASE)
    _set_run_json(unfinished, 1, status="running")
    (root / "sweep.json").write_text("{}")
    # the map's run keeps text with characters that must be escaped
    examples = pd.read_parquet(root / "lora-r4__s42" / "examples.parquet")
    examples["premise"] = [f"{TRICKY} {i}" for i in range(len(examples))]
    examples["hypothesis"] = "a plain hypothesis"
    examples.to_parquet(root / "lora-r4__s42" / "examples.parquet", index=False)
    return root


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = make_sweep(tmp_path_factory.mktemp("sweep"))
    result = write_report(
        root, n_resamples=N_RESAMPLES, workers=1, command="loradyn report SWEEP", map_run_name=MAP_RUN
    )
    return root, result


def _metrics(root, name):
    return pd.read_parquet(root / name / "metrics.parquet")


def _condition_runs(name):
    return [f"{name}__s{seed}" for seed in SEEDS]


def _row(result, table, condition_part, key="condition"):
    rows = [r for r in result["tables"][table]["rows"] if r[key] == condition_part] or [
        r for r in result["tables"][table]["rows"] if condition_part in r[key]
    ]
    assert len(rows) == 1, rows
    return rows[0]


LABELS = {  # a condition is named by what sets it apart from the default recipe
    "lora-r4": "roberta-base, chaosnli-snli, LoRA r4",
    "lora-r16": "roberta-base, chaosnli-snli, LoRA r16",
    "full": "roberta-base, chaosnli-snli, full FT",
}


def test_the_report_has_every_table_and_figure_and_is_self_contained(report):
    root, result = report
    assert set(TABLES) <= set(result["tables"])
    for name in FIGURES:
        assert (root / "report-figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["skipped"] == [
        "logs: no run.json (not a run directory); skipped",
        "unfinished: status 'running', not complete; skipped",
    ]
    assert len(result["runs"]) == 10 + len(ABLATIONS)
    page = (root / "report.html").read_text()
    assert page.count("<img src='data:image/png;base64,") == len(FIGURES) - 1  # the map is the interactive SVG
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", page) and "<link" not in page
    assert "<script src" not in page
    markdown = (root / "report.md").read_text()
    assert "Made by `loradyn report SWEEP` on" in markdown and "of wall time" in markdown
    for name in FIGURES:
        assert f"report-figures/{name}.png" in markdown
    tex = (root / "tables.tex").read_text()
    assert tex.isascii()
    assert tex.count("\\begin{tabular}") == tex.count("\\bottomrule") == len(result["tables"]) + 1  # + findings
    assert "\\toprule" in tex and "$\\rho$" in tex
    for verdict in ("holds", "does NOT hold", "not tested here"):
        assert f"| {verdict} |" in markdown


def test_table1_matches_an_independent_computation(report):
    root, result = report
    for name, label in LABELS.items():
        runs = _condition_runs(name)
        metrics = [_metrics(root, r).set_index("example_id") for r in runs]
        rhos = [stats.spearmanr(m["aulc"], m["entropy"]).statistic for m in metrics]
        row = _row(result, "table1", label)
        assert row["rho_mean"] == pytest.approx(np.mean(rhos), abs=1e-12)
        assert row["rho_sd"] == pytest.approx(np.std(rhos, ddof=1), abs=1e-12)
        # the study's CI: the mean of each seed's bootstrap bounds
        bounds = [json.loads((root / r / "stats.json").read_text())["spearman"]["aulc"] for r in runs]
        assert row["ci_author_low"] == pytest.approx(np.mean([b["low"] for b in bounds]))
        assert row["ci_author_high"] == pytest.approx(np.mean([b["high"] for b in bounds]))
        # loradyn's: the same item resamples for every seed, the seed-mean rho per resample, its percentiles
        ids = sorted(metrics[0].index)
        counts = Bootstrap(len(ids), n_resamples=N_RESAMPLES, seed=0).counts.astype(int)
        replicates = np.zeros(N_RESAMPLES)
        for m in metrics:
            x, y = m.loc[ids, "aulc"].to_numpy(), m.loc[ids, "entropy"].to_numpy()
            for b in range(N_RESAMPLES):
                take = np.repeat(np.arange(len(ids)), counts[b])
                replicates[b] += stats.spearmanr(x[take], y[take]).statistic / len(metrics)
        low, high = np.percentile(replicates, [2.5, 97.5])
        assert row["ci_loradyn_low"] == pytest.approx(low, abs=1e-5)
        assert row["ci_loradyn_high"] == pytest.approx(high, abs=1e-5)
        assert row["ci_loradyn_low"] <= row["rho_mean"] <= row["ci_loradyn_high"]
        accuracy = [json.loads((root / r / "run.json").read_text())["val_accuracy_per_epoch"][-1] for r in runs]
        assert row["val_accuracy_mean"] == pytest.approx(np.mean(accuracy))
        assert row["val_accuracy_sd"] == pytest.approx(np.std(accuracy, ddof=1))


def test_unlearning_tables_match_the_metrics(report):
    root, result = report
    for name, label in LABELS.items():
        metrics = [_metrics(root, r) for r in _condition_runs(name)]
        row = _row(result, "unlearning", label)
        for category in ("clean", "ambiguous", "contested"):
            expected = np.mean([m.loc[m["category"] == category, "delta_loss"].mean() for m in metrics])
            assert row[category] == pytest.approx(expected)
        shares = _row(result, "learned_then_lost", label)
        expected = np.mean([m.loc[m["category"] == "contested", "learned_then_lost"].mean() for m in metrics])
        assert shares["contested"] == pytest.approx(expected)
    assert _row(result, "unlearning", LABELS["lora-r4"])["contested"] > 0  # planted
    assert _row(result, "unlearning", "full FT")["contested"] < 0
    lines = (root / "report.md").read_text().split("**Un-learning")[1].split("\n\n")[1].splitlines()
    assert "LoRA r4: contested Δ" in lines[0] and "full FT: contested Δ" in lines[0]
    main = [line for line in lines[2:] if line.startswith("| roberta-base, chaosnli-snli |")]  # LoRA, IA3, full FT
    assert len(main) == 1 and "—" not in main[0], lines
    regions = pd.concat([_metrics(root, r) for r in result["runs"]])
    counts = pd.crosstab(regions["category"], regions["region"])
    table = {r["category"]: r for r in result["tables"]["category_region"]["rows"]}
    for category in counts.index:
        for region in counts.columns:
            assert table[category][region] == counts.loc[category, region]


def test_the_noise_injection_test_is_the_studys_paired_wilcoxon(report):
    root, result = report
    rows = result["tables"]["noise_tests"]["rows"]
    assert [(r["seed"], r["noise_rate"]) for r in rows] == [(42, 0.3), (123, 0.3)]
    clean_means = {0.0: [], 0.3: []}
    for row in rows:
        control = _metrics(root, f"noise0.0__s{row['seed']}").set_index("example_id")
        noisy = _metrics(root, f"noise0.3__s{row['seed']}").set_index("example_id")
        clean = control.index[control["entropy"] < 0.4]
        diff = noisy.loc[clean, "aulc"] - control.loc[clean, "aulc"]
        assert row["n_clean"] == len(clean)
        assert row["n_flipped"] == int(noisy.loc[clean, "is_noisy"].sum()) > 0
        assert row["pvalue"] == pytest.approx(stats.wilcoxon(diff, alternative="greater").pvalue)
        assert row["cohens_d"] == pytest.approx(diff.mean() / diff.std(ddof=1))
        assert row["pvalue"] < 0.05  # flipped items' true-label loss rises, by construction
        clean_means[0.0].append(control.loc[clean, "aulc"].mean())
        clean_means[0.3].append(noisy.loc[clean, "aulc"].mean())
    for summary in result["tables"]["noise_summary"]["rows"]:
        values = clean_means[summary["noise_rate"]]
        assert summary["clean_aulc_mean"] == pytest.approx(np.mean(values))
        assert summary["clean_aulc_sd"] == pytest.approx(np.std(values, ddof=0))


def test_rebinning_rank_controls_and_concordance_match_the_run_files(report):
    root, result = report
    for name, label in LABELS.items():
        metrics = [_metrics(root, r) for r in _condition_runs(name)]
        for scheme, cuts in (("quartiles", [25, 50, 75]), ("terciles", [33.33, 66.67])):
            per_run = []
            for m in metrics:
                bins = np.digitize(m["entropy"], np.percentile(m["entropy"], cuts))
                per_run.append([m["aulc"][bins == b].mean() for b in range(len(cuts) + 1)])
            expected = np.mean(per_run, axis=0)
            row = [
                r for r in result["tables"]["rebinning"]["rows"] if label in r["condition"] and r["scheme"] == scheme
            ]
            np.testing.assert_allclose(row[0]["bin_means"], expected)
            assert row[0]["spearman"] == pytest.approx(stats.spearmanr(np.arange(len(expected)), expected).statistic)
        within = [
            json.loads((root / r / "stats.json").read_text())["controls"]["within_label"]["1"]["rho"]
            for r in _condition_runs(name)
        ]
        assert _row(result, "controls", label)["within_label_1"] == pytest.approx(np.mean(within))
    by_rank = {r["rank"]: r["rho_mean"] for r in result["tables"]["rank"]["rows"]}
    assert by_rank == {
        4: _row(result, "table1", LABELS["lora-r4"])["rho_mean"],
        16: _row(result, "table1", LABELS["lora-r16"])["rho_mean"],
    }
    assert np.isnan(result["tables"]["rank_monotonicity"]["rows"][0]["rho_rank"])  # two ranks: not tested
    rhos, taus = [], []
    for run in result["runs"]:
        m = _metrics(root, run)
        rhos.append(stats.spearmanr(m["aulc"], m["entropy"]).statistic)
        taus.append(stats.kendalltau(m["aulc"], m["entropy"]).statistic)
    assert result["tables"]["concordance"]["spearman_rho_tau"] == pytest.approx(stats.spearmanr(rhos, taus).statistic)
    markdown = (root / "report.md").read_text()
    assert f"Across the {len(rhos)} runs, Spearman({RHO}, \N{GREEK SMALL LETTER TAU}-b) = " in markdown
    assert len(rhos) >= 10 and re.search(rf"b\) = \S+ \(p (= \S+|< 1e{MINUS}300)\)\.", markdown)


def test_numbers_in_tables_have_true_minus_signs_and_no_negative_zero():
    assert [num(-0.0004), num(-0.0006), signed(-0.0001), signed(0.5)] == ["0.000", f"{MINUS}0.001", "0.000", "+0.500"]
    assert interval(-0.0001, 0.19) == "[0.000, 0.190]"
    assert [p_is(0.0123), p_is(0.0), p_is(3e-5)] == ["p = 0.012", f"p < 1e{MINUS}300", f"p = 3e{MINUS}05"]


def test_multiple_testing_counts_the_whole_family(report):
    root, result = report
    tests = pd.DataFrame(json.loads((root / "analysis.json").read_text())["family"]["tests"]).dropna(subset=["pvalue"])
    assert set(tests["run"]) == set(result["runs"])
    total = result["tables"]["multiple_testing"]["rows"][-1]
    assert total["n"] == len(tests)
    assert total["raw"] == (tests["pvalue"] < 0.05).sum()
    assert total["holm"] == multipletests(tests["pvalue"], method="holm")[0].sum()
    assert total["bh"] == multipletests(tests["pvalue"], method="fdr_bh")[0].sum()


def test_verdicts_follow_the_numbers(report):
    _, result = report
    verdicts = {r["finding"]: r["verdict"] for r in result["findings"]}

    def find(start):
        (verdict,) = [v for k, v in verdicts.items() if k.startswith(start)]
        return verdict

    assert find(f"{RHO}(AULC, entropy) > 0 in every condition") == "holds"
    assert find(f"{RHO} inside the paper's range") == "does NOT hold"  # synthetic rho is far above 0.43
    assert find("roberta-base LoRA r4 SNLI") == "does NOT hold"
    rows = result["tables"]["unlearning"]["rows"]
    lora = [r["contested"] for r in rows if r["method"] == "lora" and r["clean"] <= -0.1]  # those that learned
    expected = "holds" if all(c > 0 for c in lora) else "does NOT hold"
    assert find("contested items un-learn under LoRA") == expected and len(lora) == 7
    assert find("… and not under full fine-tuning") == "holds"
    assert find("decoders correlate more") == "not tested here"
    assert find(f"{RHO} > 0 on every dataset") == "holds"  # alphaNLI beside SNLI
    assert find("noise raises the clean items' AULC") == "holds"
    assert find(f"{RHO} falls as the rank grows") == "not tested here"
    assert find("… and not under IA3") == "holds"  # nothing planted
    assert find(f"{RHO}(threshold learning time, entropy) stays positive") in ("holds", "does NOT hold")
    for ablation in ("whichever entropy bucket", "when the ChaosNLI items train on soft labels", "on alphaNLI"):
        assert find(f"{RHO}(AULC, entropy) > 0 {ablation}") == "holds"  # built in: entropy slows learning
    rows = {r["finding"]: r for r in result["findings"]}
    (alphanli,) = [r for k, r in rows.items() if k.endswith("on alphaNLI (two classes)")]
    assert alphanli["here"].startswith("chaosnli-alphanli: ")


def test_un_learning_is_judged_only_where_the_model_learned():
    from loradyn.report.study1.verdicts import _unlearning

    claims = {k: "" for k in ("unlearning_lora", "unlearning_full", "unlearning_ia3")}
    data = pd.DataFrame(
        {
            "base": ["m, d", "m, d", "m, e"],
            "method": ["lora", "full", "lora"],
            "clean": [-0.02, -0.3, -0.5],  # the first stayed near its start: not judged
            "contested": [0.01, -0.2, -0.1],
        }
    )
    verdicts = {r["finding"][:30]: r for r in _unlearning(data, claims)}
    lora = verdicts["contested items un-learn under"]
    assert lora["verdict"] == "does NOT hold" and "0 of 1 LoRA conditions that learned" in lora["here"]
    assert "1 of 2 did not learn" in lora["here"]
    only = _unlearning(data.iloc[:1], claims)[0]
    assert only["verdict"] == "not tested here" and only["here"].startswith("not judged: 1 of 1 did not learn")


def test_the_authors_partial_correlation_and_both_regressions_match_the_runs(report):
    root, result = report
    name, label = "lora-r4", LABELS["lora-r4"]
    first = json.loads((root / f"{name}__s42" / "stats.json").read_text())
    row = _row(result, "authors_partial", label)
    assert row["seed"] == 42 and row["n_learned"] == first["authors_partial"]["n"]
    assert row["rho"] == pytest.approx(first["authors_partial"]["spearman"]["estimate"])
    assert row["partial_label_skewness"] == pytest.approx(
        first["authors_partial"]["partial"]["label_skewness"]["estimate"]
    )
    fits = [json.loads((root / r / "stats.json").read_text()) for r in _condition_runs(name)]
    row = _row(result, "regression", label)
    for key, prefix in (
        ("hierarchical_regression_aulc_probe_map", "probe"),
        ("hierarchical_regression_aulc", "training"),
    ):
        assert row[f"{prefix}_r2_map"] == pytest.approx(np.mean([f[key]["r2_base"] for f in fits]))
        assert row[f"{prefix}_delta_r2"] == pytest.approx(np.mean([f[key]["delta_r2"] for f in fits]))
    assert row["probe_r2_map"] > row["training_r2_map"]  # the probe map is what AULC is made of


def test_the_interactive_map_escapes_text_and_draws_every_tracked_example(report):
    root, result = report
    assert result["map_run"] == "lora-r4__s42"
    page = (root / "report.html").read_text()
    assert page.count("<circle cx=") == len(_metrics(root, "lora-r4__s42"))
    assert "window.pwned" in page and "</script><script>window.pwned" not in page
    payload = re.search(r'<script type="application/json" id="datamap-data">(.*?)</script>', page, re.S).group(1)
    columns = json.loads(payload)  # one array per field
    assert columns["premise"][0].startswith(TRICKY) and columns["hypothesis"][0] == "a plain hypothesis"
    assert len(payload.encode()) < 450 * len(columns["id"])  # compact: no key repeated per point, short numbers


def test_the_command_line_reports_and_refuses_to_mix_families(report, tmp_path):
    root, _ = report
    out = tmp_path / "pages"
    result = CliRunner().invoke(app, ["report", str(root), "--out", str(out), "--json", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "warning: logs: no run.json" in result.output
    payload = json.loads(result.output[result.output.index("{") :])
    assert payload["options"] == {"n_resamples": N_RESAMPLES, "seed": 0}  # as the runs were analysed
    assert {p.name for p in out.iterdir()} == {"report.md", "report.html", "tables.tex", "report-figures"}
    copy = tmp_path / "grown"
    shutil.copytree(root, copy)
    write_synthetic_run(copy / "another", n_items=50, seed=5, config={**BASE, "model": "bert-base-uncased"})
    refused = CliRunner().invoke(app, ["report", str(copy), "--workers", "1"])
    assert refused.exit_code == 2 and "--force" in refused.output
    forced = CliRunner().invoke(app, ["report", str(copy), "--workers", "1", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "bert-base-uncased" in (copy / "report.md").read_text()


def test_a_real_run_feeds_the_map_with_its_examples(data_dir, tmp_path):
    sweep = tmp_path / "sweep"
    train(small(data_dir, epochs=1, record_probs=True), sweep / "minilm-r4", show_progress=False)
    result = write_report(sweep, n_resamples=200, workers=1, data_dir=data_dir)
    page = (sweep / "report.html").read_text()
    metrics = _metrics(sweep, "minilm-r4")
    assert page.count("<circle cx=") == len(metrics) == 32
    assert "the run's `examples.parquet`" in result["map_note"] and "probe checkpoints" in page  # one epoch
    payload = re.search(r'<script type="application/json" id="datamap-data">(.*?)</script>', page, re.S).group(1)
    columns = json.loads(payload)
    chaos = load_examples("chaosnli-snli", data_dir=data_dir).frame.set_index("example_id")
    for i, example_id in enumerate(columns["id"][:5]):
        assert columns["premise"][i] == chaos.loc[example_id, "premise"]
        assert columns["hypothesis"][i] == chaos.loc[example_id, "hypothesis"]
        votes = {k: chaos.loc[example_id, f"votes_{k}"] for k in ("entailment", "neutral", "contradiction")}
        assert {k: v[i] for k, v in columns["votes"].items()} == votes and sum(votes.values()) == 100
    assert {"table1", "unlearning", "controls", "accuracy"} <= set(result["tables"])
    assert (sweep / "report-figures" / "calibration.png").is_file()


def test_a_sweep_without_annotations_reports_what_it_has(tmp_path):
    for seed in SEEDS:
        d = write_synthetic_run(
            tmp_path / f"agnews__s{seed}",
            n_items=40,
            n_checkpoints=6,
            seed=seed,
            config={"model": "distilbert-base-uncased", "dataset": "ag-news"},
        )
        examples = pd.read_parquet(d / "examples.parquet").drop(columns=["entropy", "category"])
        examples.to_parquet(d / "examples.parquet", index=False)
    (tmp_path / "report-figures").mkdir()
    (tmp_path / "report-figures" / "loss_curves.png").write_bytes(b"from an earlier report")
    plan = {"name": "agnews", "runs": [{"name": f"agnews__s{seed}"} for seed in (*SEEDS, 456)]}  # one still to run
    (tmp_path / "sweep.json").write_text(json.dumps(plan))
    result = write_report(tmp_path, n_resamples=100, workers=1)
    assert result["planned"] == 3 and len(result["runs"]) == 2
    assert "**2 of the 3 planned runs** (the sweep's `sweep.json`) are complete" in (tmp_path / "report.md").read_text()
    assert set(result["tables"]) == {"accuracy", "multiple_testing"}
    assert not (tmp_path / "report-figures" / "loss_curves.png").exists()  # not left to mislead
    assert {r["verdict"] for r in result["findings"]} == {"not tested here"}
    markdown = (tmp_path / "report.md").read_text()
    assert "Not tested here: no run has annotation entropy." in markdown
    assert "Not drawn: no run has annotation entropy." in markdown


def test_the_gradient_tables_match_the_run_files(report):
    root, result = report
    cosine = result["tables"]["gradient_cosine"]["rows"]
    norms = result["tables"]["gradient_norms"]["rows"]
    assert [r["run"] for r in cosine] == [r["run"] for r in norms] == _condition_runs("lora-r4")
    for row, name in zip(norms, _condition_runs("lora-r4"), strict=True):
        merged = pd.read_parquet(root / name / "gradient_norms.parquet").merge(_metrics(root, name), on="example_id")
        groups = [merged.loc[merged["category"] == c, "grad_norm"] for c in ("clean", "ambiguous", "contested")]
        kruskal = stats.kruskal(*groups)
        assert row["kruskal_h"] == pytest.approx(kruskal.statistic) and row["kruskal_p"] == pytest.approx(
            kruskal.pvalue
        )
        assert row["spearman_rho"] == pytest.approx(stats.spearmanr(merged["grad_norm"], merged["entropy"])[0])
        assert row["by_category"]["contested"]["sd"] == pytest.approx(groups[2].std(ddof=0))
        assert row["spearman_rho"] > 0.5
    for row in cosine:
        history = json.loads((root / row["run"] / "run.json").read_text())["gradient_cosine"]
        assert row["first"] == history[0]["cosine"] and row["last"] == history[-1]["cosine"]
        assert row["trend_rho"] == pytest.approx(
            stats.spearmanr([h["step"] for h in history], [h["cosine"] for h in history])[0]
        )
    markdown = (root / "report.md").read_text()
    assert "## Gradients" in markdown and "Kruskal\N{EN DASH}Wallis H" in markdown


def test_a_learning_rate_set_per_adapter_names_the_adapter_and_keeps_the_model_together():
    """paper1-cpu-adapters: IA3 at two learning rates beside LoRA and full fine-tuning, each at its own. The lr tells
    the IA3 conditions apart, so it names every adapter; the model and data stay one base, so the un-learning
    table keeps them on one row and LoRA is compared with full fine-tuning (it found "no model with both")."""
    from loradyn.report.study1.runs import SweepRun, adapter_groups, describe_conditions

    adapters = [
        {"method": "ia3", "lr": 0.03},
        {"method": "ia3", "lr": 0.1},
        {"method": "lora", "rank": 4, "lr": 0.003},
        {"method": "full", "lr": 1e-4},
    ]
    configs = [{**BASE, **a} for a in adapters]
    runs = [[SweepRun(f"c{i}", None, {"config": {**c, "seed": 42}}, None, {})] for i, c in enumerate(configs)]
    conditions = describe_conditions([{"condition": c} for c in configs], runs)
    assert [c.label for c in conditions] == [
        "roberta-base, chaosnli-snli, LoRA r4 lr=0.003",
        "roberta-base, chaosnli-snli, IA3 lr=0.03",
        "roberta-base, chaosnli-snli, IA3 lr=0.1",
        "roberta-base, chaosnli-snli, full FT lr=0.0001",
    ]
    assert list(adapter_groups(conditions)) == ["roberta-base, chaosnli-snli"]
    # one lr per adapter (paper1-cpu-ablations): the lr tells no two conditions of one adapter apart, names nothing
    plain = describe_conditions([{"condition": c} for c in configs[1:]], runs[1:])
    assert [c.label for c in plain] == [
        "roberta-base, chaosnli-snli, LoRA r4",
        "roberta-base, chaosnli-snli, IA3",
        "roberta-base, chaosnli-snli, full FT",
    ]


def test_every_committed_report_page_stays_under_one_megabyte():
    """The committed pages of docs/results/ (an interactive map included) are small enough to keep in git."""
    pages = {page.parent.name: page.stat().st_size for page in (REPO / "docs" / "results").glob("*/report.html")}
    assert {"paper1-cpu", "paper1-cpu-ablations"} <= set(pages)
    assert max(pages.values()) < 1_000_000, pages
