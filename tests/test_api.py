"""The Python API: encoding order and shapes, similarity, exact search, and what each path loads as."""

import json
import logging
import warnings

import numpy as np
import pytest
import torch

from conftest import make_sentences, make_tiny_encoder
from embedding_models import make_spread_encoder, save_simcse_model, varied_sentences
from simcse_mini import SimCSE
from simcse_mini.model import ModelLoadError, load_tokenizer
from simcse_mini.search import EmbeddingIndex, faiss_installed


@pytest.fixture(scope="module")
def spread_encoder(tmp_path_factory):
    return make_spread_encoder(tmp_path_factory.mktemp("spread-bert"))


@pytest.fixture(scope="module")
def model_dir(spread_encoder, tmp_path_factory):
    return save_simcse_model(spread_encoder, tmp_path_factory.mktemp("simcse") / "model")


@pytest.fixture(scope="module")
def model(model_dir):
    return SimCSE.from_pretrained(model_dir, device="cpu")


def test_rows_come_back_in_input_order(model):
    sentences = varied_sentences()
    together = model.encode(sentences, batch_size=4)  # six length-sorted batches
    alone = np.stack([model.encode(s) for s in sentences])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    distances = np.linalg.norm(together[:, None] - together[None], axis=-1) + np.eye(len(sentences))
    assert distances.min() > 1e-2, "sentences must have distinct embeddings for the order to show"


def test_one_string_gives_one_vector(model):
    one = model.encode("a dog runs in the park")
    assert one.shape == (model.dimension,)
    np.testing.assert_allclose(one, model.encode(["a dog runs in the park"])[0], atol=1e-6)
    tensor = model.encode(["a dog runs", "red ball"], convert_to="torch")
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32 and tensor.shape == (2, model.dimension)
    assert model.encode([]).shape == (0, model.dimension)
    with pytest.raises(ValueError, match="convert_to"):
        model.encode("a dog", convert_to="list")


def test_inputs_are_cut_to_what_the_encoder_takes(model):
    # A tokenizer borrowed from a larger model allows 512 tokens; the encoder has 64 positions.
    tokenizer = load_tokenizer(model.name)
    tokenizer.model_max_length = 512
    borrowed = SimCSE(model.model, tokenizer, "cpu")
    assert borrowed.max_length == 64
    long_sentence = " ".join(["dog"] * 100)
    np.testing.assert_allclose(borrowed.encode(long_sentence, max_length=1000), borrowed.encode(long_sentence))
    assert not np.allclose(borrowed.encode(long_sentence, max_length=8), borrowed.encode(long_sentence))


def test_normalize(model):
    sentences = varied_sentences(8)
    unit = model.encode(sentences)
    raw = model.encode(sentences, normalize=False)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), unit, atol=1e-6)
    batch = model.tokenizer(sentences[:1], return_tensors="pt")
    with torch.no_grad():
        direct = model.model.embed(batch["input_ids"], batch["attention_mask"])
    np.testing.assert_allclose(raw[0], direct[0].numpy(), atol=1e-5)


def test_batches_are_padded_only_to_their_longest_sentence_in_inference_mode(model, monkeypatch):
    seen = []
    embed = model.model.embed

    def recording_embed(input_ids, attention_mask):
        seen.append((input_ids.shape[1], int(attention_mask.sum(1).max()), torch.is_inference_mode_enabled()))
        return embed(input_ids, attention_mask)

    monkeypatch.setattr(model.model, "embed", recording_embed)
    model.encode(varied_sentences(), batch_size=4)
    assert len(seen) == 6
    assert all(length == longest for length, longest, _ in seen)
    assert all(inference for _, _, inference in seen)
    assert [length for length, _, _ in seen] == sorted((length for length, _, _ in seen), reverse=True)


def test_bf16_is_close_to_fp32(model):
    sentences = varied_sentences(8)
    fp32 = model.encode(sentences)
    bf16 = model.encode(sentences, precision="bf16")
    assert bf16.dtype == np.float32
    assert (fp32 * bf16).sum(1).min() > 0.99
    with pytest.raises(ValueError, match="precision"):
        model.encode(sentences, precision="fp8")


def test_similarity_is_the_cosine_matrix(model):
    a, b = ["a dog runs", "the man plays guitar"], ["a cat sleeps", "the old man sings", "red ball"]
    matrix = model.similarity(a, b)
    ea, eb = model.encode(a, normalize=False), model.encode(b, normalize=False)
    expected = (ea / np.linalg.norm(ea, axis=1, keepdims=True)) @ (eb / np.linalg.norm(eb, axis=1, keepdims=True)).T
    np.testing.assert_allclose(matrix, expected, atol=1e-5)
    assert model.similarity("a dog runs", b).shape == (1, 3)
    np.testing.assert_allclose(model.similarity(ea, eb), expected, atol=1e-5)  # embeddings work too


