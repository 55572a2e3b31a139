"""Training data: files or hub datasets -> tokenized ``datasets.Dataset`` -> padded batches.

Every example is stored as ``input_ids``: a list of V token-id lists (V = 1 for unsupervised
sentences, 2 for pairs, 3 for triplets). Tokenization runs once, batched, in ``Dataset.map`` and is
cached on disk by ``datasets``; the unsupervised second view is made in the model step, not here.
"""

from __future__ import annotations

from pathlib import Path

import datasets
import torch

from .config import TrainConfig

SUPERVISED_COLUMNS = ("sent0", "sent1", "hard_neg")
_BUILDERS = {".txt": "text", ".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}


class DataError(ValueError):
    """Training data that cannot be used; the message names the file and the problem."""


def load_raw_dataset(cfg: TrainConfig) -> datasets.Dataset:
    if not cfg.train_file:
        raise DataError("no training data: set train_file")
    path = Path(cfg.train_file)
    if not path.is_file():
        raise DataError(f"training file not found: {path}")
    builder = _BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise DataError(f"{path}: unsupported file type '{path.suffix}'; use one of {', '.join(_BUILDERS)}")
    kwargs = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
    return datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)


def text_columns(cfg: TrainConfig, dataset: datasets.Dataset) -> list[str]:
    """The columns that hold the V sentences of an example, in order."""
    if cfg.objective == "unsup":
        return ["text"] if "text" in dataset.column_names else dataset.column_names[:1]
    present = [c for c in SUPERVISED_COLUMNS if c in dataset.column_names]
    if present[:2] != ["sent0", "sent1"]:
        raise DataError(f"{cfg.train_file}: supervised data needs columns sent0, sent1 (and optionally hard_neg); "
                        f"it has {', '.join(dataset.column_names)}")
    return present


def build_train_dataset(cfg: TrainConfig, tokenizer) -> datasets.Dataset:
    """Load and tokenize the training data into examples of V token-id lists."""
    raw = load_raw_dataset(cfg)
    columns = text_columns(cfg, raw)
    raw = raw.filter(lambda batch: [all(batch[c][i] and str(batch[c][i]).strip() for c in columns)
                                    for i in range(len(batch[columns[0]]))], batched=True)

    def tokenize(batch):
        encoded = [tokenizer([str(s).strip() for s in batch[c]], truncation=True,
                             max_length=cfg.max_seq_length)["input_ids"] for c in columns]
        return {"input_ids": [list(views) for views in zip(*encoded)]}

    return raw.map(tokenize, batched=True, remove_columns=raw.column_names, desc="Tokenizing")


class ContrastiveCollator:
    """Pads a list of examples to ``input_ids``/``attention_mask`` tensors of shape [B, V, L],
    L being the longest sentence in this batch (never the global maximum)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        views = [f["input_ids"] for f in features]
        batch, num_views = len(views), len(views[0])
        length = max(len(ids) for example in views for ids in example)
        input_ids = torch.full((batch, num_views, length), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((batch, num_views, length), dtype=torch.long)
        for i, example in enumerate(views):
            for v, ids in enumerate(example):
                input_ids[i, v, : len(ids)] = torch.tensor(ids, dtype=torch.long)
                attention_mask[i, v, : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}
