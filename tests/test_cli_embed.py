"""The encode, search and export commands, and reading sentences from files."""

import csv
import json

import numpy as np
import pytest

from embedding_models import make_spread_encoder, save_simcse_model
from simcse_mini import SimCSE
from simcse_mini.cli import main
from simcse_mini.data import DataError
from simcse_mini.inputs import read_sentences

SENTENCES = ["a dog runs in the park", "the man plays the guitar", "", "a red ball", "the old woman sings"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    save_simcse_model(make_spread_encoder(tmp_path_factory.mktemp("spread-bert")), run / "final")
    (run / "summary.json").write_text("{}")
    return run


@pytest.fixture
def files(tmp_path):
    (tmp_path / "s.txt").write_text("\n".join(SENTENCES) + "\n")
    with (tmp_path / "s.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "sentence", "label"])
        writer.writerows([i, s, "x"] for i, s in enumerate(SENTENCES))
    (tmp_path / "s.jsonl").write_text("".join(json.dumps({"text": s, "n": i}) + "\n" for i, s in enumerate(SENTENCES)))
    (tmp_path / "strings.jsonl").write_text("".join(json.dumps(s) + "\n" for s in SENTENCES))
    return tmp_path


def test_read_sentences_from_each_file_type(files):
    for name in ("s.txt", "s.csv", "s.jsonl", "strings.jsonl"):
        assert read_sentences(files / name) == SENTENCES, name
    assert read_sentences(files / "s.csv", column="label") == ["x"] * 5
    with pytest.raises(DataError, match="no column 'title'"):
        read_sentences(files / "s.csv", column="title")
    (files / "two.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="which column"):
        read_sentences(files / "two.csv")
    (files / "bad.jsonl").write_text('{"text": "ok"}\nnot json\n')
    with pytest.raises(DataError, match="bad.jsonl:2"):
        read_sentences(files / "bad.jsonl")
    (files / "s.parquet").write_bytes(b"")
    with pytest.raises(DataError, match="unsupported file type"):
        read_sentences(files / "s.parquet")


def test_encode_command_writes_the_embeddings_of_encode(run_dir, files, capsys):
    expected = SimCSE.from_pretrained(run_dir, device="cpu").encode(SENTENCES)
    for name, column in (("s.txt", None), ("s.csv", "sentence"), ("s.jsonl", None)):
        out = files / f"{name}.npy"
        args = ["encode", "--model", str(run_dir), "--input", str(files / name), "--output", str(out)]
        assert main(args + (["--column", column] if column else [])) == 0
        np.testing.assert_allclose(np.load(out), expected, atol=1e-6)
    assert "Wrote 5 embeddings of dimension 32" in capsys.readouterr().out
    assert main(["encode", "--model", str(run_dir), "--input", str(files / "s.txt"), "--output",
                 str(files / "raw.npy"), "--no_normalize", "--precision", "bf16", "--batch_size", "2"]) == 0
    assert not np.allclose(np.linalg.norm(np.load(files / "raw.npy"), axis=1), 1.0)


def test_search_command_prints_the_best_hits(run_dir, files, capsys):
    model = SimCSE.from_pretrained(run_dir, device="cpu")
    model.build_index(SENTENCES)
    best = model.search("a dog runs", top_k=2)
    assert main(["search", "--model", str(run_dir), "--corpus", str(files / "s.txt"), "--query", "a dog runs",
                 "--query", "music", "--top_k", "2"]) == 0
    printed = capsys.readouterr().out
    assert "Query: a dog runs" in printed and "Query: music" in printed
    first = printed.split("Query: music")[0]
    for hit in best:
        assert f"{hit['score']:.4f}  {hit['sentence']}  (line {hit['corpus_id'] + 1})" in first
    np.save(files / "emb.npy", model.encode(SENTENCES))
    assert main(["search", "--model", str(run_dir), "--corpus", str(files / "s.txt"), "--query", "a dog runs",
                 "--corpus_embeddings", str(files / "emb.npy"), "--top_k", "2"]) == 0
    assert capsys.readouterr().out.split("Query: a dog runs")[1] == first.split("Query: a dog runs")[1]


def test_export_command_and_user_errors(run_dir, files, tmp_path, capsys):
    assert main(["export", "--model", str(run_dir), "--format", "sentence-transformers", str(tmp_path / "st")]) == 0
    assert (tmp_path / "st" / "modules.json").is_file()
    assert main(["export", "--model", str(run_dir), str(tmp_path / "st")]) == 1
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["encode", "--model", str(run_dir), "--input", str(files / "s.csv"), "--column", "title",
                 "--output", str(tmp_path / "x.npy")]) == 1
    assert "no column 'title'" in capsys.readouterr().err
    assert main(["search", "--model", str(tmp_path / "nowhere"), "--corpus", str(files / "s.txt"), "--query", "x"]) == 1
    assert "could not load the encoder" in capsys.readouterr().err
    np.save(tmp_path / "short.npy", np.zeros((2, 32), dtype=np.float32))
    assert main(["search", "--model", str(run_dir), "--corpus", str(files / "s.txt"), "--query", "x",
                 "--corpus_embeddings", str(tmp_path / "short.npy")]) == 1
    assert "holds 2 embeddings" in capsys.readouterr().err
