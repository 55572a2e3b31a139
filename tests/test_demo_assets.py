"""The offline demo assets in simcse_mini/demo/: present, consistent and covered by the tokenizer.

The files are read by path (nothing is imported from simcse_mini).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "simcse_mini" / "demo"
ENCODER = DEMO / "encoder"
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def read_sts(name: str) -> list[dict[str, str]]:
    with (DEMO / name).open(newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        assert reader.fieldnames == ["sentence1", "sentence2", "score"]
        return list(reader)


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return (DEMO / "corpus.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module", params=["sts_dev.tsv", "sts_test.tsv"])
def sts(request) -> list[dict[str, str]]:
    return read_sts(request.param)


@pytest.fixture(scope="module")
def triplets() -> list[dict[str, str]]:
    with (DEMO / "train_triplets.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["sent0", "sent1", "hard_neg"]
        return list(reader)


@pytest.fixture(scope="module")
def triplet_sentences(triplets) -> list[str]:
    return [r[key] for r in triplets for key in ("sent0", "sent1", "hard_neg")]


@pytest.fixture(scope="module")
def sts_sentences() -> list[str]:
    rows = read_sts("sts_dev.tsv") + read_sts("sts_test.tsv")
    return [r[key] for r in rows for key in ("sentence1", "sentence2")]


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(ENCODER)


def test_files_exist():
    for name in ["corpus.txt", "sts_dev.tsv", "sts_test.tsv", "train_triplets.csv", "encoder/config.json",
                 "encoder/vocab.txt", "encoder/tokenizer.json", "encoder/tokenizer_config.json"]:
        assert (DEMO / name).is_file(), name
    assert not list(ENCODER.glob("*.safetensors")) and not list(ENCODER.glob("*.bin")), "no weights are shipped"


def test_assets_are_small():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 1_000_000


def test_corpus(corpus):
    assert 6000 <= len(corpus) <= 10000
    assert all(line.strip() == line and line for line in corpus)
    assert len(set(corpus)) == len(corpus), "duplicate corpus sentences"
    assert all(line[0].isupper() and line[-1] in ".?" for line in corpus)


def test_triplet_rows(triplets, triplet_sentences):
    assert 2000 <= len(triplets) <= 10000
    assert all(len({r["sent0"], r["sent1"], r["hard_neg"]}) == 3 for r in triplets)
    assert len({r["sent0"] for r in triplets}) == len(triplets), "duplicate sent0"
    assert all(s.strip() == s and s[0].isupper() and s[-1] == "." for s in triplet_sentences)


def test_triplets_are_held_out(triplet_sentences, sts_sentences):
    normalise = " ".join
    sts = {normalise(s.lower().split()) for s in sts_sentences}
    assert not [s for s in triplet_sentences if normalise(s.lower().split()) in sts]


def test_triplets_cover_the_sts_words(triplet_sentences, sts_sentences, tokenizer):
    """Supervised training sees nearly every STS token: at 2,500 rows only a few rare inflections
    (base-form verbs, used only with a plural agent in the present tense) are missing."""
    sts_tokens = {t for s in sts_sentences for t in tokenizer.tokenize(s)}
    missing = sts_tokens - {t for s in triplet_sentences for t in tokenizer.tokenize(s)}
    assert len(missing) <= len(sts_tokens) // 50, sorted(missing)


def test_sts_rows(sts):
    assert 350 <= len(sts) <= 450
    for row in sts:
        assert row["sentence1"] and row["sentence2"] and row["sentence1"] != row["sentence2"]
        assert 0 <= float(row["score"]) <= 5


def test_sts_scores_span_the_range(sts):
    counts = Counter(float(r["score"]) for r in sts)
    assert min(counts) == 0 and max(counts) == 5
    for score in range(6):
        assert counts[score] >= len(sts) // 10, f"too few pairs scored {score}"


def test_sts_sentences_are_held_out(corpus, sts_sentences):
    normalise = " ".join
    seen = {normalise(s.lower().split()) for s in corpus}
    assert not [s for s in sts_sentences if normalise(s.lower().split()) in seen]
    dev = {r[k] for r in read_sts("sts_dev.tsv") for k in ("sentence1", "sentence2")}
    test = {r[k] for r in read_sts("sts_test.tsv") for k in ("sentence1", "sentence2")}
    assert not dev & test


def test_sts_words_occur_in_the_corpus(corpus, sts_sentences, tokenizer):
    """Every STS token is trained on: none is seen only at evaluation time."""
    corpus_tokens = {t for s in corpus for t in tokenizer.tokenize(s)}
    assert not {t for s in sts_sentences for t in tokenizer.tokenize(s)} - corpus_tokens


def test_vocabulary_and_config_agree():
    vocab = (ENCODER / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert vocab[:5] == SPECIAL_TOKENS
    assert len(set(vocab)) == len(vocab)
    assert all(token == token.lower() for token in vocab[5:])
    config = json.loads((ENCODER / "config.json").read_text())
    assert config["model_type"] == "bert" and config["vocab_size"] == len(vocab)
    assert config["max_position_embeddings"] == 64


def test_tokenizer_is_lowercasing_wordpiece(tokenizer):
    assert tokenizer.tokenize("A Dog RUNS in the park.") == ["a", "dog", "runs", "in", "the", "park", "."]
    assert tokenizer.convert_ids_to_tokens(tokenizer("a dog")["input_ids"]) == ["[CLS]", "a", "dog", "[SEP]"]
    assert tokenizer.pad_token_id == 0 and tokenizer.mask_token == "[MASK]"
    assert tokenizer.tokenize("zzyzx") == ["[UNK]"]


def test_no_unknown_tokens(corpus, sts_sentences, triplet_sentences, tokenizer):
    sentences = corpus + sts_sentences + triplet_sentences
    encoded = tokenizer(sentences)["input_ids"]
    assert not [s for s, ids in zip(sentences, encoded) if tokenizer.unk_token_id in ids]
    assert max(len(ids) for ids in encoded) <= 64


def test_model_builds_and_embeds(tokenizer):
    import torch
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(ENCODER)
    torch.manual_seed(0)
    model = AutoModel.from_config(config).eval()
    batch = tokenizer(["A man reads a book in the library.", "Two dogs run on the beach."],
                      padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    assert hidden.shape == (2, batch["input_ids"].shape[1], config.hidden_size)
    assert torch.isfinite(hidden).all()


def test_generator_reproduces_the_files(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_data.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for path in DEMO.rglob("*"):
        if path.is_file():
            assert (tmp_path / path.relative_to(DEMO)).read_bytes() == path.read_bytes(), path.name
