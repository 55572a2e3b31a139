"""The model: per-example dropout masks, poolers that ignore padding, saving and loading."""

import json

import pytest
import torch
from transformers import AutoModel

from simcse_mini.config import POOLERS
from simcse_mini.model import SIMCSE_CONFIG_NAME, SimCSEModel, load_tokenizer


def batch(tokenizer, sentences):
    enc = tokenizer(sentences, padding=True, return_tensors="pt")
    return enc["input_ids"].unsqueeze(1), enc["attention_mask"].unsqueeze(1)


@pytest.fixture
def model(tiny_encoder):
    torch.manual_seed(0)
    return SimCSEModel.from_pretrained(str(tiny_encoder), "cls")


def test_training_views_have_independent_masks(model, tiny_encoder):
    tokenizer = load_tokenizer(str(tiny_encoder))
    ids, mask = batch(tokenizer, ["the man plays guitar", "the man plays guitar", "a dog runs"])
    model.train()
    views = model(ids, mask)["embeddings"]  # [2, 3, H]
    assert views.shape[:2] == (2, 3)
    assert not torch.allclose(views[0], views[1]), "the two views of a sentence must differ"
    assert not torch.allclose(views[0, 0], views[0, 1]), "identical sentences in a batch must get different masks"
    assert not torch.allclose(views[1, 0], views[1, 1])
    model.eval()
    with torch.no_grad():
        views = model(ids, mask)["embeddings"]
    torch.testing.assert_close(views[0], views[1])
    torch.testing.assert_close(views[0, 0], views[0, 1])


def test_supervised_input_keeps_example_order(model, tiny_encoder):
    tokenizer = load_tokenizer(str(tiny_encoder))
    sents = [["the man", "a dog runs", "red ball"], ["the cat sleeps", "a bird sings", "old house"]]
    flat = tokenizer([s for ex in sents for s in ex], padding=True, return_tensors="pt")
    ids, mask = flat["input_ids"].view(2, 3, -1), flat["attention_mask"].view(2, 3, -1)
    model.eval()
    with torch.no_grad():
        views = model(ids, mask)["embeddings"]  # [3, 2, H]
        one = model.embed(*[t.view(6, -1) for t in (ids, mask)])
    for i in range(2):
        for v in range(3):
            torch.testing.assert_close(views[v, i], model.mlp(model._pooled(ids[i, v:v + 1], mask[i, v:v + 1]))[0])
    assert one.shape == (6, 32)


@pytest.mark.parametrize("pooler", POOLERS)
def test_poolers_ignore_padding(tiny_encoder, pooler):
    model = SimCSEModel.from_pretrained(str(tiny_encoder), pooler).eval()
    tokenizer = load_tokenizer(str(tiny_encoder))
    short = "a dog runs"
    alone = tokenizer([short], return_tensors="pt")
    padded = tokenizer([short, "the old man reads a big red book in the green garden"], padding=True, return_tensors="pt")
    assert padded["attention_mask"][0].sum() < padded["attention_mask"].shape[1]
    with torch.no_grad():
        a = model.embed(alone["input_ids"], alone["attention_mask"])[0]
        b = model.embed(padded["input_ids"], padded["attention_mask"])[0]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_mlp_only_train_drops_head_when_embedding(tiny_encoder):
    model = SimCSEModel.from_pretrained(str(tiny_encoder), "cls", mlp_only_train=True).eval()
    tokenizer = load_tokenizer(str(tiny_encoder))
    enc = tokenizer(["a dog runs"], return_tensors="pt")
    with torch.no_grad():
        cls_state = model.encoder(**enc).last_hidden_state[:, 0]
        torch.testing.assert_close(model.embed(enc["input_ids"], enc["attention_mask"]), cls_state)
        training_view = model(enc["input_ids"].unsqueeze(1), enc["attention_mask"].unsqueeze(1))["embeddings"][0]
        torch.testing.assert_close(training_view, model.mlp(cls_state))


@pytest.mark.parametrize("pooler,mlp_only_train", [("cls", False), ("cls", True), ("avg", False)])
def test_save_and_load_give_identical_embeddings(tiny_encoder, tmp_path, pooler, mlp_only_train):
    torch.manual_seed(1)
    model = SimCSEModel.from_pretrained(str(tiny_encoder), pooler, mlp_only_train=mlp_only_train).eval()
    tokenizer = load_tokenizer(str(tiny_encoder))
    with torch.no_grad():  # make the head non-trivial so that losing it would show
        if model.mlp is not None:
            model.mlp.dense.weight.normal_()
    model.save_pretrained(tmp_path / "saved", tokenizer)
    record = json.loads((tmp_path / "saved" / SIMCSE_CONFIG_NAME).read_text())
    assert record["pooler_type"] == pooler and record["mlp_only_train"] == mlp_only_train
    loaded = SimCSEModel.from_pretrained(str(tmp_path / "saved")).eval()  # no pooler given: read from the folder
    assert loaded.pooler_type == pooler and loaded.embedding_uses_mlp == model.embedding_uses_mlp
    enc = tokenizer(["a dog runs", "the man plays guitar in the park"], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(loaded.embed(enc["input_ids"], enc["attention_mask"]),
                                   model.embed(enc["input_ids"], enc["attention_mask"]))
    assert AutoModel.from_pretrained(tmp_path / "saved") is not None  # plain transformers loads it too


def test_missing_model_gives_clear_error(tmp_path):
    from simcse_mini.model import ModelLoadError
    with pytest.raises(ModelLoadError, match="could not load the encoder"):
        SimCSEModel.from_pretrained(str(tmp_path / "nowhere"))


def test_head_from_pooler_takes_the_encoders_pooling_layer(tiny_encoder):
    model = SimCSEModel.from_pretrained(str(tiny_encoder), "cls", head_from_pooler=True).eval()
    reference = AutoModel.from_pretrained(tiny_encoder).eval()  # BERT with its pooling layer
    tokenizer = load_tokenizer(str(tiny_encoder))
    enc = tokenizer(["a dog runs", "the man plays guitar in the park"], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model.embed(enc["input_ids"], enc["attention_mask"]), reference(**enc).pooler_output)
    assert model.encoder.pooler is None and model.embedding_pooler_type == "cls"
    assert SimCSEModel.from_pretrained(str(tiny_encoder), "cls", mlp_only_train=True).embedding_pooler_type == \
        "cls_before_pooler"


def test_mlm_loss_on_masked_positions_equals_the_full_vocabulary_loss(tiny_encoder):
    from simcse_mini.losses import mask_tokens

    torch.manual_seed(0)
    model = SimCSEModel.from_pretrained(str(tiny_encoder), "cls", with_mlm_head=True).eval()
    tokenizer = load_tokenizer(str(tiny_encoder))
    ids, mask = batch(tokenizer, ["the man plays the guitar in the park", "a dog runs", "old house by the sea"])
    masked, labels = mask_tokens(ids, mask, tokenizer.all_special_ids, tokenizer.mask_token_id, len(tokenizer), 0.5)
    loss = model(ids, mask, mlm_input_ids=masked, mlm_labels=labels)["mlm_loss"]
    reference = model.backbone(input_ids=masked.flatten(0, 1), attention_mask=mask.flatten(0, 1),
                               labels=labels.flatten(0, 1)).loss
    torch.testing.assert_close(loss, reference)
    loss.backward()
    assert model.backbone.cls.predictions.transform.dense.weight.grad is not None
