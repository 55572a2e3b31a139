"""Turning sentences into embeddings with a SimCSEModel: batched, length-sorted, in input order."""

from __future__ import annotations

import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from .distributed import world
from .model import SimCSEModel

PRECISIONS = ("fp32", "bf16")


def default_max_length(model: SimCSEModel, tokenizer) -> int:
    """The longest input the encoder takes: the smaller of the tokenizer's limit and the size of the
    position table (a tokenizer borrowed from a larger model may allow more than the encoder has)."""
    limits = [tokenizer.model_max_length, getattr(model.encoder.config, "max_position_embeddings", None)]
    # Tokenizers without a recorded limit report a huge sentinel; 512 when neither says anything.
    return min((limit for limit in limits if limit is not None and limit < 100_000), default=512)


@torch.inference_mode()
def encode(model: SimCSEModel, tokenizer, sentences: list[str], batch_size: int = 64,
           max_length: int | None = None, normalize: bool = False, show_progress_bar: bool = False,
           precision: str = "fp32", distributed: bool = False) -> torch.Tensor:
    """Embed ``sentences`` and return a float32 [N, H] tensor on the CPU, rows in input order.

    Sentences are truncated to ``max_length`` tokens (by default, and at most, the model's limit),
    tokenized once and sorted by token count, so every batch is padded only to its own longest
    sentence; the model runs in eval mode (no dropout) and is put back in the mode it was in.
    ``precision="bf16"`` runs the encoder under bfloat16 autocast (much faster on CPUs with AMX or
    AVX512-BF16 and on recent GPUs); the returned embeddings are float32 either way.

    With ``distributed`` and several processes (``accelerate launch``, ``torchrun``), every process
    must call this with the same sentences: each encodes every world-size-th batch on its own
    device and all processes return the full result.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    device = next(model.parameters()).device
    sentences = list(sentences)
    limit = default_max_length(model, tokenizer)
    max_length = min(max_length, limit) if max_length else limit
    token_ids = tokenizer(sentences, truncation=True, max_length=max_length)["input_ids"] if sentences else []
    order = sorted(range(len(token_ids)), key=lambda i: -len(token_ids[i]))
    batches = [order[start: start + batch_size] for start in range(0, len(order), batch_size)]
    rank, world_size = world() if distributed else (0, 1)
    mine = batches[rank::world_size]  # longest-first round robin keeps the processes' work even
    out = torch.zeros((len(token_ids), model.encoder.config.hidden_size))
    was_training = model.training
    model.eval()
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            for rows in tqdm(mine, desc="Encoding", unit="batch", disable=not show_progress_bar or rank != 0):
                batch = tokenizer.pad({"input_ids": [token_ids[i] for i in rows]}, return_tensors="pt")
                embeddings = model.embed(batch["input_ids"].to(device), batch["attention_mask"].to(device))
                out[rows] = embeddings.float().cpu()
    finally:
        model.train(was_training)
    if world_size > 1:  # each row was filled by exactly one process and is zero elsewhere
        summed = out.to(device)
        dist.all_reduce(summed)
        out = summed.cpu()
    return torch.nn.functional.normalize(out, dim=-1) if normalize else out
