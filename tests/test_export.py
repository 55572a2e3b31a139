"""Exports: sentence-transformers loads the right pooling, transformers loads a plain folder."""

import json

import numpy as np
import pytest
import torch
from transformers import AutoModel

from simcse_mini import SimCSE
from simcse_mini.export import ExportError, export
from embedding_models import make_spread_encoder, save_simcse_model, varied_sentences

TRAINING = {"objective": "unsup", "model_name_or_path": "bert-base-uncased", "train_file": "wiki1m.txt",
            "per_device_train_batch_size": 64, "learning_rate": 3e-5, "temp": 0.05, "max_seq_length": 32,
            "do_mlm": False}


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return make_spread_encoder(tmp_path_factory.mktemp("spread-bert"))


@pytest.mark.parametrize("pooler,mlp_only_train,modules", [
    ("cls", False, ["Transformer", "Pooling", "Dense"]),
    ("cls", True, ["Transformer", "Pooling"]),
    ("cls_before_pooler", False, ["Transformer", "Pooling"]),
    ("avg", False, ["Transformer", "Pooling"])])
def test_sentence_transformers_round_trip_equals_encode(encoder, tmp_path, pooler, mlp_only_train, modules):
    st = pytest.importorskip("sentence_transformers")
    folder = save_simcse_model(encoder, tmp_path / "model", pooler, mlp_only_train)
    model = SimCSE.from_pretrained(folder, device="cpu")
    out = model.export(tmp_path / "st", format="sentence-transformers")
    listed = json.loads((out / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in listed] == modules
    loaded = st.SentenceTransformer(str(out), device="cpu")
    sentences = varied_sentences(12)
    for normalize in (True, False):
        np.testing.assert_allclose(loaded.encode(sentences, batch_size=5, normalize_embeddings=normalize),
                                   model.encode(sentences, normalize=normalize), atol=1e-5)
    again = SimCSE.from_pretrained(out, device="cpu")  # the folder is still a simcse-mini model
    np.testing.assert_allclose(again.encode(sentences), model.encode(sentences), atol=1e-6)


def test_layer_mixing_poolers_export_only_to_huggingface(encoder, tmp_path):
    folder = save_simcse_model(encoder, tmp_path / "model", "avg_first_last")
    with pytest.raises(ExportError, match="huggingface"):
        export(str(folder), tmp_path / "st", "sentence-transformers")
    out = export(str(folder), tmp_path / "hf", "huggingface")
    assert "output_hidden_states=True" in (out / "README.md").read_text()


@pytest.mark.parametrize("pooler", ["cls", "avg"])
def test_huggingface_export_is_a_plain_automodel_folder(encoder, tmp_path, pooler):
    run = tmp_path / "run"  # exported straight from a training run folder
    save_simcse_model(encoder, run / "final", pooler, step=8, training=TRAINING)
    (run / "summary.json").write_text("{}")
    out = export(str(run), tmp_path / "hf", "huggingface")
    assert (out / "model.safetensors").is_file() and not list(out.glob("*.bin"))
    assert not (out / "simcse_config.json").exists()
    sentences = varied_sentences(6)
    model = SimCSE.from_pretrained(run, device="cpu")
    plain = AutoModel.from_pretrained(out).eval()
    batch = model.tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        outputs = plain(**batch)
    if pooler == "cls":  # the MLP head is the pooling layer, as in princeton-nlp checkpoints
        embeddings = outputs.pooler_output
    else:
        mask = batch["attention_mask"].unsqueeze(-1)
        embeddings = (outputs.last_hidden_state * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(embeddings.numpy(), model.encode(sentences, normalize=False), atol=1e-5)
    reloaded = SimCSE.from_pretrained(out, device="cpu")  # config.json records the pooler
    np.testing.assert_allclose(reloaded.encode(sentences), model.encode(sentences), atol=1e-5)
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: transformers") and "# hf\n" in card
    for fact in (f"pooler `{pooler}`", "unsup SimCSE", "from pretrained `bert-base-uncased`", "8 steps"):
        assert fact in card


def test_export_refuses_a_folder_in_use(encoder, tmp_path):
    folder = save_simcse_model(encoder, tmp_path / "model")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not an empty folder"):
        export(str(folder), tmp_path / "taken")
    with pytest.raises(ExportError, match="unknown export format"):
        export(str(folder), tmp_path / "new", "onnx")
