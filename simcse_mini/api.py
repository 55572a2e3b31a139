"""The Python API: load a sentence encoder, embed sentences, compare them, search a corpus, export.

    from simcse_mini import SimCSE
    model = SimCSE.from_pretrained("runs/unsup-bert")       # run folder, model folder or hub name
    vectors = model.encode(["A man plays a guitar.", "A dog runs."])   # numpy [2, H], unit length
    model.similarity("A man plays a guitar.", ["Someone makes music.", "A dog runs."])  # cosine [1, 2]
    model.build_index(corpus)
    model.search("Who is making music?", top_k=5)           # [{"corpus_id", "score", "sentence"}, ...]
    model.export("exported/", format="sentence-transformers")

What a path holds and which pooler it gets is decided in ``checkpoints.py``. The model runs on
CPU or GPU (``device``); under ``accelerate launch`` or ``torchrun`` each process takes its own
device, and one ``encode`` call (or ``build_index``) shares its batches among the processes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoints import load_for_embedding
from .distributed import world
from .encoding import default_max_length, encode
from .model import SimCSEModel, load_tokenizer
from .search import EmbeddingIndex

OUTPUT_TYPES = ("numpy", "torch")


def default_device() -> torch.device:
    """This process's device: its own GPU under a multi-process launcher, else CUDA when present."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from accelerate import PartialState
        return PartialState().device  # also joins the process group that encode shares work in
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class SimCSE:
    """A sentence encoder ready for use: a SimCSEModel in eval mode, its tokenizer and a device."""

    def __init__(self, model: SimCSEModel, tokenizer, device: str | torch.device | None = None,
                 max_length: int | None = None, name: str = "", record: dict | None = None):
        self.device = torch.device(device) if device is not None else default_device()
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.max_length = max_length or default_max_length(model, tokenizer)
        self.name = name
        self.record = record or {}  # what simcse_config.json recorded (training options...); {} for others
        self.corpus: list[str] = []
        self.index: EmbeddingIndex | None = None

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, device: str | torch.device | None = None,
                        pooler: str | None = None, *, trust_remote_code: bool = False) -> "SimCSE":
        """Load a training run folder (its best model, else its final one), a simcse-mini model, a
        princeton-nlp SimCSE checkpoint or any Hugging Face encoder, by folder or hub name.

        ``pooler`` overrides the pooler the checkpoint implies (see ``simcse_mini.checkpoints``);
        ``device`` defaults to this process's GPU when there is one. ``trust_remote_code`` lets a hub
        model run its own code: only for models you trust.
        """
        loaded = load_for_embedding(str(name_or_path), pooler, trust_remote_code)
        tokenizer = load_tokenizer(loaded.path, trust_remote_code)
        return cls(loaded.model, tokenizer, device, loaded.max_length, loaded.path, loaded.record)

    def __repr__(self) -> str:
        return (f"SimCSE({self.name!r}, embedding={self.model.describe_embedding()!r}, "
                f"dimension={self.dimension}, device='{self.device}')")

    @property
    def dimension(self) -> int:
        return self.model.encoder.config.hidden_size

    def encode(self, sentences: str | list[str], batch_size: int = 64, max_length: int | None = None,
               normalize: bool = True, convert_to: str = "numpy", show_progress_bar: bool = False,
               precision: str = "fp32", distributed: bool | None = None) -> np.ndarray | torch.Tensor:
        """Embed a sentence ([H]) or a list of sentences ([N, H], rows in input order).

        Batches are formed from length-sorted sentences, each padded only to its own longest one,
        and run under ``torch.inference_mode``. ``max_length`` (tokens) defaults to the model's limit.
        ``normalize`` returns unit vectors (dot product = cosine). ``convert_to``: "numpy", or "torch"
        for a float32 CPU tensor. ``precision="bf16"`` runs the encoder under bfloat16 autocast.
        ``distributed`` (default: when started by a multi-process launcher) shares the batches among
        the processes, and then every process must make the same call.
        """
        if convert_to not in OUTPUT_TYPES:
            raise ValueError(f"convert_to={convert_to!r}: choose one of {', '.join(OUTPUT_TYPES)}")
        single = isinstance(sentences, str)
        embeddings = encode(self.model, self.tokenizer, [sentences] if single else list(sentences),
                            batch_size=batch_size, max_length=max_length or self.max_length, normalize=normalize,
                            show_progress_bar=show_progress_bar, precision=precision,
                            distributed=world()[1] > 1 if distributed is None else distributed)
        if single:
            embeddings = embeddings[0]
        return embeddings.numpy() if convert_to == "numpy" else embeddings

    def similarity(self, a, b, **encode_options) -> np.ndarray:
        """Cosine similarities [len(a), len(b)] between sentences (a string counts as a list of one)
        or between embeddings (arrays or tensors of shape [H] or [N, H])."""
        def unit_rows(x) -> torch.Tensor:
            if isinstance(x, (str, list, tuple)):
                x = self.encode([x] if isinstance(x, str) else x, convert_to="torch", **encode_options)
            x = torch.as_tensor(x, dtype=torch.float32).cpu()
            return F.normalize(x.reshape(-1, x.shape[-1]), dim=-1)

        return (unit_rows(a) @ unit_rows(b).T).numpy()

    def build_index(self, corpus: list[str], embeddings=None, backend: str = "auto", **encode_options) -> None:
        """Make ``corpus`` searchable: encode it (or take its precomputed ``embeddings``, one row per
        sentence) and index it, exactly, with FAISS when installed or else torch (``backend``)."""
        self.corpus = list(corpus)
        if embeddings is None:
            embeddings = self.encode(self.corpus, convert_to="torch", **encode_options)
        embeddings = torch.as_tensor(embeddings, dtype=torch.float32)
        if embeddings.shape != (len(self.corpus), self.dimension):
            raise ValueError(f"embeddings of shape {tuple(embeddings.shape)} do not match a corpus of "
                             f"{len(self.corpus)} sentences and a model of dimension {self.dimension}")
        self.index = EmbeddingIndex(F.normalize(embeddings, dim=-1), backend, self.device)

    def search(self, queries: str | list[str], top_k: int = 10, threshold: float | None = None,
               **encode_options) -> list[dict] | list[list[dict]]:
        """The ``top_k`` corpus sentences most similar to each query, best first, as dicts of
        ``corpus_id``, ``score`` (cosine) and ``sentence``; hits scoring below ``threshold`` are
        dropped. One query gives one list of hits; a list of queries a list of such lists."""
        if self.index is None:
            raise RuntimeError("no corpus to search: call build_index(corpus) first")
        single = isinstance(queries, str)
        query_embeddings = self.encode([queries] if single else list(queries), convert_to="torch", **encode_options)
        scores, ids = self.index.search(F.normalize(query_embeddings, dim=-1), top_k)
        hits = [[{"corpus_id": i, "score": s, "sentence": self.corpus[i]}
                 for s, i in zip(row_scores, row_ids) if threshold is None or s >= threshold]
                for row_scores, row_ids in zip(scores.tolist(), ids.tolist())]
        return hits[0] if single else hits

    def export(self, out_dir: str | Path, format: str = "sentence-transformers") -> Path:
        """Write the model as a sentence-transformers or plain Hugging Face folder (see ``export.py``)."""
        from .export import export
        return export(self, out_dir, format)
