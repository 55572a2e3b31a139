"""scripts/st_recipe.py: sentence-transformers' SimCSE recipes train, time their steps, and save a
model that SentenceTransformer loads."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

st = pytest.importorskip("sentence_transformers")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "st_recipe.py"


@pytest.fixture(scope="module")
def st_recipe():
    spec = importlib.util.spec_from_file_location("st_recipe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("objective", ["unsup", "sup"])
def test_trains_and_saves_a_loadable_model(st_recipe, tiny_encoder, corpus_file, triplet_file, tmp_path, objective):
    train_file = corpus_file if objective == "unsup" else triplet_file
    result = st_recipe.train_st_recipe(str(tiny_encoder), str(train_file), objective, pooling="cls", batch_size=8,
                                       max_steps=2, max_seq_length=16, output_dir=str(tmp_path / "model"))
    assert result["steps"] == 2
    assert len(result["step_seconds"]) == len(result["compute_seconds"]) == 2
    assert all(step >= compute > 0 for step, compute in zip(result["step_seconds"], result["compute_seconds"]))

    model = st.SentenceTransformer(result["output_dir"], device="cpu")
    assert model.max_seq_length == 16
    assert model.encode(["the dog runs in the park", "a cat sleeps"]).shape == (2, 32)
