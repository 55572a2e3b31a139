"""The training loop, on accelerate: one CPU, one GPU, many GPUs or many machines.

Read top to bottom: ``train`` sets up the run folder, model, data, optimizer and schedule, then
steps through the data; each step encodes every example's views in one forward pass, computes
InfoNCE (plus the optional MLM loss), and takes one optimizer step. Evaluation, best-model
selection, resumable checkpoints and logging happen between steps.

Run folder (``output_dir``):
  config.yaml          the resolved configuration
  metrics.jsonl        one JSON object per log or evaluation event
  checkpoints/step-N/  resumable state (model, optimizer, scheduler, RNG), newest ``save_total_limit``
  best/                the model with the best evaluation metric (when there is an evaluator)
  final/               the model after the last step
  summary.json         what the run achieved
  tensorboard/NAME/    TensorBoard event files of the metrics.jsonl records (with report_to tensorboard)
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import (ProjectConfiguration, broadcast_object_list, is_tensorboard_available,
                               is_wandb_available, set_seed)
from tqdm.auto import tqdm
from transformers import get_scheduler

from .config import TrainConfig
from .data import build_train_dataset, build_train_loader, loader_config
from .encoding import encode
from .evaluators import build_evaluator
from .grad_cache import cached_backward
from .losses import InfoNCELoss, mask_tokens
from .model import SimCSEModel, load_tokenizer

logger = logging.getLogger(__name__)

EncodeFn = Callable[[list[str]], np.ndarray]
Evaluator = Callable[[EncodeFn], dict[str, float]]


@dataclass
class Progress:
    """Where the run is; saved in every checkpoint so a resumed run continues exactly."""
    step: int = 0
    epoch: int = 0  # passes over the data completed
    epoch_step: int = 0  # batches of the current pass trained on (a stream's passes have no known length)
    best_metric: float | None = None
    best_step: int | None = None

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        self.__dict__.update(state)


class RunError(RuntimeError):
    """The run cannot start as configured (existing output, missing checkpoint...)."""


def train(cfg: TrainConfig, evaluator: Evaluator | None = None) -> dict:
    """Train as ``cfg`` says; return the run summary (also written to ``summary.json``).

    ``evaluator`` defaults to the one the config describes (STS-B dev, an eval_file, or none)."""
    if cfg.mixed_precision == "fp16" and not torch.cuda.is_available():
        raise RunError("mixed_precision fp16 needs a GPU; on the CPU use bf16")
    evaluator = evaluator or build_evaluator(cfg)  # reads its data now: bad files fail before training
    _check_trackers_installed(cfg)
    out_dir = Path(cfg.output_dir)
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available(),
                              dataloader_config=loader_config(cfg), log_with=cfg.log_with,
                              project_config=ProjectConfiguration(project_dir=str(out_dir),
                                                                  logging_dir=str(out_dir / "tensorboard")))
    resume_dir = _prepare_output_dir(cfg, out_dir) if accelerator.is_main_process else None
    accelerator.wait_for_everyone()
    set_seed(cfg.seed)

    # --- model and data -----------------------------------------------------------------------
    tokenizer = load_tokenizer(cfg.model_name_or_path, cfg.trust_remote_code)
    model = SimCSEModel.from_pretrained(
        cfg.model_name_or_path, cfg.pooler_type, mlp_only_train=cfg.mlp_only_train,
        with_mlm_head=cfg.do_mlm, random_init=cfg.random_init, trust_remote_code=cfg.trust_remote_code,
        dropout_mask=cfg.dropout_mask, dropout=cfg.dropout)
    with accelerator.main_process_first():
        dataset = build_train_dataset(cfg, tokenizer)
    # Examples per optimizer step: source sentences (unsup; each is encoded twice) or pairs/triplets (sup).
    global_batch = cfg.per_device_train_batch_size * accelerator.num_processes
    loader = build_train_loader(cfg, dataset, tokenizer.pad_token_id, accelerator.num_processes)

    decays = {True: [], False: []}  # biases and normalisation weights are not decayed
    for name, param in model.named_parameters():
        decays[param.ndim > 1 and "norm" not in name.lower()].append(param)
    optimizer = torch.optim.AdamW([{"params": decays[True], "weight_decay": cfg.weight_decay},
                                   {"params": decays[False], "weight_decay": 0.0}], lr=cfg.learning_rate,
                                  fused=True)  # one kernel for all parameters: ~8x faster than the loop on CPU
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    steps_per_epoch = None if cfg.streaming else len(loader)
    total_steps = cfg.max_steps if cfg.max_steps > 0 else steps_per_epoch * cfg.num_train_epochs
    # Stepped once per optimizer step by us (accelerate would step it once per process).
    scheduler = get_scheduler(cfg.lr_scheduler_type, optimizer,
                              num_warmup_steps=math.ceil(cfg.warmup_ratio * total_steps),
                              num_training_steps=total_steps)
    progress = Progress()
    accelerator.register_for_checkpointing(scheduler, progress)
    if resume_dir is not None or cfg.resume_from_checkpoint:
        resume_dir = _broadcast_path(accelerator, resume_dir)
        accelerator.load_state(str(resume_dir))
        _truncate_metrics(out_dir / "metrics.jsonl", progress.step, accelerator)
        accelerator.print(f"Resumed from {resume_dir} at step {progress.step}")
    if cfg.log_with:
        hparams = {key: value for key, value in cfg.to_dict().items() if isinstance(value, (str, int, float, bool))}
        # A resumed run hides what the killed run logged after its checkpoint, as _truncate_metrics drops it.
        purge = {"tensorboard": {"purge_step": progress.step + 1}} if progress.step else None
        accelerator.init_trackers(out_dir.resolve().name, config=hparams, init_kwargs=purge)

    loss_fn = InfoNCELoss(cfg.temp, cfg.hard_negative_weight)
    unwrapped: SimCSEModel = accelerator.unwrap_model(model)
    mlm_tokens = _mlm_token_ids(tokenizer) if cfg.do_mlm else None
    log = _MetricsLog(out_dir / "metrics.jsonl", accelerator)

    def evaluate() -> dict[str, float]:
        if evaluator is None or not accelerator.is_main_process:
            return {}
        # Evaluate whole sentences, as `simcse-mini evaluate` and SimCSE do: max_seq_length truncates
        # training inputs only.
        metrics = evaluator(lambda sentences: encode(unwrapped, tokenizer, sentences).numpy())
        log.write({"step": progress.step, **{f"eval/{k}": v for k, v in metrics.items()}})
        return metrics

    def consider_best(metrics: dict[str, float]) -> None:
        if not metrics:
            return
        key = cfg.metric_for_best_model or next(iter(metrics))
        if key not in metrics:
            raise RunError(f"metric_for_best_model '{key}' is not among the evaluator's metrics: {', '.join(metrics)}")
        value = metrics[key]
        better = progress.best_metric is None or (
            value > progress.best_metric if cfg.greater_is_better else value < progress.best_metric)
        if better:
            progress.best_metric, progress.best_step = value, progress.step
            _save_model_atomically(unwrapped, tokenizer, out_dir / "best", cfg, progress.step)

    # --- training -----------------------------------------------------------------------------
    start_metrics = evaluate() if progress.step == 0 else {}
    consider_best(start_metrics)
    bar = tqdm(total=total_steps, initial=progress.step, desc="Training", unit="step",
               disable=not accelerator.is_local_main_process)
    speed_unit = "sentences/s" if cfg.objective == "unsup" else "examples/s"
    model.train()
    started, window_start, window_steps, loss_sum = time.perf_counter(), time.perf_counter(), 0, 0.0
    start_step = progress.step
    while progress.step < total_steps:
        loader.set_epoch(progress.epoch)
        skip = progress.epoch_step
        batches = accelerator.skip_first_batches(loader, skip) if skip else loader
        for batch in batches:
            if cfg.grad_cache:
                loss = cached_backward(model, loss_fn, batch, cfg.mini_batch_size, accelerator)
            else:
                loss = compute_loss(model, loss_fn, batch, cfg, mlm_tokens)
                accelerator.backward(loss)
            grad_norm = accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm) \
                if cfg.max_grad_norm > 0 else None
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            progress.step += 1
            progress.epoch_step += 1
            bar.update(1)
            loss_sum += accelerator.reduce(loss.detach(), "mean").item()
            window_steps += 1

            if progress.step % cfg.logging_steps == 0 or progress.step == total_steps:
                elapsed = time.perf_counter() - window_start
                epoch = progress.epoch + progress.epoch_step / steps_per_epoch if steps_per_epoch else progress.epoch
                record = {"step": progress.step, "epoch": round(epoch, 4),
                          "loss": loss_sum / window_steps, "learning_rate": scheduler.get_last_lr()[0],
                          "examples_per_second": global_batch * window_steps / elapsed}
                if grad_norm is not None:
                    record["grad_norm"] = float(grad_norm)
                log.write(record)
                bar.set_postfix({"loss": f"{record['loss']:.4f}", speed_unit: f"{record['examples_per_second']:.0f}"})
                window_start, window_steps, loss_sum = time.perf_counter(), 0, 0.0
            if progress.step % cfg.eval_steps == 0 and progress.step < total_steps:
                consider_best(evaluate())
                model.train()
            if cfg.save_steps and progress.step % cfg.save_steps == 0:
                _save_state_atomically(accelerator, out_dir / "checkpoints", progress.step, cfg.save_total_limit)
            if progress.step >= total_steps:
                break
        else:  # the pass over the data is complete
            progress.epoch, progress.epoch_step = progress.epoch + 1, 0
    bar.close()
    train_seconds = time.perf_counter() - started

    # --- the end ------------------------------------------------------------------------------
    final_metrics = evaluate()
    consider_best(final_metrics)
    summary = {}
    if accelerator.is_main_process:
        _save_model_atomically(unwrapped, tokenizer, out_dir / "final", cfg, progress.step)
        trained = progress.step - start_step
        summary = {"steps": progress.step, "train_seconds": round(train_seconds, 2),
                   "examples_per_second": round(global_batch * trained / max(train_seconds, 1e-9), 2),
                   "start_metrics": start_metrics, "final_metrics": final_metrics,
                   "metric_for_best_model": cfg.metric_for_best_model or next(iter(final_metrics), None),
                   "best_metric": progress.best_metric, "best_step": progress.best_step,
                   "best_model": str(out_dir / "best") if progress.best_step is not None else None,
                   "final_model": str(out_dir / "final")}
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return summary


def compute_loss(model, loss_fn: InfoNCELoss, batch: dict[str, torch.Tensor], cfg: TrainConfig,
                 mlm_tokens: dict | None = None) -> torch.Tensor:
    """One training step's loss: every view of every example in one forward pass, InfoNCE over
    them (the third view, when present, is the hard negative), plus the weighted MLM loss."""
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    if mlm_tokens is not None:
        inputs["mlm_input_ids"], inputs["mlm_labels"] = mask_tokens(
            batch["input_ids"], batch["attention_mask"], probability=cfg.mlm_probability, **mlm_tokens)
    out = model(**inputs)
    views = out["embeddings"]
    loss = loss_fn(views[0], views[1], views[2] if views.shape[0] > 2 else None)
    if "mlm_loss" in out:
        loss = loss + cfg.mlm_weight * out["mlm_loss"]
    return loss


def _prepare_output_dir(cfg: TrainConfig, out_dir: Path) -> Path | None:
    """Create the run folder, refuse to clobber an earlier run, and find the checkpoint to resume."""
    if cfg.resume_from_checkpoint:
        if cfg.resume_from_checkpoint == "latest":
            found = latest_checkpoint(out_dir)
            if found is None:
                raise RunError(f"resume_from_checkpoint=latest: no checkpoint in {out_dir / 'checkpoints'}")
            return found
        path = Path(cfg.resume_from_checkpoint)
        if not path.is_dir():
            raise RunError(f"resume_from_checkpoint: {path} is not a checkpoint folder")
        if not out_dir.exists():  # continuing another run's checkpoint into a new folder
            out_dir.mkdir(parents=True)
            cfg.save(out_dir / "config.yaml")
        return path
    if out_dir.exists() and any(out_dir.iterdir()) and not cfg.overwrite_output_dir:
        raise RunError(f"output_dir {out_dir} already holds a run; pick another output_dir, resume it with "
                       "--resume, or pass --overwrite_output_dir true to train over it")
    if out_dir.exists() and cfg.overwrite_output_dir:
        for stale in ("checkpoints", "best", "final", "metrics.jsonl", "summary.json", "tensorboard"):
            target = out_dir / stale
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg.save(out_dir / "config.yaml")
    return None


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest complete checkpoint of a run folder (half-written ones end in .tmp and are skipped)."""
    folders = [p for p in (out_dir / "checkpoints").glob("step-*") if p.is_dir() and p.name[5:].isdigit()]
    return max(folders, key=lambda p: int(p.name[5:]), default=None)


