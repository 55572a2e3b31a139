"""The losses against hand computations on small fixed tensors."""

import math

import pytest
import torch

from simcse_mini.losses import InfoNCELoss, mask_tokens

A = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0]])
P = torch.tensor([[0.8, 0.6], [1.0, 1.0], [-1.0, 1.0]])
N = torch.tensor([[1.0, 0.1], [0.0, -1.0], [0.0, 1.0]])


def cosine(u, v):
    return sum(a * b for a, b in zip(u, v)) / math.sqrt(sum(a * a for a in u) * sum(b * b for b in v))


def hand_infonce(anchors, candidates, temperature, bonus=None):
    """-log softmax over plain Python floats; bonus[(i, j)] is added to logit j of anchor i."""
    total = 0.0
    for i, a in enumerate(anchors):
        logits = [cosine(a, c) / temperature + (bonus or {}).get((i, j), 0.0) for j, c in enumerate(candidates)]
        total += -(logits[i] - math.log(sum(math.exp(x) for x in logits)))
    return total / len(anchors)


def test_unsupervised_loss_matches_hand_computation():
    loss = InfoNCELoss(temperature=0.05)(A, P)
    expected = hand_infonce(A.tolist(), P.tolist(), 0.05)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_supervised_loss_matches_hand_computation():
    loss = InfoNCELoss(temperature=0.1)(A, P, N)
    expected = hand_infonce(A.tolist(), P.tolist() + N.tolist(), 0.1)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_hard_negative_weight_changes_only_own_hard_negative_logits():
    plain, targets = InfoNCELoss(0.05).logits(A, P, N)
    weighted, _ = InfoNCELoss(0.05, hard_negative_weight=0.7).logits(A, P, N)
    diff = weighted - plain
    expected = torch.zeros_like(diff)
    for i in range(3):
        expected[i, 3 + i] = 0.7  # candidates: 3 positives, then 3 hard negatives
    torch.testing.assert_close(diff, expected)
    assert targets.tolist() == [0, 1, 2]
    loss = InfoNCELoss(0.1, hard_negative_weight=0.7)(A, P, N)
    bonus = {(i, 3 + i): 0.7 for i in range(3)}
    assert loss.item() == pytest.approx(hand_infonce(A.tolist(), P.tolist() + N.tolist(), 0.1, bonus), rel=1e-5)


def test_loss_is_float32_under_bf16_autocast():
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = InfoNCELoss(0.05)(A.bfloat16(), P.bfloat16())
    assert loss.dtype == torch.float32
    expected = hand_infonce(A.bfloat16().float().tolist(), P.bfloat16().float().tolist(), 0.05)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_invalid_temperature():
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(0.0)


def test_mask_tokens_masks_only_real_words():
    torch.manual_seed(0)
    ids = torch.tensor([[2, 10, 11, 12, 13, 14, 15, 16, 3, 0, 0]] * 200)
    attention = (ids != 0).long()
    masked, labels = mask_tokens(ids, attention, special_ids=[0, 1, 2, 3, 4], mask_id=4, vocab_size=50, probability=0.15)
    chosen = labels != -100
    assert not chosen[:, [0, 8, 9, 10]].any(), "special tokens and padding are never chosen"
    assert (labels[chosen] == ids[chosen]).all()
    rate = chosen[:, 1:8].float().mean().item()
    assert 0.11 < rate < 0.19
    assert (masked[~chosen] == ids[~chosen]).all()
    to_mask = (masked[chosen] == 4).float().mean().item()
    assert 0.7 < to_mask < 0.9