BACKENDS = ["torch", pytest.param("faiss", marks=pytest.mark.skipif(
    not faiss_installed(), reason="faiss is not installed (pip install 'simcse-mini[faiss]')"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_returns_the_exact_top_k_of_a_brute_force_scan(backend):
    generator = torch.Generator().manual_seed(0)
    corpus = torch.nn.functional.normalize(torch.randn(1000, 32, generator=generator), dim=-1)
    queries = torch.nn.functional.normalize(torch.randn(50, 32, generator=generator), dim=-1)
    scores, ids = EmbeddingIndex(corpus, backend).search(queries, 10)
    expected = torch.topk(queries @ corpus.T, 10)
    assert torch.equal(ids.long(), expected.indices)
    torch.testing.assert_close(scores, expected.values)


@pytest.mark.parametrize("backend", BACKENDS)
def test_search_returns_the_top_k_of_a_brute_force_scan(model, backend):
    corpus = make_sentences(300, seed=5)
    queries = make_sentences(7, seed=6)
    model.build_index(corpus, backend=backend)
    assert model.index.backend == backend
    results = model.search(queries, top_k=10)
    brute = model.encode(queries) @ model.encode(corpus).T
    for query_scores, hits in zip(brute, results):
        # Sentences drawn from a few dozen words can score within float noise of each other, so
        # compare scores: the hits must be the ten best, best first, and each scored correctly.
        np.testing.assert_allclose([hit["score"] for hit in hits], np.sort(query_scores)[::-1][:10], atol=1e-5)
        np.testing.assert_allclose([query_scores[hit["corpus_id"]] for hit in hits], [hit["score"] for hit in hits],
                                   atol=1e-5)
        assert [hit["sentence"] for hit in hits] == [corpus[hit["corpus_id"]] for hit in hits]
    one = model.search(queries[0], top_k=3)
    np.testing.assert_allclose([hit["score"] for hit in one], [hit["score"] for hit in results[0][:3]], atol=1e-5)
    threshold = results[0][4]["score"]
    assert all(hit["score"] >= threshold for hit in model.search(queries[0], top_k=10, threshold=threshold))
    assert len(model.search(queries[0], top_k=10, threshold=threshold)) < 10
    assert len(model.search(queries[0], top_k=1000)) == len(corpus)


def test_search_with_precomputed_embeddings(model):
    corpus = make_sentences(20, seed=7)
    embeddings = model.encode(corpus)
    model.build_index(corpus, embeddings, backend="torch")
    assert model.search(corpus[3], top_k=1)[0]["corpus_id"] == 3
    with pytest.raises(ValueError, match="do not match"):
        model.build_index(corpus[:5], embeddings)
    with pytest.raises(RuntimeError, match="build_index"):
        SimCSE(model.model, model.tokenizer, "cpu").search("a dog")


# --- what a path loads as -------------------------------------------------------------------------
def test_run_folder_loads_best_else_final(tiny_encoder, tmp_path, caplog):
    run = tmp_path / "run"
    save_simcse_model(tiny_encoder, run / "final", seed=1)
    (run / "summary.json").write_text("{}")
    with caplog.at_level(logging.INFO, logger="simcse_mini"):
        final = SimCSE.from_pretrained(run, device="cpu")
    assert final.name == str(run / "final") and "using its final/ model" in caplog.text
    save_simcse_model(tiny_encoder, run / "best", seed=2)
    best = SimCSE.from_pretrained(run, device="cpu")
    assert best.name == str(run / "best")
    np.testing.assert_allclose(best.encode("a dog runs"), SimCSE.from_pretrained(run / "best").encode("a dog runs"))
    assert not np.allclose(best.encode("a dog runs"), final.encode("a dog runs"))
    (tmp_path / "empty-run").mkdir()
    (tmp_path / "empty-run" / "summary.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="without a saved best/ or final/"):
        SimCSE.from_pretrained(tmp_path / "empty-run")


@pytest.mark.parametrize("pooler,mlp_only_train", [("cls", True), ("avg", False)])
def test_simcse_model_keeps_its_recorded_pooler(tiny_encoder, tmp_path, pooler, mlp_only_train):
    folder = save_simcse_model(tiny_encoder, tmp_path / "m", pooler, mlp_only_train)
    model = SimCSE.from_pretrained(folder, device="cpu")
    expected = "cls_before_pooler" if mlp_only_train else pooler
    assert model.model.embedding_pooler_type == expected
    if pooler == "avg":  # no head was trained, and a random one is never made up
        with pytest.raises(ModelLoadError, match="no MLP head"):
            SimCSE.from_pretrained(folder, pooler="cls")


def princeton_checkpoint(folder, legacy_bin=False, seed=3):
    """A random tiny BERT laid out like princeton-nlp/*-simcse-*: an AutoModel folder whose pooler
    holds the trained MLP (SimCSE's simcse_to_huggingface.py renames mlp.* to pooler.*)."""
    from transformers import BertModel
    make_spread_encoder(folder, seed=seed)
    model = BertModel.from_pretrained(folder)  # with its pooling layer
    with torch.no_grad():
        model.pooler.dense.weight.normal_(std=0.2)
        model.pooler.dense.bias.normal_(std=0.2)
    if legacy_bin:
        (folder / "model.safetensors").unlink()
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    else:
        model.save_pretrained(folder)
    return model.eval()


@pytest.mark.parametrize("legacy_bin", [False, True])
@pytest.mark.parametrize("name,pooler", [("sup-simcse-tiny-bert", "cls"), ("unsup-simcse-tiny-bert", "cls_before_pooler")])
def test_princeton_checkpoint_loads_with_the_right_pooler(tmp_path, name, pooler, legacy_bin):
    reference = princeton_checkpoint(tmp_path / name, legacy_bin)
    model = SimCSE.from_pretrained(tmp_path / name, device="cpu")
    assert model.model.pooler_type == pooler and model.model.embedding_pooler_type == pooler
    sentences = ["a dog runs", "the man plays the guitar in the park"]
    batch = load_tokenizer(str(tmp_path / name))(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        outputs = reference(**batch)
    expected = outputs.pooler_output if pooler == "cls" else outputs.last_hidden_state[:, 0]
    np.testing.assert_allclose(model.encode(sentences, normalize=False), expected.numpy(), atol=1e-5)
    if pooler == "cls":
        torch.testing.assert_close(model.model.mlp.dense.weight, reference.pooler.dense.weight)
        assert model.model.encoder.pooler is None  # moved into the head, not computed twice


def test_plain_encoder_defaults_to_mean_pooling_and_takes_a_given_pooler(tiny_encoder, tmp_path):
    assert SimCSE.from_pretrained(tiny_encoder, device="cpu").model.pooler_type == "avg"
    renamed = tmp_path / "my-encoder"  # a princeton checkpoint under another name: say which pooler
    reference = princeton_checkpoint(renamed)
    model = SimCSE.from_pretrained(renamed, device="cpu", pooler="cls")
    torch.testing.assert_close(model.model.mlp.dense.bias, reference.pooler.dense.bias)


def test_cls_without_trained_pooling_layer_is_refused(tmp_path):
    from transformers import BertModel
    folder = make_tiny_encoder(tmp_path / "enc")
    BertModel.from_pretrained(folder, add_pooling_layer=False).save_pretrained(folder)
    with pytest.raises(ModelLoadError, match="no trained Linear\\+Tanh pooling layer"):
        SimCSE.from_pretrained(folder, pooler="cls")


def test_sentence_transformers_folder_keeps_its_pooling(spread_encoder, tmp_path):
    st = pytest.importorskip("sentence_transformers")
    with warnings.catch_warnings():  # the long-standing module path, deprecated in sentence-transformers 6
        warnings.simplefilter("ignore", DeprecationWarning)
        from sentence_transformers.models import Dense, Pooling, Transformer
    transformer = Transformer(str(spread_encoder), max_seq_length=48)
    st_model = st.SentenceTransformer(modules=[transformer, Pooling(32, pooling_mode="cls")], device="cpu")
    st_model.save(str(tmp_path / "st-cls"))
    model = SimCSE.from_pretrained(tmp_path / "st-cls", device="cpu")
    assert model.model.pooler_type == "cls_before_pooler"
    sentences = varied_sentences(6)
    np.testing.assert_allclose(model.encode(sentences), st_model.encode(sentences, normalize_embeddings=True),
                               atol=1e-5)
    st.SentenceTransformer(modules=[transformer, Pooling(32, pooling_mode="mean"), Dense(32, 8)],
                           device="cpu").save(str(tmp_path / "st-dense"))
    with pytest.raises(ModelLoadError, match="does not reproduce"):
        SimCSE.from_pretrained(tmp_path / "st-dense")


# --- safety -----------------------------------------------------------------------------------------
class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_code_in_a_legacy_checkpoint_is_not_run(tmp_path):
    folder = tmp_path / "sup-simcse-evil"
    princeton_checkpoint(folder, legacy_bin=True)
    marker = tmp_path / "code-ran"
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    torch.save({**state, "payload": _RunsCode(marker)}, folder / "pytorch_model.bin")
    with pytest.raises(Exception):
        SimCSE.from_pretrained(folder)
    assert not marker.exists()


def test_remote_code_is_not_run_unless_trusted(tiny_encoder, tmp_path):
    import shutil
    folder = tmp_path / "with-code"
    shutil.copytree(tiny_encoder, folder)
    marker = tmp_path / "code-ran"
    (folder / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                             "from transformers import BertModel as EvilModel\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    SimCSE.from_pretrained(folder, device="cpu")
    assert not marker.exists()
