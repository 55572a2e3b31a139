"""Run STS tasks for any encoder and collect the scores.

An encoder is a function ``encode(list[str]) -> array (n, dim)`` or any object
with such an ``encode`` method (a sentence-transformers model, for one). Each
sentence is encoded once, however many tasks share it, and sentences of
similar length go together so that batches need little padding.

Results have the shape of the JSON the CLI writes::

    {"sts12": {"spearman": 72.37, "pearson": ..., "n": 3108, "split": "test",
               "mean": {...}, "wmean": {...}, "subsets": {...}},
     ...,
     "stsb": {..., "alignment": ..., "uniformity": ...},
     "avg": {"spearman": ..., "pearson": ...}}

``spearman``/``pearson`` of a task with several subsets (STS12-16, and SICK-R
"all") are over all its subsets concatenated, the "all" setting SimCSE reports;
``mean`` and ``wmean`` (weighted by subset size) are SentEval's other two.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
from tqdm.auto import tqdm

from .data import SentencePairs, STSDataSource, STSTaskData, open_source
from .metrics import alignment, paired_cosine_similarity, pearson, spearman, uniformity

EncodeFn = Callable[[list[str]], Any]

# STS-B pairs scored at least this (of 5) count as positive pairs for alignment, as in SimCSE.
POSITIVE_PAIR_MIN_SCORE = 4.0


def as_encode_fn(encoder) -> EncodeFn:
    """The encoding function of ``encoder``: its ``encode`` method, or the encoder itself."""
    encode = getattr(encoder, "encode", encoder)
    if not callable(encode):
        raise TypeError(f"{type(encoder).__name__} is neither callable nor has an encode method")
    return encode


def to_numpy(embeddings) -> np.ndarray:
    """Embeddings from an encoder (numpy array, torch tensor or nested lists) as a float array."""
    if hasattr(embeddings, "detach"):
        embeddings = embeddings.detach().float().cpu().numpy()
    return np.asarray(embeddings, dtype=np.float32)


class SentenceEmbeddings:
    """Embeddings of a set of sentences, each encoded once."""

    def __init__(self, encoder, sentences: Iterable[str], chunk_size: int = 512, show_progress_bar: bool = False):
        encode = as_encode_fn(encoder)
        # Sorted by length so each chunk (and the encoder's batches in it) pads little.
        unique = sorted(set(sentences), key=lambda sentence: (len(sentence), sentence))
        self.row_of = {sentence: row for row, sentence in enumerate(unique)}
        parts = []
        with tqdm(total=len(unique), desc="Encoding", unit="sent", disable=not show_progress_bar) as progress:
            for start in range(0, len(unique), chunk_size):
                chunk = unique[start : start + chunk_size]
                parts.append(to_numpy(encode(chunk)))
                if len(parts[-1]) != len(chunk):
                    raise ValueError(f"the encoder returned {len(parts[-1])} embeddings for {len(chunk)} sentences")
                progress.update(len(chunk))
        self.matrix = np.concatenate(parts) if parts else np.empty((0, 0), dtype=np.float32)

    def __getitem__(self, sentences: list[str]) -> np.ndarray:
        return self.matrix[[self.row_of[sentence] for sentence in sentences]]


def score_pairs(pairs: SentencePairs, embeddings: SentenceEmbeddings) -> dict:
    """Spearman and Pearson x100 of the pairs' cosine similarity against their gold scores."""
    similarity = paired_cosine_similarity(embeddings[pairs.sentences1], embeddings[pairs.sentences2])
    return {
        "spearman": spearman(similarity, pairs.scores),
        "pearson": pearson(similarity, pairs.scores),
        "n": len(pairs),
    }


def embedding_geometry(pairs: SentencePairs, embeddings: SentenceEmbeddings) -> dict:
    """Alignment of the positive pairs and uniformity of all the (distinct) sentences."""
    positive = np.flatnonzero(pairs.scores >= POSITIVE_PAIR_MIN_SCORE)
    distinct = sorted(set(pairs.sentences1) | set(pairs.sentences2))
    return {
        "alignment": alignment(
            embeddings[[pairs.sentences1[i] for i in positive]],
            embeddings[[pairs.sentences2[i] for i in positive]],
        ),
        "uniformity": uniformity(embeddings[distinct]),
    }


def score_task(data: STSTaskData, embeddings: SentenceEmbeddings) -> dict:
    """All the scores of one task split (see the module docstring)."""
    result = {**score_pairs(data.all_pairs, embeddings), "split": data.split}
    if len(data.subsets) > 1:
        subsets = {name: score_pairs(pairs, embeddings) for name, pairs in data.subsets.items()}
        sizes = np.array([subset["n"] for subset in subsets.values()])
        for setting, weights in (("mean", None), ("wmean", sizes)):
            result[setting] = {
                metric: float(np.average([subset[metric] for subset in subsets.values()], weights=weights))
                for metric in ("spearman", "pearson")
            }
        result["subsets"] = subsets
    if data.task == "stsb":
        result.update(embedding_geometry(data.all_pairs, embeddings))
    return result


def evaluate_sts(encoder, tasks: Iterable[STSTaskData], show_progress_bar: bool = False, chunk_size: int = 512) -> dict:
    """Score ``encoder`` on the given task splits; returns results keyed by task, plus ``avg``."""
    tasks = list(tasks)
    sentences = (
        sentence
        for data in tasks
        for pairs in data.subsets.values()
        for sentence in (*pairs.sentences1, *pairs.sentences2)
    )
    embeddings = SentenceEmbeddings(encoder, sentences, chunk_size=chunk_size, show_progress_bar=show_progress_bar)
    results = {data.task: score_task(data, embeddings) for data in tasks}
    results["avg"] = {
        metric: float(np.mean([results[data.task][metric] for data in tasks])) for metric in ("spearman", "pearson")
    }
    return results


class STSEvaluator:
    """Scores an encoder on STS task splits and returns flat metrics, for use during training.

    The data is read once, here; each call encodes and scores. Calling it gives
    ``{"stsb_dev_spearman": 81.2, "sickr_trial_spearman": ..., "stsb_dev_alignment": ...,
    "stsb_dev_uniformity": ..., "avg_spearman": ...}`` (``avg_spearman``, given several tasks, is the
    mean over the tasks), the model selection SimCSE does on STS-B dev (and SICK-R trial).
    """

    def __init__(
        self,
        source: str | STSDataSource = "senteval",
        data_dir=None,
        tasks: Iterable[str] = ("stsb",),
        split: str = "dev",
        stsb_dir=None,
        show_progress_bar: bool = False,
    ):
        if isinstance(source, str):
            source = open_source(source, data_dir=data_dir, stsb_dir=stsb_dir)
        self.tasks = [source.load(task, split) for task in tasks]
        self.show_progress_bar = show_progress_bar

    def __call__(self, encoder) -> dict[str, float]:
        results = evaluate_sts(encoder, self.tasks, show_progress_bar=self.show_progress_bar)
        metrics = {}
        for data in self.tasks:
            for name, value in results[data.task].items():
                if name in ("spearman", "alignment", "uniformity"):
                    metrics[f"{data.task}_{data.split}_{name}"] = value
        if len(self.tasks) > 1:  # with one task it would repeat that task's score
            metrics["avg_spearman"] = results["avg"]["spearman"]
        return metrics
