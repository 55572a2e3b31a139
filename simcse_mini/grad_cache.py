"""Cached contrastive step (GradCache, Gao et al. 2021): any batch size in the memory of a small one.

The contrastive loss couples every example of the batch, but the encoder does not: each example's
embedding depends only on its own tokens and dropout mask. So the step is split:

1. embed the batch chunk by chunk without building a graph, remembering the RNG state before each
   chunk;
2. compute the loss on those embeddings and backpropagate it to the embeddings only (cheap);
3. re-embed each chunk with a graph, restoring its RNG state so dropout draws the very same masks,
   and backpropagate the cached embedding gradients through it.

Peak activation memory is that of one chunk; the gradients equal the uncached step's with the same
masks (tests/test_grad_cache.py checks loss, masks and every gradient). The price is a second
forward pass over the batch.
"""

from __future__ import annotations

import torch

from .losses import InfoNCELoss


def _rng_state(device: torch.device):
    return torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def _set_rng_state(state, device: torch.device) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


def cached_backward(model, loss_fn: InfoNCELoss, batch: dict[str, torch.Tensor], mini_batch_size: int,
                    accelerator) -> torch.Tensor:
    """Forward and backward for one batch in chunks of ``mini_batch_size`` examples; returns the
    loss (detached). Gradients are left in the parameters, as after ``accelerator.backward``."""
    input_ids, attention_mask = batch["input_ids"], batch["attention_mask"]
    device = input_ids.device
    chunks = [slice(start, start + mini_batch_size) for start in range(0, input_ids.shape[0], mini_batch_size)]

    states, cached = [], []
    with torch.no_grad():
        for rows in chunks:
            states.append(_rng_state(device))
            cached.append(model(input_ids=input_ids[rows], attention_mask=attention_mask[rows])["embeddings"])
    views = torch.cat(cached, dim=1).float().requires_grad_()  # [V, B, H]
    loss = loss_fn(views[0], views[1], views[2] if views.shape[0] > 2 else None)
    loss.backward()  # only down to the embeddings: fills views.grad

    after_first_pass = _rng_state(device)
    for i, (rows, state) in enumerate(zip(chunks, states)):
        _set_rng_state(state, device)
        embeddings = model(input_ids=input_ids[rows], attention_mask=attention_mask[rows])["embeddings"]
        surrogate = (embeddings.float() * views.grad[:, rows]).sum()
        # DDP would all-reduce after every chunk; synchronise once, on the last.
        if i < len(chunks) - 1:
            with accelerator.no_sync(model):
                accelerator.backward(surrogate)
        else:
            accelerator.backward(surrogate)
    _set_rng_state(after_first_pass, device)
    return loss.detach()
