"""Shared fixtures: a tiny random-initialised BERT and small corpora, all made on the fly."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
WORDS = ("the a man woman dog cat child bird plays eats reads runs sings sleeps guitar ball book "
         "apple song park house river street garden quickly slowly happily loudly in on near under "
         "with red blue green small big old young is was".split())


def free_port() -> int:
    """A free local port for a launched group of processes (accelerate's default may be taken)."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def exit_launched_process() -> None:
    """End a process started by ``accelerate launch`` once its work is written, skipping interpreter
    teardown: there, about one launch in fifteen on CPU aborted with "terminate called without an
    active exception" from a native thread, after everything was done, failing the launch."""
    import os
    import sys
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def make_sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + f" {i}" for i in range(n)]


def make_tiny_encoder(directory: Path, seed: int = 0, **config_overrides) -> Path:
    """A 2-layer BERT with hidden size 32, saved with weights and a word-level tokenizer."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + [str(i) for i in range(1000)]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer(vocab=str(directory / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(directory)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, **config_overrides)
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Tiny models train about ten times faster on one thread than on threads fighting over shared cores."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text("\n".join(make_sentences(256)) + "\n")
    return path


@pytest.fixture(scope="session")
def triplet_file(tmp_path_factory) -> Path:
    import csv
    path = tmp_path_factory.mktemp("data") / "triplets.csv"
    sentences = make_sentences(3 * 96, seed=1)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sent0", "sent1", "hard_neg"])
        for i in range(0, len(sentences), 3):
            writer.writerow(sentences[i: i + 3])
    return path


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared data folder beside the checkout), which is absent")
    return path
