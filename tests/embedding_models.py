"""Small models and sentences for the embedding API and export tests."""

import random

import torch

from conftest import WORDS, make_tiny_encoder
from simcse_mini import SimCSEModel
from simcse_mini.model import load_tokenizer


def make_spread_encoder(directory, seed=0):
    """The tiny BERT with larger initial weights than BERT's 0.02, so that sentences get clearly
    different embeddings (with 0.02 every sentence gets nearly the same [CLS] state)."""
    return make_tiny_encoder(directory, seed=seed, initializer_range=0.5)


def save_simcse_model(encoder, out, pooler="cls", mlp_only_train=False, seed=0, **extra):
    """A simcse-mini model folder with a non-trivial MLP head (so that dropping it would show)."""
    torch.manual_seed(seed)
    model = SimCSEModel.from_pretrained(str(encoder), pooler, mlp_only_train=mlp_only_train)
    if model.mlp is not None:
        with torch.no_grad():
            model.mlp.dense.weight.normal_(std=0.2)
    model.save_pretrained(out, load_tokenizer(str(encoder)), extra=extra or None)
    return out


def varied_sentences(n=23, seed=0):
    """Sentences of 1 to 40 words, lengths in no order."""
    rng = random.Random(seed)
    sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40))) for _ in range(n)]
    rng.shuffle(sentences)
    return sentences
