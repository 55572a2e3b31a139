"""Dropout mask modes do what they say, and one backward pass over the batch is exact."""

import pytest
import torch

from simcse_mini.dropout import install_mask_control
from simcse_mini.losses import InfoNCELoss
from simcse_mini.model import SimCSEModel, load_tokenizer

SENTENCES = ["the man plays the guitar", "the man plays the guitar", "a dog runs in the park", "old house"]


def inputs(tiny_encoder):
    enc = load_tokenizer(str(tiny_encoder))(SENTENCES, padding=True, return_tensors="pt")
    return enc["input_ids"].unsqueeze(1), enc["attention_mask"].unsqueeze(1)


def model_with(tiny_encoder, mode):
    torch.manual_seed(0)
    model = SimCSEModel.from_pretrained(str(tiny_encoder), "avg")
    if mode == "independent":  # the default leaves PyTorch's dropout alone; install the control to see masks
        assert model.mask_control is None and model.encoder.config._attn_implementation != "simcse_masked_dropout"
        model.mask_control = install_mask_control(model.encoder, mode)
    else:
        model = SimCSEModel.from_pretrained(str(tiny_encoder), "avg", dropout_mask=mode)
    return model.train()


def recorded_masks(model, tiny_encoder):
    with model.mask_control.recording() as masks:
        views = model(*inputs(tiny_encoder))["embeddings"]
    return masks, views


@pytest.mark.parametrize("mode", ["independent", "shared_across_batch", "shared_across_views"])
def test_masks_have_the_modes_structure(tiny_encoder, mode):
    model = model_with(tiny_encoder, mode)
    masks, views = recorded_masks(model, tiny_encoder)
    layers = model.encoder.config.num_hidden_layers
    assert len(masks) == 1 + 3 * layers  # embeddings, then attention probs, attention output, feed-forward per layer
    batch = len(SENTENCES)
    for mask in masks:
        per_view = mask.view(2, batch, -1)  # row v*B + i is view v of example i
        same_example_across_views = torch.equal(per_view[0], per_view[1])
        same_across_examples = all(torch.equal(per_view[v, 0], per_view[v, i]) for v in range(2) for i in range(batch))
        if mode == "independent":
            assert not same_example_across_views and not same_across_examples
        elif mode == "shared_across_batch":
            assert same_across_examples and not same_example_across_views
        else:
            assert same_example_across_views and not same_across_examples
    identical_sentences_match = torch.allclose(views[0, 0], views[0, 1])
    views_match = torch.allclose(views[0], views[1])
    assert identical_sentences_match == (mode == "shared_across_batch")
    assert views_match == (mode == "shared_across_views")


def test_off_mode_draws_nothing_and_equals_eval(tiny_encoder):
    model = model_with(tiny_encoder, "off")
    masks, views = recorded_masks(model, tiny_encoder)
    assert masks == []
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(*inputs(tiny_encoder))["embeddings"], views.detach())


def test_shared_modes_still_drop_at_the_configured_rate(tiny_encoder):
    model = model_with(tiny_encoder, "shared_across_views")
    masks, _ = recorded_masks(model, tiny_encoder)
    dropped = torch.cat([(m == 0).flatten().float() for m in masks]).mean().item()
    assert 0.07 < dropped < 0.13  # the tiny encoder's dropout is 0.1


def test_one_backward_pass_equals_per_example_passes_with_the_same_masks(tiny_encoder):
    """The batch shares one network; each row's mask only multiplies its own activations. So the
    gradient of the batch loss from one backward pass equals (a) the gradient obtained by encoding
    every row on its own, with its own replayed mask, and (b) the sum of the per-example loss
    terms' gradients, each from its own pass with the same masks."""
    model = model_with(tiny_encoder, "independent")
    ids, attention = inputs(tiny_encoder)
    loss_fn = InfoNCELoss(0.05)
    params = [p for p in model.parameters()]

    def grads_of(loss):
        model.zero_grad()
        loss.backward()
        return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in params]

    with model.mask_control.recording() as masks:
        views = model(ids, attention)["embeddings"]
    batch_grads = grads_of(loss_fn(views[0], views[1]) * len(SENTENCES))  # summed over examples

    # (a) every one of the 2B rows encoded separately, with its own slice of each recorded mask
    rows = []
    for view in range(2):
        for i in range(len(SENTENCES)):
            row = view * len(SENTENCES) + i
            with model.mask_control.replaying(masks, rows=slice(row, row + 1)):
                rows.append(model._pooled(ids[i], attention[i]))
    separate = torch.cat(rows).view(2, len(SENTENCES), -1)
    torch.testing.assert_close(separate, views.detach(), atol=1e-5, rtol=1e-5)
    for g_batch, g_sep in zip(batch_grads, grads_of(loss_fn(separate[0], separate[1]) * len(SENTENCES))):
        torch.testing.assert_close(g_sep, g_batch, atol=1e-5, rtol=1e-4)

    # (b) per-example loss terms, each from its own forward and backward pass with the same masks
    summed = [torch.zeros_like(p) for p in params]
    for i in range(len(SENTENCES)):
        with model.mask_control.replaying(masks):
            views_i = model(ids, attention)["embeddings"]
        logits, targets = loss_fn.logits(views_i[0], views_i[1])
        term = torch.nn.functional.cross_entropy(logits[i:i + 1], targets[i:i + 1])
        summed = [s + g for s, g in zip(summed, grads_of(term))]
    for g_batch, g_sum in zip(batch_grads, summed):
        torch.testing.assert_close(g_sum, g_batch, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("mode", ["independent", "shared_across_views"])
def test_dropout_option_sets_the_rate_of_every_dropout(tiny_encoder, mode):
    torch.manual_seed(0)
    model = SimCSEModel.from_pretrained(str(tiny_encoder), "avg", dropout_mask=mode, dropout=0.3).train()
    if model.mask_control is None:
        model.mask_control = install_mask_control(model.encoder, mode)
    masks, _ = recorded_masks(model, tiny_encoder)
    assert len(masks) == 1 + 3 * model.encoder.config.num_hidden_layers  # attention probabilities included
    dropped = torch.cat([(m == 0).flatten().float() for m in masks]).mean().item()
    assert 0.27 < dropped < 0.33


def test_dropout_zero_makes_training_views_identical(tiny_encoder):
    model = SimCSEModel.from_pretrained(str(tiny_encoder), "avg", dropout=0.0).train()
    views = model(*inputs(tiny_encoder))["embeddings"]
    torch.testing.assert_close(views[0], views[1])
