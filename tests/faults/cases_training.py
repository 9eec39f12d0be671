"""Bad input to `loradyn train`, `loradyn demo`, `loradyn ract` and `loradyn sweep`: overrides, configuration and sweep
files, and run directories that are not what they seem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from catalogue import (
    CSV,
    SMOKE,
    TINY,
    Case,
    Maker,
    folder,
    train_json,
)

from loradyn.io import dumps

TRAIN_OUT = ("--out", "{tmp}/run", "--data-dir", "{data}", "--quiet")


def train(name: str, what: str, sets: tuple[str, ...], words: tuple[str, ...], **case: Any) -> Case:
    args = ["train", case.pop("config", SMOKE), *case.pop("out", TRAIN_OUT)]
    for item in (*TINY, *sets):
        args += ["--set", item]
    return Case("train", name, what, tuple(args), words, **case)


#: Nine anchors, each a list of ten aliases of the one before: a few hundred bytes that stand for 10^9 values.
ALIAS_BOMB = (
    "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
    + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
    + "{key}: *i\n"
)
#: A list nested 5,000 deep.
DEEP = "x: " + "[" * 5000 + "]" * 5000 + "\n"


def config_file(name: str, what: str, text: str | bytes, words: tuple[str, ...], **case: Any) -> Case:
    return train(name, what, (), ("{tmp}/c.yaml", *words), config="{tmp}/c.yaml", files={"c.yaml": text}, **case)


TRAIN = [
    train("rank-four", "--set rank=four", ("rank=four",), ("field '--set rank'", "rank must be int, got 'four'")),
    train("rank-fraction", "--set rank=4.5", ("rank=4.5",), ("field '--set rank'", "rank must be int, got 4.5")),
    train("seed-text", "--set seed=abc", ("seed=abc",), ("field '--set seed'", "seed must be int")),
    train("value-bad-yaml", "--set rank=[4 (malformed YAML)", ("rank=[4",), ("field '--set rank'", "not valid YAML")),
    train("epochs-fraction", "--set epochs=1.5", ("epochs=1.5",), ("field '--set epochs'", "epochs must be int")),
    train(
        "batch-fraction",
        "--set batch_size=2.5",
        ("batch_size=2.5",),
        ("field '--set batch_size'", "batch_size must be int, got 2.5"),
    ),
    train(
        "targets-text",
        "--set targets=query (not a list)",
        ("targets=query",),
        ("field '--set targets'", "targets must be list[str] | null, got 'query'"),
    ),
    train(
        "cache-trunk-dropout",
        "--set cache_trunk=true with dropout on (each presentation differs, so a cache would change the training)",
        ("cache_trunk=true",),
        ("cache_trunk reuses a frozen encoder's output, so it needs disable_dropout: true",),
    ),
    train(
        "cache-trunk-encoder-trains",
        "--set cache_trunk=true with LoRA on the encoder's query/value (its output changes every step)",
        ("cache_trunk=true", "disable_dropout=true"),
        ("field 'cache_trunk'", "cache_trunk needs a frozen encoder", "targets: [pooler.dense]"),
    ),
    train("max-length-one", "--set max_length=1", ("max_length=1",), ("max_length must be at least 8 tokens",)),
    train(
        "grad-norm-negative",
        "--set max_grad_norm=-1 (gradient ascent)",
        ("max_grad_norm=-1",),
        ("max_grad_norm must be a positive clipping norm",),
    ),
    train(
        "lr-floor-negative",
        "--set lr_floor=-2 (a negative learning rate)",
        ("lr_floor=-2",),
        ("lr_floor must be a share of the peak learning rate",),
    ),
    train(
        "weight-decay-negative",
        "--set weight_decay=-0.1",
        ("weight_decay=-0.1",),
        ("weight_decay must be zero or positive",),
    ),
    train("warmup-negative", "--set warmup_ratio=-1", ("warmup_ratio=-1",), ("warmup_ratio must be a share",)),
    # every float field is finite: one check over RunConfig's fields, not one per field
    *(
        train(
            f"{name.replace('_', '-')}-{word}",
            f"--set {name}={text}",
            (f"{name}={text}",),
            (f"field '--set {name}'", f"{name} must be a finite number, got {word}"),
        )
        for name, text, word in (
            ("lr", ".inf", "inf"),
            ("weight_decay", ".inf", "inf"),
            ("lr_floor", ".nan", "nan"),
            ("lora_dropout", ".nan", "nan"),
            ("warmup_ratio", ".nan", "nan"),
            ("max_grad_norm", "-.inf", "-inf"),
            ("downweight", ".nan", "nan"),
        )
    ),
    # every integer field is below 2^31 (beyond, C++ code overflows with a traceback)
    train(
        "rank-huge",
        "--set rank=99999999999999999999",
        ("rank=99999999999999999999",),
        ("field '--set rank'", "rank must be below 2,147,483,648 in size"),
    ),
    train(
        "epochs-huge",
        "--set epochs=1e30 as an integer",
        ("epochs=10000000000000",),
        ("field '--set epochs'", "epochs must be below"),
    ),
    train(
        "tracked-ids-empty",
        "--set tracked_ids=[] (was a traceback)",
        ("tracked_ids=[]",),
        ("field '--set tracked_ids'", "must list at least one item"),
    ),
    train(
        "targets-empty", "--set targets=[]", ("targets=[]",), ("field '--set targets'", "must list at least one item")
    ),
    train(
        "seed-negative", "--set seed=-1", ("seed=-1",), ("field '--set seed'", "seed must be zero or positive, got -1")
    ),
    train(
        "noise-seed-negative",
        "--set noise_seed=-3",
        ("noise_seed=-3",),
        ("field '--set noise_seed'", "noise_seed must be zero or positive"),
    ),
    train(
        "bulk-seed-word",
        "--set bulk_seed=each",
        ("bulk_seed=each",),
        ("field '--set bulk_seed'", "bulk_seed must be an integer or 'per-seed'"),
    ),
    train(
        "set-alias-bomb",
        "--set tracked_ids= an alias bomb of 10^9 values",
        ("tracked_ids={" + ALIAS_BOMB.format(key="x").strip().replace("\n", ", ") + "}",),
        ("field '--set tracked_ids'", "expands to more than 100,000 values"),
    ),
    train(
        "rank-above-layers",
        "--set rank=100000 (was accepted, then exhausted memory after minutes)",
        ("rank=100000",),
        ("field 'rank'", "rank 100,000 exceeds the adapted layers' smaller dimension, 384"),
    ),
    # bad input found while the data are composed is bad input too (it was an "unexpected error" once only a
    # DataError counted as one)
    train(
        "n-bulk-above-split",
        "--set n_bulk=999999 with ag-news' 5,000 items",
        ("n_bulk=999999", "n_tracked=null"),
        ("field 'n_bulk'", "n_bulk=999999 but", "only 5000 are available"),
    ),
    train(
        "buckets-without-votes",
        "train_categories with ag-news, which has no annotator votes",
        ("train_categories=[clean]",),
        ("field 'train_categories'", "train_categories needs annotated items"),
    ),
    train("rank-zero", "--set rank=0", ("rank=0",), ("field '--set rank'", "rank must be a positive integer")),
    train("rank-negative", "--set rank=-4", ("rank=-4",), ("rank must be a positive integer, got -4",)),
    train(
        "data-dir-twice",
        "--data-dir beside --set data_dir (one of them was ignored)",
        ("data_dir=/elsewhere",),
        ("field '--data-dir'", "--data-dir and --set data_dir both say where the data are"),
    ),
    train("alpha-with-ia3", "alpha with method ia3", ("method=ia3", "alpha=8"), ("alpha applies to LoRA only",)),
    # one rule for the fields a method does not read (they were accepted silently, alpha alone refused)
    *(
        train(
            f"{name.replace('_', '-')}-with-{method}",
            f"{name} with method {method}",
            (f"method={method}", f"{name}={value}"),
            (f"field '--set {name}'", f"{name} applies to {who} only, not to method='{method}'"),
        )
        for name, value, method, who in (
            ("rank", "4", "ia3", "LoRA"),
            ("rank", "4", "full", "LoRA"),
            ("alpha", "8", "full", "LoRA"),
            ("lora_dropout", "0.1", "ia3", "LoRA"),
            ("lora_dropout", "0.1", "full", "LoRA"),
            ("targets", "[query]", "full", "LoRA and IA3"),
            ("feedforward_modules", "[intermediate.dense]", "lora", "IA3"),
        )
    ),
    train("fp16-on-cpu", "precision fp16 without a GPU", ("precision=fp16",), ("fp16' needs a CUDA device",)),
    train(
        "targets-not-in-model",
        "LoRA targets the model does not have",
        ("targets=[q_proj, v_proj]",),
        ("field 'targets'", "target modules ['q_proj', 'v_proj'] are not in the model"),
    ),
    train("lr-zero", "--set lr=0", ("lr=0",), ("lr must be a positive learning rate",)),
    train("lr-text", "--set lr=abc", ("lr=abc",), ("lr must be float, got 'abc'",)),
    train("noise-rate-two", "--set noise_rate=2", ("noise_rate=2",), ("noise_rate must be in [0, 1)",)),
    train("n-bulk-negative", "--set n_bulk=-5", ("n_bulk=-5",), ("field '--set n_bulk'", "positive number of items")),
    train("n-tracked-zero", "--set n_tracked=0", ("n_tracked=0",), ("field '--set n_tracked'", "positive number")),
    train(
        "bulk-unknown",
        "--set bulk=imagenet (was ignored)",
        ("bulk=imagenet",),
        ("bulk must be one of snli, mnli, ag-news",),
    ),
    train(
        "bulk-with-standard",
        "bulk with a standard dataset (was ignored)",
        ("bulk=snli",),
        ("field '--set bulk'", "ag-news trains on its own items"),
    ),
    train("set-empty-key", "--set =4", ("=4",), ("field '--set'", "expects key=value, got '=4'")),
    train("set-no-equals", "--set rank", ("rank",), ("field '--set'", "expects key=value, got 'rank'")),
    train("unknown-field", "--set colour=blue", ("colour=blue",), ("field '--set colour'", "unknown field(s) colour")),
    train(
        "mapping-bool",
        "data_mapping count_fields: yes (YAML's true)",
        ("data_mapping={count_fields: yes}",),
        ("data_mapping count_fields must be list[str] | null, got True",),
    ),
    train(
        "mapping-unknown-key",
        "data_mapping with an unknown key",
        ("data_mapping={colour: 1}",),
        ("data_mapping has an unknown key 'colour'",),
    ),
    train(
        "asymmetric-no-map",
        "asymmetric noise without noise_class_map",
        ("noise_rate=0.3", "noise_kind=asymmetric"),
        ("noise_class_map is needed",),
    ),
    train(
        "noisy-without-noise", "record_labels=noisy without noise", ("record_labels=noisy",), ("needs noise_rate > 0",)
    ),
    train("method-unknown", "method=adalora", ("method=adalora",), ("method must be one of lora, ia3, full",)),
    train("precision-unknown", "precision=fp8", ("precision=fp8",), ("precision must be one of",)),
    train(
        "grad-accum-over-batch",
        "grad_accum above batch_size",
        ("batch_size=3", "grad_accum=4"),
        ("grad_accum 4 exceeds batch_size 3",),
    ),
    train("folds-alone", "folds without fold", ("folds=2",), ("folds and fold go together",)),
    train(
        "tracker-unknown",
        "report_to=[mlflow]",
        ("report_to=[mlflow]",),
        ("field '--set report_to'", "report_to takes tensorboard, wandb; got mlflow"),
    ),
    train(
        "tracker-text",
        "report_to=tensorboard (not a list)",
        ("report_to=tensorboard",),
        ("report_to must be list[str] | null, got 'tensorboard'",),
    ),
    train(
        "revision-of-an-alias",
        "model_revision for the minilm alias (a local model)",
        ("model_revision=v1",),
        ("field 'model_revision'", "pins a hub id's files, and 'minilm' is a local alias", "drop model_revision"),
    ),
    train(
        "soft-labels-without-votes",
        "soft_labels on AG News (no annotator votes)",
        ("soft_labels=true",),
        ("field '--set soft_labels'", "soft_labels needs annotator votes, and ag-news has none"),
    ),
    train(
        "gradient-cosine-without-categories",
        "gradient_cosine on AG News (no clean or contested items)",
        ("gradient_cosine=true",),
        ("field 'gradient_cosine'", "compares the clean and the contested tracked items", "drop gradient_cosine"),
    ),
    train(
        "category-unknown",
        "train_categories=[dirty]",
        ("train_categories=[dirty]",),
        ("train_categories must be among clean, ambiguous, contested",),
    ),
    train(
        "exclude-unknown-id",
        "exclude_ids naming no training example",
        ("exclude_ids=[nope]",),
        ("field 'exclude_ids'", "1 id(s) are not training examples"),
    ),
    train(
        "tracked-unknown-id",
        "tracked_ids naming no training example",
        ("tracked_ids=[4718146904.jpg#2r1n, not-an-id]", "n_tracked=all"),
        ("field 'tracked_ids'", "2 id(s) are not training examples"),
    ),
    train(
        "too-many-tracked",
        "n_tracked above the items there are",
        ("n_tracked=5000",),
        ("n_tracked=5000 but only 16 are available",),
    ),
    train(
        "dataset-unmapped-file",
        "a user file as dataset without data_mapping",
        ("dataset={tmp}/v.csv",),
        ("{tmp}/v.csv", "needs its annotations mapped"),
        files={"v.csv": CSV},
    ),
    train(
        "dataset-one-item",
        "a user file of one item (a traceback named no field)",
        ("dataset={tmp}/v.csv", "data_mapping={text_fields: [text], count_fields: ['yes', 'no'], id_field: id}"),
        ("{tmp}/v.csv",),
        files={"v.csv": CSV},
    ),
    train(
        "dataset-unknown", "dataset=imagenet", ("dataset=imagenet",), ("field 'dataset'", "unknown dataset 'imagenet'")
    ),
    train(
        "model-unknown",
        "an unknown model, offline",
        ("model=no-such-model-anywhere",),
        ("field 'model'", "unknown model 'no-such-model-anywhere'"),
    ),
    train(
        "config-missing",
        "a configuration file that does not exist",
        (),
        ("{tmp}/c.yaml", "configuration file not found"),
        config="{tmp}/c.yaml",
    ),
    config_file("config-malformed", "malformed YAML", "model: minilm\nrank: [4\n", (":3", "malformed YAML")),
    config_file(
        "config-alias-bomb",
        "tracked_ids: an alias bomb of 10^9 values in 451 bytes",
        ALIAS_BOMB.format(key="tracked_ids"),
        ("expands to more than 100,000 values",),
    ),
    config_file("config-nested-deep", "a list nested 5,000 deep", DEEP, ("the YAML is nested too deeply",)),
    config_file(
        "config-alias-of-itself",
        "tracked_ids: &a [*a] (an alias inside its own anchor)",
        "tracked_ids: &a [x, *a]\n",
        ("expands to more than 100,000 values",),
    ),
    config_file(
        "config-duplicate-key",
        "a YAML key given twice",
        "rank: 4\nrank: 8\n",
        (":2", "field 'rank'", "the key 'rank' is given twice (lines 1 and 2)"),
    ),
    config_file("config-binary", "a binary configuration file", b"\xff\xfe\x00rank", (":1", "not UTF-8 text")),
    config_file(
        "config-list", "a configuration that is a list", "- rank: 4\n", ("expected a mapping of field: value",)
    ),
    config_file(
        "config-null",
        "rank: null",
        "dataset: ag-news\nrank: null\n",
        (":2", "field 'rank'", "rank must be int, got None"),
    ),
    config_file("config-tab", "a tab in the YAML", "rank:\t4\n", (":1", "malformed YAML")),
    config_file(
        "config-python-tag",
        "a YAML tag that would run code (never constructed)",
        "rank: !!python/object/apply:os.system ['echo pwned']\n",
        (":1", "malformed YAML", "could not determine a constructor"),
    ),
    config_file(
        "config-unknown-field",
        "an unknown field in the file",
        "dataset: ag-news\nlearning_rate: 0.1\n",
        (":2", "field 'learning_rate'", "unknown field(s) learning_rate"),
    ),
    train(
        "config-folder",
        "a folder as the configuration",
        (),
        ("{tmp}/c.yaml", "is a folder, not a YAML file"),
        config="{tmp}/c.yaml",
        make=(folder("c.yaml"),),
    ),
    train(
        "out-is-file",
        "--out that is a file",
        (),
        ("{tmp}/run", "is a file where an output folder goes"),
        files={"run": "a file"},
    ),
    train(
        "out-run-json-list",
        "--out whose run.json is a list",
        (),
        ("{tmp}/run/run.json", "field 'config'", "run.json has no config mapping"),
        files={"run/run.json": "[1, 2]"},
    ),
    train(
        "out-run-json-no-config",
        "--out whose run.json has no config",
        (),
        ("{tmp}/run/run.json", "run.json has no config mapping"),
        files={"run/run.json": '{"status": "running"}'},
    ),
    train(
        "out-run-json-invalid",
        "--out whose run.json is not JSON",
        (),
        ("{tmp}/run/run.json:1", "malformed JSON"),
        files={"run/run.json": '{"status": '},
    ),
    train(
        "out-run-json-folder",
        "--out whose run.json is a folder",
        (),
        ("{tmp}/run/run.json", "is a folder where an output file goes"),
        make=(folder("run/run.json"),),
    ),
    train(
        "out-foreign-folder",
        "--out that holds other files",
        (),
        ("{tmp}/run", "not a loradyn run directory, and not empty"),
        files={"run/notes.txt": "mine"},
    ),
    train(
        "out-complete",
        "--out holding a complete run",
        (),
        ("{tmp}/run", "this run is already complete", "--force"),
        make=(train_json("run", "complete"),),
    ),
    train(
        "out-other-config",
        "--out holding an unfinished run of another configuration",
        (),
        ("{tmp}/run/run.json", "cannot resume: the configuration differs in rank"),
        make=(train_json("run", "running", rank=8),),
    ),
    Case(
        "train",
        "demo-foreign-run-json",
        "demo --out over a foreign run.json",
        ("demo", "--out", "{tmp}/demo", "--data-dir", "{data}"),
        ("{tmp}/demo/run.json", "run.json has no config mapping"),
        {"demo/run.json": '{"hello": 1}'},
    ),
    Case(
        "train",
        "demo-run-json-list",
        "demo --out over a run.json that is a list",
        ("demo", "--out", "{tmp}/demo", "--data-dir", "{data}"),
        ("{tmp}/demo/run.json", "run.json has no config mapping"),
        {"demo/run.json": "[1]"},
    ),
    Case(
        "train",
        "demo-run-json-invalid",
        "demo --out over a run.json that is not JSON",
        ("demo", "--out", "{tmp}/demo", "--data-dir", "{data}"),
        ("{tmp}/demo/run.json:1", "malformed JSON"),
        {"demo/run.json": "{bad"},
    ),
]


def ract(name: str, what: str, text: str, words: tuple[str, ...], *sets: str) -> Case:
    args = ["ract", "{tmp}/r.yaml", "--out", "{tmp}/out"]
    for item in sets:
        args += ["--set", item]
    return Case("ract", name, what, tuple(args), words, {"r.yaml": text})


RACT = [
    Case(
        "ract",
        "config-missing",
        "a RACT configuration that does not exist",
        ("ract", "{tmp}/r.yaml", "--out", "{tmp}/out"),
        ("{tmp}/r.yaml", "configuration file not found"),
    ),
    ract(
        "ranks-backwards",
        "low_rank above high_rank",
        "low_rank: 16\nhigh_rank: 4\n",
        ("{tmp}/r.yaml:1", "field 'low_rank'", "low_rank 16 is above high_rank 4"),
    ),
    ract("rank-set", "rank in a RACT configuration", "rank: 4\n", ("{tmp}/r.yaml:1", "field 'rank'", "RACT sets rank")),
    ract("threshold-unknown", "threshold: magic", "threshold: magic\n", ("{tmp}/r.yaml:1", "field 'threshold'")),
    ract("low-rank-text", "low_rank: four", "low_rank: four\n", ("{tmp}/r.yaml:1", "expected a positive integer")),
    ract(
        "set-bad-yaml",
        "--set low_rank=[ (malformed YAML)",
        "epochs: 1\n",
        ("field '--set low_rank'", "not valid YAML"),
        "low_rank=[",
    ),
    ract(
        "set-batch-fraction",
        "--set batch_size=2.5",
        "epochs: 1\n",
        ("field 'batch_size'", "must be int, got 2.5"),
        "batch_size=2.5",
    ),
    ract("set-no-equals", "--set nonsense", "epochs: 1\n", ("field '--set'", "expects key=value"), "nonsense"),
    Case(
        "ract",
        "executor-unknown",
        "--executor kubernetes",
        ("ract", "{tmp}/r.yaml", "--out", "{tmp}/out", "--executor", "kubernetes"),
        ("field '--executor'", "executor must be one of local, ray, slurm, got 'kubernetes'"),
        {"r.yaml": "epochs: 1\n"},
    ),
    Case(
        "ract",
        "jobs-zero",
        "--jobs 0",
        ("ract", "{tmp}/r.yaml", "--out", "{tmp}/out", "--jobs", "0"),
        ("field '--jobs'", "jobs must be a positive integer, got 0"),
        {"r.yaml": "epochs: 1\n"},
    ),
    ract("duplicate-key", "a key given twice", "epochs: 1\nepochs: 2\n", ("{tmp}/r.yaml:2", "given twice")),
    ract("list", "a configuration that is a list", "- 1\n", ("{tmp}/r.yaml", "expected a mapping")),
    ract(
        "grid-repeats",
        "a grid noise rate listed twice",
        "grid: {noise_rate: [0.1, 0.1]}\n",
        ("{tmp}/r.yaml", "field 'noise_rate'", "distinct values"),
    ),
    ract(
        "grid-rate-two",
        "a grid noise rate of 2",
        "grid: {noise_rate: [2]}\n",
        ("{tmp}/r.yaml:1", "noise_rate must be in [0, 1)"),
    ),
    ract("unknown-field", "an unknown field", "learning_rate: 0.1\n", ("{tmp}/r.yaml:1", "field 'learning_rate'")),
    ract("window-backwards", "window: [0.9, 0.5]", "window: [0.9, 0.5]\n", ("{tmp}/r.yaml:1", "field 'window'")),
    ract(
        "rank-curve-list",
        "rank_curve given as a list of ranks",
        "rank_curve: [1, 4, 16]\n",
        ("{tmp}/r.yaml:1", "field 'rank_curve'", "expected a mapping of rank, noise_rate"),
    ),
    ract(
        "rank-curve-zero",
        "a rank curve with rank 0",
        "rank_curve: {rank: [0, 4], noise_rate: [0.2]}\n",
        ("{tmp}/r.yaml:1", "field 'rank_curve'", "ranks must be positive integers"),
    ),
    ract(
        "rank-curve-rate",
        "a rank curve at noise rate 1",
        "rank_curve: {rank: [4], noise_rate: [1.0]}\n",
        ("{tmp}/r.yaml:1", "noise rates must lie in [0, 1)"),
    ),
    ract(
        "rank-curve-seed",
        "a rank curve with a negative seed",
        "rank_curve: {rank: [4], noise_rate: [0.2], seed: [-3]}\n",
        ("{tmp}/r.yaml:1", "seeds must be non-negative integers"),
    ),
    ract(
        "retrain-low-text",
        "retrain_low: sometimes",
        "retrain_low: sometimes\n",
        ("{tmp}/r.yaml:1", "field 'retrain_low'"),
    ),
]


def sweep(name: str, what: str, text: str | bytes, words: tuple[str, ...], *options: str, **case: Any) -> Case:
    """A sweep file ``{tmp}/s.yaml`` holding ``text``, run with ``options`` (default: --dry-run)."""
    args = ("sweep", "{tmp}/s.yaml", *(options or ("--dry-run",)))
    return Case("sweep", name, what, args, words, {"s.yaml": text, **case.pop("files", {})}, **case)


def _forced_run(out: str, **changes: Any) -> Maker:
    """The sweep file's first run, complete in ``out`` but trained with ``changes`` (``loradyn train --force``)."""

    def make(root: Path, data: Path) -> None:
        from loradyn.experiments.sweep import load_sweep

        sweep = load_sweep(root / "s.yaml")
        planned = sweep.runs[0]
        config = json.loads(dumps(planned.config.to_dict() | changes))
        (root / out / planned.name).mkdir(parents=True)
        (root / out / "sweep.json").write_text(dumps(sweep.plan()))
        run = {"run_id": planned.name, "status": "complete", "config": config}
        (root / out / planned.name / "run.json").write_text(json.dumps(run))

    return make


