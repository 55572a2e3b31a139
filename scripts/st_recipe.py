"""sentence-transformers' own SimCSE recipes, trained with its SentenceTransformerTrainer: the
reference the scripts in this folder compare simcse-mini against.

Unsupervised: every sentence paired with itself ([s, s]); dropout makes the two views differ.
Supervised: NLI (anchor, positive, hard negative) triplets. Both with MultipleNegativesRankingLoss at
scale 20 (temperature 0.05), linear decay without warm-up, and the trainer's shuffled batches.
The encoder is a local folder read by models.Transformer, pooled by models.Pooling ('cls' or 'mean').

    python scripts/st_recipe.py --encoder ../shared/models/mini-bert-mlm --max-steps 250 --output-dir runs/st-unsup

Importable: ``train_st_recipe(...)`` trains, saves the model with ``model.save`` (so that
``SentenceTransformer(folder)`` loads it) and returns the per-step wall-clock times.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import datasets
import torch
from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                   SentenceTransformerTrainingArguments)
from transformers import TrainerCallback

with warnings.catch_warnings():  # the long-standing module paths, deprecated in sentence-transformers 6
    warnings.simplefilter("ignore", DeprecationWarning)
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from sentence_transformers.models import Pooling, Transformer

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
OBJECTIVES = ("unsup", "sup")
TEMPERATURE = 0.05  # SimCSE's; MultipleNegativesRankingLoss takes its inverse as the scale


class StepTimes(TrainerCallback):
    """Wall-clock seconds of every optimizer step, two ways.

    ``step_seconds`` runs from the end of the previous step (the start of training for the first),
    so it includes fetching and tokenizing the batch, which the trainer does before ``on_step_begin``;
    ``compute_seconds`` runs from ``on_step_begin``: forward, backward and optimizer step only."""

    def __init__(self):
        self.step_seconds: list[float] = []
        self.compute_seconds: list[float] = []
        self._last_end = self._begin = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self._last_end = time.perf_counter()

    def on_step_begin(self, args, state, control, **kwargs):
        self._begin = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        self.step_seconds.append(now - self._last_end)
        self.compute_seconds.append(now - self._begin)
        self._last_end = now


def build_model(encoder_path: str, pooling: str, max_seq_length: int) -> SentenceTransformer:
    """Encoder plus pooling, stated explicitly (given a plain folder, sentence-transformers would
    silently pick mean pooling)."""
    transformer = Transformer(encoder_path, max_seq_length=max_seq_length)
    pooler = Pooling(transformer.get_embedding_dimension(), pooling_mode=pooling)
    return SentenceTransformer(modules=[transformer, pooler], device="cuda" if torch.cuda.is_available() else "cpu")


def build_dataset(train_file: str, objective: str) -> datasets.Dataset:
    """The training rows: (anchor, positive) = (s, s) from a .txt file of one sentence per line, or
    (anchor, positive, negative) from a csv with columns sent0, sent1, hard_neg. Surrounding
    whitespace is stripped and rows with an empty field dropped, as simcse-mini does."""
    if objective == "unsup":
        with open(train_file, encoding="utf-8") as f:
            sentences = [line.strip() for line in f if line.strip()]
        return datasets.Dataset.from_dict({"anchor": sentences, "positive": sentences})
    triplets = datasets.Dataset.from_csv(train_file).select_columns(["sent0", "sent1", "hard_neg"])
    triplets = triplets.rename_columns({"sent0": "anchor", "sent1": "positive", "hard_neg": "negative"})
    triplets = triplets.map(lambda row: {key: (value or "").strip() for key, value in row.items()})
    return triplets.filter(lambda row: all(row.values()))


def train_st_recipe(encoder_path: str, train_file: str, objective: str = "unsup", pooling: str = "cls",
                    batch_size: int = 64, max_steps: int = 250, learning_rate: float = 3e-5,
                    max_seq_length: int = 32, seed: int = 42, bf16: bool = False,
                    output_dir: str = "runs/st-recipe", logging_steps: int = 10) -> dict:
    """Train the recipe, save the model to ``output_dir`` and return what it took."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r}: choose one of {', '.join(OBJECTIVES)}")
    model = build_model(encoder_path, pooling, max_seq_length)
    args = SentenceTransformerTrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=batch_size, max_steps=max_steps,
        learning_rate=learning_rate, warmup_steps=0, lr_scheduler_type="linear", seed=seed, bf16=bf16,
        use_cpu=not torch.cuda.is_available(), save_strategy="no", eval_strategy="no", report_to="none",
        logging_steps=logging_steps, disable_tqdm=True)
    timer = StepTimes()
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=build_dataset(train_file, objective),
        loss=MultipleNegativesRankingLoss(model, scale=1 / TEMPERATURE), callbacks=[timer])
    trainer.train()
    model.save(output_dir)
    return {"output_dir": output_dir, "steps": len(timer.step_seconds),
            "train_seconds": round(sum(timer.step_seconds), 2),
            "step_seconds": timer.step_seconds, "compute_seconds": timer.compute_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default=str(SHARED / "models" / "mini-bert-mlm"), help="local encoder folder")
    parser.add_argument("--train-file", default=str(SHARED / "data" / "train" / "wiki_sentences.txt"),
                        help="a .txt file (unsup) or an NLI triplet csv (sup)")
    parser.add_argument("--objective", choices=OBJECTIVES, default="unsup")
    parser.add_argument("--pooling", choices=("cls", "mean"), default="cls")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-steps", type=int, default=250)
    parser.add_argument("--learning-rate", type=float, default=3e-5)
    parser.add_argument("--max-seq-length", type=int, default=32)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CPU or recent GPUs)")
    parser.add_argument("--logging-steps", type=int, default=10)
    parser.add_argument("--output-dir", default="runs/st-recipe")
    args = parser.parse_args()

    result = train_st_recipe(args.encoder, args.train_file, args.objective, args.pooling, args.batch_size,
                             args.max_steps, args.learning_rate, args.max_seq_length, args.seed, args.bf16,
                             args.output_dir, args.logging_steps)
    print(f"{result['steps']} steps in {result['train_seconds']} s; model saved to {result['output_dir']}")


if __name__ == "__main__":
    main()
