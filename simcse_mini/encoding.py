"""Turning sentences into embeddings with a SimCSEModel: batched, length-sorted, in input order."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .model import SimCSEModel


@torch.inference_mode()
def encode(model: SimCSEModel, tokenizer, sentences: list[str], batch_size: int = 64,
           max_length: int | None = None, normalize: bool = False,
           show_progress_bar: bool = False) -> torch.Tensor:
    """Embed ``sentences`` and return a float32 [N, H] tensor on the CPU, rows in input order.

    Sentences are sorted by token count so every batch is padded only to its own longest sentence;
    the model runs in eval mode (no dropout) and is put back in the mode it was in.
    """
    device = next(model.parameters()).device
    max_length = max_length or tokenizer.model_max_length
    if max_length > 100_000:  # tokenizers without a recorded limit report a huge sentinel
        max_length = model.encoder.config.max_position_embeddings
    token_ids = tokenizer(list(sentences), truncation=True, max_length=max_length,
                          add_special_tokens=True)["input_ids"]
    order = sorted(range(len(token_ids)), key=lambda i: -len(token_ids[i]))
    was_training = model.training
    model.eval()
    out = torch.empty((len(token_ids), model.encoder.config.hidden_size))
    try:
        for start in tqdm(range(0, len(order), batch_size), desc="Encoding", disable=not show_progress_bar):
            rows = order[start: start + batch_size]
            batch = tokenizer.pad({"input_ids": [token_ids[i] for i in rows]}, return_tensors="pt")
            embeddings = model.embed(batch["input_ids"].to(device), batch["attention_mask"].to(device))
            out[rows] = embeddings.float().cpu()
    finally:
        model.train(was_training)
    return torch.nn.functional.normalize(out, dim=-1) if normalize else out