GOOD_SWEEP = "base: {epochs: 1, n_bulk: 16, n_tracked: 8, n_validation: 8, max_length: 48, dataset: ag-news}\n"
SWEEP = [
    sweep("binary", "a binary sweep file", b"\xff\xfe\x00", ("{tmp}/s.yaml:1", "not UTF-8 text")),
    sweep("list", "a sweep file that is a list", "- 1\n- 2\n", ("{tmp}/s.yaml", "expected a mapping, got [1, 2]")),
    sweep("empty", "an empty sweep file", "", ("{tmp}/s.yaml", "the sweep file is empty")),
    sweep("seed-twice", "a seed listed twice", "seeds: [1, 1]\n", ("{tmp}/s.yaml:1", "a seed is listed twice")),
    sweep("seed-text", "a seed that is text", "seeds: [one]\n", ("{tmp}/s.yaml:1", "integer seeds")),
    sweep("seed-negative", "a negative seed", "seeds: [42, -1]\n", ("{tmp}/s.yaml:1", "zero or positive, got [-1]")),
    sweep(
        "override-renames",
        "an override that changes an axis value (rank 4 trained as 16 under the name r4)",
        "grid:\n  - rank: [4, 16]\noverrides:\n  - when: {rank: 4}\n    set: {rank: 16}\n",
        ("{tmp}/s.yaml:2", "run s42 appears twice"),
    ),
    sweep(
        "mapping-order-twins",
        "{method: lora, rank: 4} and {rank: 4, method: lora}: two runs that train identically",
        "grid:\n  - adapter: [{method: lora, rank: 4}, {rank: 4, method: lora}]\n",
        ("{tmp}/s.yaml:2", "runs lora-r4__s42 and r4-lora__s42 would train identically"),
    ),
    sweep(
        "full-by-rank-twins",
        "method: full x rank [4, 16]: rank does nothing for full fine-tuning",
        "base: {method: full}\ngrid:\n  - rank: [4, 16]\n",
        ("{tmp}/s.yaml:3", "field 'rank'", "rank applies to LoRA only, not to method='full'"),
    ),
    sweep(
        "seeds-alias-bomb",
        "seeds: an alias bomb of 10^9 values (451 bytes)",
        ALIAS_BOMB.format(key="seeds"),
        ("{tmp}/s.yaml", "the YAML expands to more than 100,000 values"),
    ),
    sweep(
        "base-list", "base that is a list", "base: [1]\n", ("{tmp}/s.yaml:1", "expected a mapping, got [1] (in base)")
    ),
    sweep(
        "batch-fraction",
        "batch_size 2.5",
        "base: {batch_size: 2.5}\n",
        ("{tmp}/s.yaml:1", "field 'batch_size'", "expected int"),
    ),
    sweep(
        "targets-text", "targets: query (not a list)", "base: {targets: query}\n", ("{tmp}/s.yaml:1", "field 'targets'")
    ),
    sweep(
        "typo",
        "a field misspelt in the grid",
        "grid:\n  - adapter: [{method: lora, rnak: 4}]\n",
        ("{tmp}/s.yaml:2", "field 'rnak'", "did you mean 'rank'"),
    ),
    sweep(
        "unknown-key", "an unknown top-level key", "grids:\n  - rank: [4]\n", ("{tmp}/s.yaml:1", "unknown key 'grids'")
    ),
    sweep(
        "python-tag",
        "a YAML tag that would run code (never constructed)",
        "base: !!python/object/apply:os.system ['echo pwned']\n",
        ("{tmp}/s.yaml:1", "could not determine a constructor"),
    ),
    sweep("duplicate-key", "a key given twice", "seeds: [1]\nseeds: [2]\n", ("{tmp}/s.yaml:2", "given twice")),
    sweep(
        "executor-unknown",
        "--executor dask",
        GOOD_SWEEP,
        ("field '--executor'", "must be one of local, ray"),
        "--executor",
        "dask",
        "--out",
        "{tmp}/out",
    ),
    sweep(
        "slurm-no-equals",
        "--slurm noeq",
        GOOD_SWEEP,
        ("field '--slurm'", "expects key=value"),
        "--slurm",
        "noeq",
        "--out",
        "{tmp}/out",
    ),
    sweep(
        "slurm-bad-yaml",
        "--slurm key=[ (malformed YAML)",
        GOOD_SWEEP,
        ("field '--slurm timeout_min'", "not valid YAML"),
        "--slurm",
        "timeout_min=[",
        "--out",
        "{tmp}/out",
    ),
    sweep(
        "run-of-another-config",
        "a run folder of the sweep trained with another configuration (train --force): it was skipped as the plan's",
        GOOD_SWEEP,
        ("{tmp}/out/s42/run.json", "was made with another configuration than the sweep's plan", "differs in rank"),
        "--out",
        "{tmp}/out",
        "--jobs",
        "1",
        make=(_forced_run("out", rank=8),),
    ),
    sweep(
        "slurm-without-scheduler",
        "--executor slurm where there is no Slurm (ran everything here at once)",
        GOOD_SWEEP,
        ("field '--executor'", "needs a Slurm scheduler, and sbatch is not on PATH", "--slurm cluster=local"),
        "--executor",
        "slurm",
        "--out",
        "{tmp}/out",
    ),
    Case(
        "ract",
        "slurm-without-scheduler",
        "--executor slurm where there is no Slurm",
        ("ract", "{tmp}/r.yaml", "--out", "{tmp}/out", "--executor", "slurm"),
        ("field '--executor'", "needs a Slurm scheduler, and sbatch is not on PATH"),
        {"r.yaml": "epochs: 1\n"},
    ),
    sweep(
        "no-out",
        "training without --out",
        GOOD_SWEEP,
        ("--out is required to train",),
        "--jobs",
        "1",
    ),
    sweep(
        "jobs-zero",
        "--jobs 0",
        GOOD_SWEEP,
        ("field '--jobs'", "positive integer"),
        "--jobs",
        "0",
        "--out",
        "{tmp}/out",
        "--data-dir",
        "{data}",
    ),
    sweep(
        "out-is-file",
        "--out that is a file",
        GOOD_SWEEP,
        ("{tmp}/out", "is a file where an output folder goes"),
        "--out",
        "{tmp}/out",
        "--data-dir",
        "{data}",
        files={"out": "a file"},
    ),
    sweep(
        "out-foreign",
        "--out that holds other files",
        GOOD_SWEEP,
        ("{tmp}/out", "not a sweep directory"),
        "--out",
        "{tmp}/out",
        "--data-dir",
        "{data}",
        files={"out/notes.txt": "mine"},
    ),
    sweep(
        "plan-is-list",
        "--out whose sweep.json is a list",
        GOOD_SWEEP,
        ("{tmp}/out/sweep.json", "not a sweep's plan"),
        "--out",
        "{tmp}/out",
        "--data-dir",
        "{data}",
        files={"out/sweep.json": "[]"},
    ),
    sweep(
        "plan-invalid",
        "--out whose sweep.json is not JSON",
        GOOD_SWEEP,
        ("{tmp}/out/sweep.json:1", "malformed JSON"),
        "--out",
        "{tmp}/out",
        "--data-dir",
        "{data}",
        files={"out/sweep.json": "{"},
    ),
    Case(
        "sweep",
        "file-missing",
        "a sweep file that does not exist",
        ("sweep", "{tmp}/s.yaml", "--dry-run"),
        ("{tmp}/s.yaml", "sweep file not found"),
    ),
    Case(
        "sweep",
        "file-is-folder",
        "a folder as the sweep file",
        ("sweep", "{tmp}/s.yaml", "--dry-run"),
        ("{tmp}/s.yaml", "is a folder, not a YAML file"),
        make=(folder("s.yaml"),),
    ),
]

CASES = [*TRAIN, *RACT, *SWEEP]
