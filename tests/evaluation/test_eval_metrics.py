"""Score math against scipy and hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import pearsonr, spearmanr

from simcse_mini.evaluation.metrics import (
    alignment,
    paired_cosine_similarity,
    pearson,
    spearman,
    uniformity,
)

PREDICTED = [0.91, 0.15, 0.62, 0.62, 0.05, 0.77, 0.40]
GOLD = [4.8, 0.4, 3.6, 4.2, 0.0, 5.0, 1.0]


def test_correlations_are_scipys_times_100():
    assert spearman(PREDICTED, GOLD) == pytest.approx(100 * spearmanr(PREDICTED, GOLD).statistic)
    assert pearson(PREDICTED, GOLD) == pytest.approx(100 * pearsonr(PREDICTED, GOLD).statistic)
    # Hand-worked: one swapped pair of ranks, 1 - 6 * 2 / (4 * 15) = 0.8.
    assert spearman([1, 2, 3, 4], [10, 20, 40, 30]) == pytest.approx(80.0)


def test_paired_cosine_similarity():
    a = np.array([[1.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
    b = np.array([[2.0, 0.0], [-3.0, -4.0], [0.0, 5.0]])
    np.testing.assert_allclose(paired_cosine_similarity(a, b), [1.0, -1.0, np.sqrt(0.5)])


def test_alignment_is_mean_squared_distance_of_normalised_pairs():
    x = np.array([[2.0, 0.0], [0.0, 3.0]])
    y = np.array([[0.0, 5.0], [0.0, 1.0]])
    # Normalised: (1,0)-(0,1) has squared distance 2; (0,1)-(0,1) has 0.
    assert alignment(x, y) == pytest.approx(1.0)
    assert alignment(x, y, alpha=1) == pytest.approx(np.sqrt(2) / 2)


def test_uniformity_matches_its_definition_over_all_pairs():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 8))
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    expected = np.log(np.mean(np.exp(-2 * pdist(unit, "sqeuclidean"))))
    assert uniformity(points) == pytest.approx(expected)
    assert uniformity(points, block_size=7) == pytest.approx(expected)  # blocks do not change it
    # Two opposite points: squared distance 4, so log(exp(-8)) = -8.
    assert uniformity([[1.0, 0.0], [-2.0, 0.0]]) == pytest.approx(-8.0)
    with pytest.raises(ValueError):
        uniformity([[1.0, 0.0]])
