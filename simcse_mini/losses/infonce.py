"""InfoNCE over cosine similarity: SimCSE's unsupervised and supervised objective."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..distributed import gather_with_grad, world


class InfoNCELoss(nn.Module):
    """Cross-entropy over cosine similarities divided by a temperature.

    Takes (all [B, H], this process's examples):
      - ``anchors``: the first view / premise of each example,
      - ``positives``: the second view / entailed sentence,
      - ``hard_negatives`` (optional): a contradiction per example (supervised SimCSE).
    Returns the mean over this process's anchors of ``-log softmax(logits)[own positive]``, where
    anchor i's logits are ``cos(anchor_i, c) / temperature`` for every candidate c: the positives of
    all processes, then their hard negatives. ``hard_negative_weight`` is added to the logit of
    anchor i's own hard negative (SimCSE's alpha; 0 leaves the logits unchanged).

    Unsupervised SimCSE passes the two dropout views of each sentence as anchors and positives, so
    the other sentences' second views are the negatives. Under several processes, positives and
    hard negatives are gathered with gradient (see ``gather_with_grad``). Each process's loss
    averages its own anchors, so averaging gradients across processes (what DDP does) gives exactly
    the gradient of one process training on the whole global batch.

    The similarities are computed in float32 even under mixed precision: with a temperature of
    0.05 the logits reach 20, where bf16 rounding would blur the softmax.
    """

    def __init__(self, temperature: float = 0.05, hard_negative_weight: float = 0.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.hard_negative_weight = hard_negative_weight

    def logits(self, anchors: torch.Tensor, positives: torch.Tensor,
               hard_negatives: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The [B, C] logit matrix and the index of each anchor's positive among the C candidates."""
        rank, _ = world()
        batch = anchors.shape[0]
        with torch.autocast(device_type=anchors.device.type, enabled=False):
            anchors = F.normalize(anchors.float(), dim=-1)
            candidates = [gather_with_grad(positives.float())]
            if hard_negatives is not None:
                candidates.append(gather_with_grad(hard_negatives.float()))
            candidates = F.normalize(torch.cat(candidates), dim=-1)
            logits = anchors @ candidates.T / self.temperature
            own = rank * batch + torch.arange(batch, device=anchors.device)
            if hard_negatives is not None and self.hard_negative_weight:
                num_positives = candidates.shape[0] // 2
                bonus = torch.zeros_like(logits)
                bonus[torch.arange(batch, device=logits.device), num_positives + own] = self.hard_negative_weight
                logits = logits + bonus
        return logits, own

    def forward(self, anchors: torch.Tensor, positives: torch.Tensor,
                hard_negatives: torch.Tensor | None = None) -> torch.Tensor:
        logits, targets = self.logits(anchors, positives, hard_negatives)
        return F.cross_entropy(logits, targets)
