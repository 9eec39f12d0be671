"""A training run from a `RunConfig` to a run directory: fine-tune, probe, record, checkpoint, resume.

A run directory holds ``run.json`` (config, versions, seed, timings, final metrics), ``dynamics.parquet`` (see
`loradyn.store`), ``examples.parquet`` (annotations, lengths and noise mask of every example) and ``model/`` (the
trained adapter with its classification head). While a run goes it also holds ``state/``, the last checkpoint;
starting the same command again resumes from it and gives the dynamics an uninterrupted run would have given.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import platform
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import transformers
from accelerate import Accelerator
from accelerate.utils import gather_object
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from loradyn.errors import DataError
from loradyn.io import check_writable, read_json, write_atomic, write_json
from loradyn.models.adapters import apply_method
from loradyn.models.registry import resolve_model
from loradyn.models.trunk import TrunkCache
from loradyn.store import GRADIENT_NORMS, DynamicsStore
from loradyn.train.batches import Encoded, collate, encode, epoch_batches, micro_batches, probe_batches
from loradyn.train.checkpoint import STATE, Checkpoints, RunProgress
from loradyn.train.config import RESUMABLE_CHANGES, RunConfig, trained_fields, with_defaults
from loradyn.train.lock import RunLock
from loradyn.train.measurements import GradientMeasurements
from loradyn.train.objective import Objective, vote_distributions
from loradyn.train.recipe import class_weights, make_optimizer
from loradyn.train.recorder import Recorder, probe_logits
from loradyn.train.rundata import RunData, build_run_data
from loradyn.train.tracking import TRACKING, start_tracking

RUN_JSON = "run.json"
#: What a run directory holds (a folder with only these in it is a run that can resume).
RUN_FILES = {
    RUN_JSON,
    "examples.parquet",
    "dynamics.parquet",
    "dynamics.parts",
    "dynamics.parts.done",
    "model",
    STATE,
    f"{STATE}.old",
    f"{STATE}.tmp",
    "run.lock",
    TRACKING,
    GRADIENT_NORMS,
}


def _versions() -> dict[str, str]:
    import accelerate
    import peft
    import transformers

    import loradyn

    return {
        "loradyn": loradyn.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "accelerate": accelerate.__version__,
    }


def _peak_memory() -> int:
    """This process's peak memory so far: allocated on the GPU where there is one, else the resident set size."""
    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) * (1 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux


def _mixed_precision(precision: str) -> str:
    if precision == "auto":
        if torch.cuda.is_available():
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "no"
    if precision == "fp16" and not torch.cuda.is_available():
        raise DataError("precision='fp16' needs a CUDA device", field="precision", fix="use fp32 or bf16 on a CPU")
    return {"fp32": "no"}.get(precision, precision)


transformers.logging.set_verbosity_error()  # load reports of the new head are expected, not news
transformers.logging.disable_progress_bar()  # the "Loading weights" bar is noise in a run's log
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


class Run:
    """One training run. Building it checks everything (data, model, adapter) before any file is written."""

    def __init__(self, config: RunConfig, out: str | Path, *, show_progress: bool = False) -> None:
        self.config = config
        self.dir = Path(out)
        self._started = time.perf_counter()
        self._show_progress = show_progress and int(os.environ.get("RANK", "0")) == 0  # one process says it
        self.previous = self._check_run_dir()  # read once, before any process writes: all decide alike to resume
        self.data: RunData = build_run_data(config)
        soft = vote_distributions(self.data) if config.soft_labels else (None, None)  # checked before the model loads
        self.trained = np.flatnonzero(self.data.weights > 0)  # the rest (a held-out fold, excluded ids) is not
        self._say(
            f"data built: {len(self.trained):,} training items, {len(self.data.tracked):,} tracked, "
            f"{len(self.data.validation):,} validation"
        )
        source = resolve_model(config.model, revision=config.model_revision)
        self.decoder = source.is_decoder
        tokenizer = AutoTokenizer.from_pretrained(source.path, **source.load_kwargs())
        if self.decoder and tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.pad_id = tokenizer.pad_token_id
        label_names = self.data.train.task.label_names
        torch.manual_seed(config.seed)  # the head's and the adapter's initialisation
        model = AutoModelForSequenceClassification.from_pretrained(
            source.path,
            **source.load_kwargs(),
            dtype=torch.float32,  # fp32 weights whatever the checkpoint's dtype (the author's); autocast is for speed
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={name: k for k, name in enumerate(label_names)},
            pad_token_id=self.pad_id,
            ignore_mismatched_sizes=True,  # a checkpoint fine-tuned on another label set gets a fresh head
        )
        takes_segments = "token_type_ids" in inspect.signature(model.forward).parameters  # not DistilBERT, decoders
        if not (config.segment_ids and takes_segments):  # the study passed none: BERT saw all-zero segment ids
            tokenizer.model_input_names = [n for n in tokenizer.model_input_names if n != "token_type_ids"]
        self.model = apply_method(
            model,
            config.method,
            rank=config.rank,
            alpha=config.alpha,
            dropout=config.lora_dropout,
            targets=config.targets,
            feedforward_modules=config.feedforward_modules,
        )
        if config.disable_dropout:
            for module in self.model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = 0.0
        self.trunk = TrunkCache(self.model) if config.cache_trunk else None
        self.n_trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        self.n_params = sum(p.numel() for p in self.model.parameters())
        self._say(f"model loaded: {config.model}, {config.method}, {self.n_trainable:,} trainable parameters")
        self.tokenizer = tokenizer
        enc = dict(max_length=config.max_length, decoder=self.decoder)
        self.train_set = encode(self.data.train, tokenizer, labels=self.data.train.labels, **enc)
        self.validation_set = encode(self.data.validation, tokenizer, labels=self.data.validation.labels, **enc)
        self.accelerator = Accelerator(
            mixed_precision=_mixed_precision(config.precision),
            cpu=not torch.cuda.is_available(),
            log_with=config.report_to or None,
            project_dir=self.dir / TRACKING if config.report_to else None,
        )
        self.micro_batch_overhead = config.micro_batch_overhead
        if self.micro_batch_overhead is None:  # the fixed cost of one more pass, in padded tokens (measured)
            self.micro_batch_overhead = 1024 if torch.cuda.is_available() else 128
        self.steps_per_epoch = -(-len(self.trained) // config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        optimizer, self.schedule = make_optimizer(
            self.model,
            lr=config.lr,
            weight_decay=config.weight_decay,
            total_steps=self.total_steps,
            warmup_ratio=config.warmup_ratio,
            floor=config.lr_floor,
            schedule=config.lr_schedule,
        )
        self.model, self.optimizer = self.accelerator.prepare(self.model, optimizer)
        n_classes = len(label_names)
        trained_labels = self.data.train.labels[self.trained]
        weights = class_weights(trained_labels, n_classes) if config.class_weighted else torch.ones(n_classes)
        examples = torch.as_tensor(self.data.weights, dtype=torch.float32)
        self.objective = Objective(weights.to(self.accelerator.device), examples, *soft)
        self.targets = {"original": self.data.original_labels, "noisy": self.data.train.labels}
        if config.record_labels != "both":
            self.targets = {config.record_labels: self.targets[config.record_labels]}
        self.gradients = (
            GradientMeasurements(
                self.data,
                self.train_set.ids,
                model=lambda: self.accelerator.unwrap_model(self.model),
                batch=lambda positions: self._batch(self.train_set, positions),
                autocast=self.accelerator.autocast,
                batch_size=config.probe_batch_size,
                cosine=config.gradient_cosine,
            )
            if config.gradient_cosine or config.gradient_norms
            else None
        )
        self.fingerprint = self.data.fingerprint()
        self._check_data()
        self.accelerator.wait_for_everyone()  # every process has checked the folder before the first one writes
        self.recorder = Recorder(self.dir.name, keep_probs=config.record_probs)
        self.store = DynamicsStore(self.dir)
        self.checkpoints = Checkpoints(
            self.dir, self.accelerator, self.store, self.model, self.optimizer, self.schedule
        )

    def _say(self, message: str) -> None:
        """A line on stderr while the run is built and before training starts, where progress is shown: a batch
        job's log is otherwise silent until the first checkpoint after step 0."""
        if self._show_progress:
            print(
                f"{self.dir.name}: {message} ({time.perf_counter() - self._started:.0f} s)", file=sys.stderr, flush=True
            )

    # ----------------------------------------------------------------------------------------- run directory
    def _previous(self) -> dict[str, Any] | None:
        """The run.json of a run started before in this directory, checked; None for a new directory."""
        run_json = self.dir / RUN_JSON
        if not run_json.is_file():
            if self.dir.exists() and any(p.name not in RUN_FILES for p in self.dir.iterdir()):
                raise DataError("not a loradyn run directory, and not empty", path=self.dir, fix="choose another --out")
            return None
        previous = read_json(run_json, fix="choose another --out")
        if not isinstance(previous, dict) or not isinstance(previous.get("config"), dict):
            raise DataError("run.json has no config mapping", path=run_json, field="config", fix="choose another --out")
        return previous

    def _check_run_dir(self) -> dict[str, Any] | None:
        """The run.json of a run this directory may resume (None for a new one), refused if it cannot resume."""
        check_writable([self.dir / RUN_JSON])  # before the data and the model are built
        previous = self._previous()
        if previous is None:
            return None
        if previous.get("status") == "complete":
            raise DataError(
                "this run is already complete",
                path=self.dir,
                fix="choose another --out, or pass --force to train it again from scratch",
            )
        current = trained_fields(json.loads(json.dumps(self.config.to_dict())))  # as run.json holds it (string keys)
        stored = trained_fields(with_defaults(previous["config"]))
        changed = {k for k, v in current.items() if stored.get(k) != v} - RESUMABLE_CHANGES
        if changed:
            raise DataError(
                f"cannot resume: the configuration differs in {', '.join(sorted(changed))}",
                path=self.dir / RUN_JSON,
                fix="run the same command again, or choose another --out",
            )
        return previous

    def _check_data(self) -> None:
        """A resumed run must see the data it started with: the data files may have changed since."""
        before = (self.previous or {}).get("fingerprint")
        if before and before != self.fingerprint:
            changed = sorted(k for k in self.fingerprint if before.get(k) != self.fingerprint[k])
            raise DataError(
                f"cannot resume: the composed data changed since the run started ({', '.join(changed)} differ)",
                path=self.dir / RUN_JSON,
                field="fingerprint",
                fix="restore the data files the run started with, or train into another --out",
            )

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    def _write_run_json(self, status: str, progress: RunProgress, extra: dict[str, Any] | None = None) -> None:
        if not self.is_main:
            return
        payload = {
            "run_id": self.dir.name,
            "status": status,
            "config": self.config.to_dict(),
            "seed": self.config.seed,
            "versions": _versions(),
            "device": str(self.accelerator.device),
            "world_size": self.accelerator.num_processes,
            "mixed_precision": self.accelerator.mixed_precision,
            "model": {"decoder": self.decoder, "trainable_params": self.n_trainable, "total_params": self.n_params},
            "data": {
                "n_train": len(self.trained),
                "n_bulk": self.data.n_bulk,
                "n_held_out": len(self.train_set.labels) - len(self.trained),
                "n_tracked": len(self.data.tracked),
                "n_validation": len(self.validation_set.labels),
                "n_noisy": int(self.data.is_noisy.sum()),
                "steps_per_epoch": self.steps_per_epoch,
                "total_steps": self.total_steps,
            },
            "fingerprint": self.fingerprint,
            "progress": {"step": progress.step, "checkpoints": progress.checkpoint},
            "timings": progress.seconds,
            "peak_memory_bytes": _peak_memory(),
            "val_accuracy_per_epoch": progress.val_accuracy,
            **({"gradient_cosine": progress.gradient_cosine} if self.config.gradient_cosine else {}),
            **(extra or {}),
        }
        write_json(self.dir / RUN_JSON, payload)

    # ------------------------------------------------------------------------------------------ recording
    def _batch(self, encoded: Encoded, positions: np.ndarray) -> dict[str, torch.Tensor]:
        pad_to = self.config.max_length if self.config.padding == "max_length" else None
        batch = collate(encoded, positions, pad_id=self.pad_id, left=self.decoder, pad_to=pad_to)
        return {k: v.to(self.accelerator.device) for k, v in batch.items()}

    def _logits(self, encoded: Encoded, positions: np.ndarray) -> torch.Tensor:
        """Eval-mode logits (len(positions), K) in the order of ``positions``, sharded over processes."""
        world, rank = self.accelerator.num_processes, self.accelerator.process_index
        mine = positions[rank::world]
        groups = probe_batches(encoded.lengths[mine], batch_size=self.config.probe_batch_size)
        with self.accelerator.autocast():
            local = probe_logits(self.model, (self._batch(encoded, mine[g]) for g in groups), groups, len(mine))
        out = torch.empty((len(positions), local.shape[-1]))
        for shard, logits in gather_object([(rank, local)]):
            out[shard::world] = logits
        return out

    def _probe(self, progress: RunProgress) -> None:
        tracked = self.data.tracked
        started = time.perf_counter()
        logits = self._logits(self.train_set, tracked)  # every process gets all of them; one records them
        if self.is_main:
            self.recorder.add(
                mode="probe",
                example_ids=self.train_set.ids[tracked],
                logits=logits,
                labels={t: labels[tracked] for t, labels in self.targets.items()},
                checkpoint=progress.checkpoint,
                step=progress.step,
                epoch=progress.step / self.steps_per_epoch,
            )
        progress.checkpoint += 1
        progress.seconds["probe"] += time.perf_counter() - started

    def _validate(self) -> float:
        logits = self._logits(self.validation_set, np.arange(len(self.validation_set.labels)))
        return float((logits.argmax(-1).numpy() == self.validation_set.labels).mean())

    def _checkpoint(self, progress: RunProgress) -> None:
        """Probe, write the rows recorded since the last checkpoint as one part, and save the state."""
        self._probe(progress)
        if self.config.gradient_cosine:
            progress.gradient_cosine.append(self.gradients.cosine(progress.step, progress.seconds))
        frames = [f for f in gather_object([self.recorder.take()]) if f is not None]  # every process gets all
        if frames:
            progress.part += 1
            if self.is_main:
                self.store.write_part(progress.part, pd.concat(frames, ignore_index=True))
        self.checkpoints.save(progress)
        self._write_run_json("running", progress)

    # ------------------------------------------------------------------------------------------- training
    def _train_step(self, positions: np.ndarray, progress: RunProgress, epoch: int) -> float:
        """One optimizer step over a global batch (see `_accumulate`); returns the batch's training loss."""
        loss, correct = self._accumulate(positions, progress, epoch)
        diverged = torch.tensor(0.0 if math.isfinite(loss) else 1.0, device=self.accelerator.device)
        if float(self.accelerator.reduce(diverged, reduction="sum")) > 0:  # every process stops, none waits on another
            raise DataError(
                f"the training loss is {loss} at step {progress.step + 1}: the run diverged",
                path=self.dir,
                field="lr",
                fix="lower lr (or max_grad_norm) and train again into another --out",
            )
        lr = self.schedule.get_last_lr()[0]  # the rate this step takes
        self.accelerator.clip_grad_norm_(self.model.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.config.report_to:
            accuracy = float(self.accelerator.reduce(correct, reduction="sum")) / len(positions)
            self.accelerator.log(
                {"train/loss": loss, "train/learning_rate": lr, "train/accuracy": accuracy}, step=progress.step + 1
            )
        return loss

    def _accumulate(self, positions: np.ndarray, progress: RunProgress, epoch: int) -> tuple[float, torch.Tensor]:
        """Gradients of a global batch's loss (`Objective`). Each process takes its share and cuts it into
        length-sorted micro-batches (`micro_batches`: at least ``grad_accum``), each padded only to its own longest
        item; the pieces' gradients add up to the whole batch's (multiplied by the world size, because data-parallel
        gradients are averaged). Returns the loss and this process's count of correct predictions."""
        config, world, rank = self.config, self.accelerator.num_processes, self.accelerator.process_index
        piece_loss = self.objective.of_batch(positions, self.train_set.labels[positions])
        mine = positions[rank::world]
        pieces = micro_batches(
            mine,
            self.train_set.lengths,
            max_size=-(-len(mine) // config.grad_accum),
            overhead=self.micro_batch_overhead,
            pad_to=config.max_length if config.padding == "max_length" else None,
        )
        total, correct = 0.0, torch.zeros((), dtype=torch.long, device=self.accelerator.device)
        for piece in pieces:
            batch = self._batch(self.train_set, piece)
            with self.accelerator.autocast():
                logits = self.model(**{k: v for k, v in batch.items() if k != "labels"}).logits
            loss = piece_loss(logits, batch["labels"], piece) * world
            self.accelerator.backward(loss)
            total += float(loss.detach()) / world
            correct += (logits.detach().argmax(-1) == batch["labels"]).sum()
            if config.record_inline:
                started = time.perf_counter()
                self.recorder.add(
                    mode="inline",
                    example_ids=self.train_set.ids[piece],
                    logits=logits.detach(),
                    labels={t: labels_[piece] for t, labels_ in self.targets.items()},
                    checkpoint=progress.step,
                    step=progress.step,
                    epoch=float(epoch),
                )
                progress.seconds["inline"] += time.perf_counter() - started
        return total, correct

    def fit(self, *, show_progress: bool = True) -> dict[str, Any]:
        """Train to the end (resuming if a checkpoint exists) and return the contents of ``run.json``."""
        with RunLock(self.dir, active=self.is_main):
            try:
                return self._fit(show_progress)
            finally:
                self.accelerator.end_training()  # closes the trackers' logs, if any

    def _fit(self, show_progress: bool) -> dict[str, Any]:
        config = self.config
        progress = self.checkpoints.load() if self.previous is not None else None
        if progress is None:
            progress = RunProgress()
            if self.is_main:
                shutil.rmtree(self.store.parts, ignore_errors=True)
                self.dir.mkdir(parents=True, exist_ok=True)
            self._write_run_json("running", progress)  # first: from here on the folder is a run that resumes
            if self.is_main:
                write_atomic(self.dir / "examples.parquet", lambda tmp: self._example_table().to_parquet(tmp))
            self._checkpoint(progress)  # the probe at step 0
            self._say(
                f"step-0 probe done ({len(self.data.tracked):,} tracked, {len(self.data.validation):,} validation)"
            )
        if config.report_to:
            start_tracking(self.accelerator, config, self.dir)
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=Console(stderr=True),
        )
        live = show_progress and self.is_main and bar.console.is_terminal
        bar.disable = not live

        def log(status: str) -> None:  # batch and cluster logs get a line per checkpoint instead of a bar
            if show_progress and self.is_main and not live:
                elapsed = time.perf_counter() - self._started
                print(
                    f"{self.dir.name}: step {progress.step}/{self.total_steps}, {status}, {elapsed:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )

        with bar:
            task = bar.add_task(self.dir.name, total=self.total_steps, completed=progress.step, status="")
            self.model.train()
            while progress.epoch < config.epochs:
                batches = epoch_batches(
                    self.train_set.lengths[self.trained],
                    batch_size=config.batch_size,
                    seed=config.seed,
                    epoch=progress.epoch,
                    group_by_length=config.group_by_length,
                )
                batches = [self.trained[b] for b in batches]
                while progress.batch < len(batches):
                    started = time.perf_counter()
                    loss = self._train_step(batches[progress.batch], progress, progress.epoch)
                    progress.step += 1
                    progress.batch += 1
                    progress.seconds["train"] += time.perf_counter() - started
                    bar.update(task, advance=1, status=f"loss {loss:.3f}")
                    if progress.batch < len(batches) and progress.step % config.probe_every == 0:
                        self._checkpoint(progress)
                        log(f"loss {loss:.3f}")
                progress.val_accuracy.append(self._validate())
                self.accelerator.log({"eval/accuracy": progress.val_accuracy[-1]}, step=progress.step)
                progress.epoch += 1
                progress.batch = 0
                status = f"epoch {progress.epoch} val acc {progress.val_accuracy[-1]:.3f}"
                bar.update(task, status=status)
                self._checkpoint(progress)
                log(status)
        return self._finish(progress)

    def _example_table(self) -> pd.DataFrame:
        table = self.data.table.copy()
        table["n_tokens"] = np.concatenate([self.train_set.lengths, self.validation_set.lengths])
        return table

    def _finish(self, progress: RunProgress) -> dict[str, Any]:
        self.accelerator.wait_for_everyone()
        if self.is_main:
            self.store.finalize()
            if self.config.gradient_norms:
                norms = self.gradients.norms()
                write_atomic(self.dir / GRADIENT_NORMS, lambda tmp: norms.to_parquet(tmp, index=False))
            model_dir = self.dir / "model"
            shutil.rmtree(model_dir, ignore_errors=True)
            self.accelerator.unwrap_model(self.model).save_pretrained(model_dir)
            self.tokenizer.save_pretrained(model_dir)
        final = {"val_accuracy": progress.val_accuracy[-1] if progress.val_accuracy else None}
        self._write_run_json("complete", progress, {"final": final})
        self.accelerator.wait_for_everyone()
        if self.is_main:
            self.checkpoints.discard()
        return json.loads((self.dir / RUN_JSON).read_text())


def discard_finished(out: str | Path) -> None:
    """Remove a finished run directory so that it can be trained again (``loradyn train --force``); anything else
    in ``out`` is left alone and refused later with its own message."""
    run_json = Path(out) / RUN_JSON
    try:
        finished = json.loads(run_json.read_text(encoding="utf-8")).get("status") == "complete"
    except (OSError, ValueError, AttributeError):
        finished = False
    if finished:
        shutil.rmtree(out)


def train(config: RunConfig, out: str | Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Run (or resume) ``config`` into the run directory ``out``; returns its ``run.json``."""
    return Run(config, out, show_progress=show_progress).fit(show_progress=show_progress)
