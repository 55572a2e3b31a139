"""Scores for sentence embeddings: correlations with gold similarity, alignment, uniformity.

Correlations are reported x100, as in SentEval and the SimCSE paper. Alignment
and uniformity follow Wang & Isola (2020), "Understanding Contrastive
Representation Learning through Alignment and Uniformity on the Hypersphere".
"""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr


def spearman(predicted, gold) -> float:
    """Spearman rank correlation x100."""
    return 100.0 * float(spearmanr(predicted, gold).statistic)


def pearson(predicted, gold) -> float:
    """Pearson correlation x100."""
    return 100.0 * float(pearsonr(predicted, gold).statistic)


def normalize_rows(embeddings) -> np.ndarray:
    """Scale every row to unit length (rows of zeros stay zero)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, 1e-12)


def paired_cosine_similarity(embeddings1, embeddings2) -> np.ndarray:
    """Cosine similarity of each row of ``embeddings1`` with the same row of ``embeddings2``."""
    return np.sum(normalize_rows(embeddings1) * normalize_rows(embeddings2), axis=1)


def alignment(embeddings1, embeddings2, alpha: float = 2.0) -> float:
    """Mean ``||f(x) - f(y)||^alpha`` over positive pairs of normalised embeddings (lower is better)."""
    differences = normalize_rows(embeddings1) - normalize_rows(embeddings2)
    return float(np.mean(np.linalg.norm(differences, axis=1) ** alpha))


def uniformity(embeddings, t: float = 2.0, block_size: int = 1024) -> float:
    """``log mean exp(-t ||f(x) - f(y)||^2)`` over all pairs of distinct rows (lower is better).

    Works through the pair matrix a block of rows at a time, so memory stays
    ``block_size x n`` however many sentences there are.
    """
    points = normalize_rows(embeddings)
    n = len(points)
    if n < 2:
        raise ValueError("uniformity needs at least two embeddings")
    total = 0.0
    for start in range(0, n, block_size):
        block = points[start : start + block_size]
        # For unit vectors ||x - y||^2 = 2 - 2 x.y.
        squared_distances = np.maximum(2.0 - 2.0 * block @ points.T, 0.0)
        rows = np.arange(start, start + len(block))[:, None]
        upper_triangle = np.arange(n)[None, :] > rows  # each pair once, no self-pairs
        total += np.exp(-t * squared_distances[upper_triangle]).sum()
    return float(np.log(total / (n * (n - 1) / 2)))
