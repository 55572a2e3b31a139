"""Running tasks: scores, settings, encoder forms, and the trainer's evaluator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr, spearmanr
from sts_files import write_senteval_folder

from simcse_mini.evaluation.data import SentencePairs, STSTaskData
from simcse_mini.evaluation.metrics import paired_cosine_similarity, uniformity
from simcse_mini.evaluation.sts import STSEvaluator, evaluate_sts


def letter_counts(sentences: list[str]) -> np.ndarray:
    """A toy encoder: how often each letter a-z occurs."""
    return np.array([[s.count(chr(ord("a") + i)) for i in range(26)] for s in sentences], dtype=float)


class CountingEncoder:
    """An object with an encode method that remembers what it was asked to encode."""

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, sentences):
        self.seen += sentences
        return torch.tensor(letter_counts(sentences))


FIRST = SentencePairs(
    ["a cat sleeps", "dogs bark", "a cat sleeps", "rain falls"],
    ["the cat naps", "a dog barks", "stock prices rose", "it is raining"],
    [4.5, 4.0, 0.2, 3.9],
)
SECOND = SentencePairs(
    ["birds sing", "cars honk", "the sun shines", "fish swim", "a cat sleeps"],
    ["a bird sings", "horns blare", "sunlight", "planes fly", "dogs bark"],
    [4.8, 3.0, 3.5, 0.5, 1.0],
)


def cosines(pairs: SentencePairs) -> np.ndarray:
    return paired_cosine_similarity(letter_counts(pairs.sentences1), letter_counts(pairs.sentences2))


def test_year_task_scores_all_mean_and_wmean():
    results = evaluate_sts(letter_counts, [STSTaskData("sts12", "test", {"first": FIRST, "second": SECOND})])
    sts12 = results["sts12"]
    all_cosines = np.concatenate([cosines(FIRST), cosines(SECOND)])
    all_gold = np.concatenate([FIRST.scores, SECOND.scores])
    assert sts12["spearman"] == pytest.approx(100 * spearmanr(all_cosines, all_gold).statistic)
    assert sts12["pearson"] == pytest.approx(100 * pearsonr(all_cosines, all_gold).statistic)
    assert sts12["n"] == 9 and sts12["split"] == "test"
    per_subset = [100 * spearmanr(cosines(p), p.scores).statistic for p in (FIRST, SECOND)]
    assert sts12["subsets"]["first"]["spearman"] == pytest.approx(per_subset[0])
    assert sts12["mean"]["spearman"] == pytest.approx(np.mean(per_subset))
    assert sts12["wmean"]["spearman"] == pytest.approx((4 * per_subset[0] + 5 * per_subset[1]) / 9)
    assert results["avg"]["spearman"] == pytest.approx(sts12["spearman"])


def test_stsb_adds_alignment_and_uniformity_and_avg_covers_every_task():
    tasks = [STSTaskData("stsb", "test", {"test": FIRST}), STSTaskData("sickr", "test", {"test": SECOND})]
    results = evaluate_sts(letter_counts, tasks)
    stsb = results["stsb"]
    assert "mean" not in stsb  # one subset: nothing to average
    positives = letter_counts(["a cat sleeps", "dogs bark"]), letter_counts(["the cat naps", "a dog barks"])
    unit = [p / np.linalg.norm(p, axis=1, keepdims=True) for p in positives]
    assert stsb["alignment"] == pytest.approx(np.mean(np.sum((unit[0] - unit[1]) ** 2, axis=1)))
    distinct = sorted(set(FIRST.sentences1 + FIRST.sentences2))  # "a cat sleeps" counts once
    assert stsb["uniformity"] == pytest.approx(uniformity(letter_counts(distinct)))
    assert "alignment" not in results["sickr"]
    assert results["avg"]["spearman"] == pytest.approx((stsb["spearman"] + results["sickr"]["spearman"]) / 2)


def test_each_sentence_is_encoded_once_in_any_chunking():
    encoder = CountingEncoder()
    tasks = [STSTaskData("sts12", "test", {"first": FIRST, "second": SECOND}), STSTaskData("stsb", "test", {"test": FIRST})]
    chunked = evaluate_sts(encoder, tasks, chunk_size=3)
    sentences = {s for p in (FIRST, SECOND) for s in p.sentences1 + p.sentences2}
    assert sorted(encoder.seen) == sorted(sentences)
    whole = evaluate_sts(letter_counts, tasks)
    assert chunked["sts12"]["spearman"] == pytest.approx(whole["sts12"]["spearman"])


def test_encoder_returning_the_wrong_number_of_rows_is_an_error():
    with pytest.raises(ValueError, match="returned 1 embeddings"):
        evaluate_sts(lambda sentences: np.zeros((1, 3)), [STSTaskData("stsb", "test", {"test": FIRST})])
    with pytest.raises(TypeError):
        evaluate_sts(object(), [STSTaskData("stsb", "test", {"test": FIRST})])


class TinySource:
    def load(self, task, split):
        split = "trial" if (task, split) == ("sickr", "dev") else split
        return STSTaskData(task, split, {split: FIRST if task == "stsb" else SECOND})


def test_evaluator_gives_flat_metrics_for_training():
    evaluator = STSEvaluator(source=TinySource(), tasks=("stsb", "sickr"), split="dev")
    metrics = evaluator(letter_counts)
    assert set(metrics) == {
        "stsb_dev_spearman", "stsb_dev_alignment", "stsb_dev_uniformity", "sickr_trial_spearman", "avg_spearman",
    }
    assert all(isinstance(value, float) for value in metrics.values())
    assert metrics["avg_spearman"] == pytest.approx((metrics["stsb_dev_spearman"] + metrics["sickr_trial_spearman"]) / 2)


def test_evaluator_reads_a_senteval_folder(tmp_path):
    senteval_dir = write_senteval_folder(tmp_path)
    metrics = STSEvaluator(data_dir=senteval_dir)(letter_counts)
    assert set(metrics) == {"stsb_dev_spearman", "stsb_dev_alignment", "stsb_dev_uniformity"}
