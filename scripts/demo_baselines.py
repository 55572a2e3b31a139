#!/usr/bin/env python
"""Reference scores on the demo STS files: how much room the demo training has.

Prints Spearman x 100 between the gold scores and the cosine similarity of

* bag of words: lowercased word counts (punctuation dropped), i.e. lexical overlap alone;
* bag of concepts: the same after mapping every synonym to one form with the generator's
  lexicon ("guy" -> "man", "purchase" -> "buy"), i.e. overlap for a model that has learnt
  the synonyms but nothing else;
* the tiny demo encoder with random weights (seed 0, eval mode), mean and [CLS] pooling;

and the mean bag-of-words cosine for each gold score.

Usage: python scripts/demo_baselines.py [--demo simcse_mini/demo]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from tokenizers import pre_tokenizers
from transformers import AutoConfig, AutoModel, AutoTokenizer

HERE = Path(__file__).resolve().parent


def read_pairs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence1"] for r in rows], [r["sentence2"] for r in rows], np.array([float(r["score"]) for r in rows])


def words(sentence: str) -> list[str]:
    tokens = (t for t, _ in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(sentence.lower()))
    return [t for t in tokens if t.isalpha()]


def canonical_map() -> dict[str, str]:
    """Each single-word synonym (and its inflections) mapped to the first form of its concept."""
    spec = importlib.util.spec_from_file_location("make_demo_data", HERE / "make_demo_data.py")
    lexicon = sys.modules["make_demo_data"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lexicon)
    groups = [n.forms for n in lexicon.NOUNS.values()] + list(lexicon.CLOTHES.values())
    groups += [forms for forms, _ in lexicon.ADJECTIVES.values()] + list(lexicon.ADVERBS.values())
    groups += [a.verbs.replace("*", "") for a in lexicon.ACTIONS]
    mapping = {}
    for group in lexicon.PLACES.values():  # "on the road" -> "street": the last words are the nouns
        nouns = [form.split()[-1] for form in group.split("|")]
        for noun in nouns[1:]:
            mapping.setdefault(noun, nouns[0])
    for group in groups:
        forms = [f for f in group.split("|") if " " not in f]
        for form in forms[1:]:
            inflected = {form, lexicon.plural(form)} | {lexicon.inflect(form, f) for f in ("s", "ing", "past", "pp")}
            for variant in inflected:
                mapping.setdefault(variant, forms[0])
    return mapping


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def bag_cosines(first: list[str], second: list[str], mapping: dict[str, str] | None = None) -> np.ndarray:
    sims = []
    for s1, s2 in zip(first, second):
        c1, c2 = (Counter((mapping or {}).get(w, w) for w in words(s)) for s in (s1, s2))
        dot = sum(c1[w] * c2[w] for w in c1)
        sims.append(dot / np.sqrt(sum(v * v for v in c1.values()) * sum(v * v for v in c2.values())))
    return np.array(sims)


@torch.no_grad()
def encode(model, tokenizer, sentences: list[str], pooling: str) -> np.ndarray:
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    hidden = model(**batch).last_hidden_state
    if pooling == "cls":
        return hidden[:, 0].numpy()
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return ((hidden * mask).sum(1) / mask.sum(1)).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", type=Path, default=HERE.parent / "simcse_mini" / "demo")
    args = parser.parse_args()

    encoder = args.demo / "encoder"
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    torch.manual_seed(0)
    model = AutoModel.from_config(AutoConfig.from_pretrained(encoder)).eval()
    mapping = canonical_map()

    for split in ("sts_dev", "sts_test"):
        first, second, gold = read_pairs(args.demo / f"{split}.tsv")
        bow = bag_cosines(first, second)
        scores = {
            "bag of words": bow,
            "bag of concepts (synonyms merged)": bag_cosines(first, second, mapping),
            "random encoder, mean pooling": cosine(*(encode(model, tokenizer, s, "mean") for s in (first, second))),
            "random encoder, [CLS] pooling": cosine(*(encode(model, tokenizer, s, "cls") for s in (first, second))),
        }
        print(f"{split} ({len(gold)} pairs): Spearman x 100")
        for name, sims in scores.items():
            print(f"  {name:36s} {100 * spearmanr(sims, gold).statistic:6.2f}")
        means = "  ".join(f"{int(g)}: {bow[gold == g].mean():.2f}" for g in np.unique(gold))
        print(f"  mean bag-of-words cosine by gold score  {means}")


if __name__ == "__main__":
    main()
