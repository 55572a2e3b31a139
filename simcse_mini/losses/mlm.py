"""The auxiliary masked-language-modelling objective (SimCSE's ``do_mlm``)."""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


def mask_tokens(input_ids: torch.Tensor, attention_mask: torch.Tensor, special_ids: list[int],
                mask_id: int, vocab_size: int, probability: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: choose ``probability`` of the real, non-special tokens; of those, 80% become
    [MASK], 10% a random token, 10% stay. Returns (masked input ids, labels), where labels are
    ``IGNORE_INDEX`` except at the chosen positions, so the masked-LM loss of the backbone
    (cross-entropy over the vocabulary at the chosen positions) is the auxiliary loss.

    Runs on the ids' device with the global RNG, inside the training step, so that a resumed run
    draws the same masks as an uninterrupted one.
    """
    maskable = attention_mask.bool() & ~torch.isin(input_ids, torch.tensor(special_ids, device=input_ids.device))
    chosen = (torch.rand(input_ids.shape, device=input_ids.device) < probability) & maskable
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    action = torch.rand(input_ids.shape, device=input_ids.device)
    masked = input_ids.clone()
    masked[chosen & (action < 0.8)] = mask_id
    randomised = chosen & (action >= 0.8) & (action < 0.9)
    masked[randomised] = torch.randint(vocab_size, (int(randomised.sum()),), device=input_ids.device)
    return masked, labels
