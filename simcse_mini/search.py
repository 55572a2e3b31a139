"""Exact nearest-neighbour search over unit-length embeddings (inner product = cosine similarity).

Two interchangeable backends: a matrix product in torch (on the model's device), or a FAISS flat
index when ``faiss`` is installed (``pip install simcse-mini[faiss]``). Both are exact.
"""

from __future__ import annotations

import importlib.util

import torch

BACKENDS = ("auto", "torch", "faiss")
SCORES_PER_CHUNK = 2 ** 26  # bounds the query x corpus score matrix held at once (256 MB in float32)


def faiss_installed() -> bool:
    return importlib.util.find_spec("faiss") is not None


class EmbeddingIndex:
    """Holds corpus embeddings [N, H] and returns the top-k corpus rows for query embeddings."""

    def __init__(self, embeddings: torch.Tensor, backend: str = "auto", device: torch.device | str = "cpu"):
        if backend not in BACKENDS:
            raise ValueError(f"unknown search backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if backend == "faiss" and not faiss_installed():
            raise ValueError("the faiss backend needs FAISS: pip install 'simcse-mini[faiss]'")
        if backend == "auto":
            backend = "faiss" if faiss_installed() else "torch"
        self.backend = backend
        self.size = embeddings.shape[0]
        if self.backend == "faiss":
            import faiss
            self._faiss = faiss.IndexFlatIP(embeddings.shape[1])
            self._faiss.add(embeddings.float().cpu().numpy())
        else:
            self._embeddings = embeddings.float().to(device)

    def search(self, queries: torch.Tensor, top_k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(scores, corpus ids), each [Q, min(top_k, N)], best first."""
        k = min(top_k, self.size)
        if self.backend == "faiss":
            scores, ids = self._faiss.search(queries.float().cpu().numpy(), k)
            return torch.from_numpy(scores), torch.from_numpy(ids)
        rows = max(1, SCORES_PER_CHUNK // max(self.size, 1))
        parts = [torch.topk(chunk.to(self._embeddings) @ self._embeddings.T, k)
                 for chunk in queries.float().split(rows)]
        return torch.cat([p.values for p in parts]).cpu(), torch.cat([p.indices for p in parts]).cpu()