def _broadcast_path(accelerator: Accelerator, path: Path | None) -> Path:
    holder = [str(path) if path is not None else None]
    broadcast_object_list(holder)
    return Path(holder[0])


def _save_state_atomically(accelerator: Accelerator, root: Path, step: int, keep: int) -> None:
    """Write the checkpoint under a temporary name and rename it when complete, so a run killed
    mid-save never leaves a checkpoint that looks whole."""
    final, tmp = root / f"step-{step}", root / f"step-{step}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        old = sorted((p for p in root.glob("step-*") if p.name[5:].isdigit()), key=lambda p: int(p.name[5:]))
        for stale in old[:-keep]:
            shutil.rmtree(stale)
    accelerator.wait_for_everyone()


def _save_model_atomically(model: SimCSEModel, tokenizer, target: Path, cfg: TrainConfig, step: int) -> None:
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, tokenizer, extra={"step": step, "max_seq_length": cfg.max_seq_length,
                                                 "training": cfg.to_dict()})
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)


def _check_trackers_installed(cfg: TrainConfig) -> None:
    """accelerate quietly drops a tracker whose package is missing; say so instead."""
    installed = {"tensorboard": is_tensorboard_available, "wandb": is_wandb_available}
    for name in cfg.log_with if isinstance(cfg.log_with, list) else []:
        if not installed[name]():
            raise RunError(f"report_to={cfg.report_to}: the {name} package is not installed (pip install {name})")


def _mlm_token_ids(tokenizer) -> dict:
    if tokenizer.mask_token_id is None:
        raise RunError("do_mlm needs a tokenizer with a mask token")
    return {"special_ids": tokenizer.all_special_ids, "mask_id": tokenizer.mask_token_id,
            "vocab_size": len(tokenizer)}


class _MetricsLog:
    """Appends JSON lines on the main process, echoes them through ``logging`` and sends their numbers
    to the trackers of ``report_to``."""

    def __init__(self, path: Path, accelerator: Accelerator):
        self.path, self.accelerator = path, accelerator

    def write(self, record: dict) -> None:
        if not self.accelerator.is_main_process:
            return
        record = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in record.items()}
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        logger.info(json.dumps(record))
        numbers = {k: v for k, v in record.items()
                   if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.accelerator.log(numbers, step=record["step"])


def _truncate_metrics(path: Path, step: int, accelerator: Accelerator) -> None:
    """Drop log lines written after the checkpoint we resume from (the killed run's tail)."""
    if accelerator.is_main_process and path.is_file():
        kept = [line for line in path.read_text().splitlines() if json.loads(line).get("step", 0) <= step]
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        tmp.replace(path)
    accelerator.wait_for_everyone()
