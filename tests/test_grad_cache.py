"""The cached step replays the first pass's dropout masks and gives the uncached loss and gradients."""

import pytest
import torch
from accelerate import Accelerator

from conftest import make_sentences
from simcse_mini.config import TrainConfig
from simcse_mini.data import ContrastiveCollator
from simcse_mini.dropout import install_mask_control
from simcse_mini.grad_cache import cached_backward
from simcse_mini.losses import InfoNCELoss
from simcse_mini.model import SimCSEModel, load_tokenizer
from simcse_mini.trainer import compute_loss


def full_batch_masks(first_pass: list[torch.Tensor], num_chunks: int, num_views: int) -> list[torch.Tensor]:
    """Chunk masks (rows view-major within each chunk) -> masks for the whole batch (view-major)."""
    per_chunk = len(first_pass) // num_chunks
    merged = []
    for layer in range(per_chunk):
        parts = [first_pass[c * per_chunk + layer] for c in range(num_chunks)]
        by_view = [torch.cat([p.view(num_views, -1, *p.shape[1:])[v] for p in parts]) for v in range(num_views)]
        merged.append(torch.cat(by_view))
    return merged


@pytest.mark.parametrize("objective,views", [("unsup", 1), ("sup", 3)])
def test_cached_equals_uncached_with_dropout_on(tiny_encoder, objective, views):
    tokenizer = load_tokenizer(str(tiny_encoder))
    sentences = make_sentences(12 * views, seed=5)
    examples = [{"input_ids": tokenizer(sentences[i * views:(i + 1) * views])["input_ids"]} for i in range(12)]
    batch = ContrastiveCollator(tokenizer.pad_token_id)(examples)
    torch.manual_seed(0)
    model = SimCSEModel.from_pretrained(str(tiny_encoder), "cls").train()
    control = install_mask_control(model.encoder, "independent")  # PyTorch-style masks, but recorded
    loss_fn = InfoNCELoss(0.05, hard_negative_weight=0.3)
    params = list(model.parameters())

    with control.recording() as masks:
        cached_loss = cached_backward(model, loss_fn, batch, mini_batch_size=5, accelerator=Accelerator(cpu=True))
    cached_grads = [p.grad.clone() for p in params]
    half = len(masks) // 2
    for first, second in zip(masks[:half], masks[half:]):
        assert torch.equal(first, second), "the second pass must reuse the first pass's masks"
    assert any((m == 0).any() for m in masks), "dropout must be on"

    model.zero_grad()
    with control.replaying(full_batch_masks(masks[:half], num_chunks=3, num_views=max(views, 2))):
        loss = compute_loss(model, loss_fn, batch, TrainConfig(model_name_or_path="m", objective=objective))
    loss.backward()
    assert cached_loss.item() == pytest.approx(loss.item(), abs=1e-5)
    for p, cached in zip(params, cached_grads):
        torch.testing.assert_close(cached, p.grad, atol=1e-5, rtol=1e-4)


def test_trainer_with_grad_cache_matches_plain_training_without_dropout(tmp_path, corpus_file):
    from safetensors.torch import load_file

    from conftest import make_tiny_encoder
    from simcse_mini.config import load_config
    from simcse_mini.trainer import train

    encoder = make_tiny_encoder(tmp_path / "enc", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    finals = []
    for name, extra in (("plain", {}), ("cached", {"grad_cache": True, "mini_batch_size": 5})):
        cfg = load_config(None, {"model_name_or_path": str(encoder), "train_file": str(corpus_file),
                                 "output_dir": str(tmp_path / name), "per_device_train_batch_size": 16,
                                 "learning_rate": 1e-4, "max_steps": 3, "save_steps": 0, "pooler_type": "avg",
                                 **extra})
        finals.append(load_file(train(cfg)["final_model"] + "/model.safetensors"))
    for key, tensor in finals[0].items():  # Adam's normalised steps carry float rounding up to ~lr * 1e-2
        torch.testing.assert_close(finals[1][key], tensor, atol=2e-6, rtol=1e-4, msg=key)
