"""The data layer: every source kind, every kind of bad input, sharding over processes, streaming,
batches without duplicate sentences."""

import csv
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import free_port, make_sentences, require_shared
from simcse_mini.config import ConfigError, load_config
from simcse_mini.data import (DataError, LengthGroupedSampler, NoDuplicatesSampler, build_train_dataset, build_train_loader,
                              text_keys)
from simcse_mini.model import load_tokenizer
from simcse_mini.trainer import train

HERE = Path(__file__).parent
ENV = {**os.environ, "PYTHONPATH": str(HERE.parent), "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
COLUMNS = ("sent0", "sent1", "hard_neg")


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder):
    return load_tokenizer(str(tiny_encoder))


def config(data=None, **overrides):
    values = {"model_name_or_path": "unused", "per_device_train_batch_size": 4, **overrides}
    if data is not None:
        values["train_file"] = str(data)
    return load_config(None, values)


def decoded(tokenizer, dataset) -> list[list[str]]:
    """Each example as its list of sentences (the tiny tokenizer decodes them back exactly)."""
    return [tokenizer.batch_decode(example["input_ids"], skip_special_tokens=True) for example in dataset]


def triplets(n: int, seed: int = 1) -> list[dict]:
    sentences = make_sentences(3 * n, seed=seed)
    return [dict(zip(COLUMNS, sentences[i:i + 3])) for i in range(0, 3 * n, 3)]


def write(path: Path, rows: list[dict]) -> Path:
    """Rows of sentences in the format the file name says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = path.suffix
    if kind in (".csv", ".tsv"):
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t" if kind == ".tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    elif kind == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    elif kind == ".json":
        path.write_text(json.dumps(rows))
    elif kind == ".parquet":
        datasets.Dataset.from_list(rows).to_parquet(str(path))
    elif kind == ".txt":
        path.write_text("".join(row["text"] + "\n" for row in rows))
    return path


# --- sources ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["d.csv", "d.tsv", "d.jsonl", "d.json", "d.parquet"])
def test_every_file_type_gives_the_triplets_in_order(tokenizer, tmp_path, name):
    rows = triplets(6)
    dataset = build_train_dataset(config(write(tmp_path / name, rows), objective="sup"), tokenizer)
    assert decoded(tokenizer, dataset) == [list(row.values()) for row in rows]


def test_text_file_gives_one_view_per_line(tokenizer, tmp_path):
    sentences = make_sentences(5)
    dataset = build_train_dataset(config(write(tmp_path / "c.txt", [{"text": s} for s in sentences])), tokenizer)
    assert decoded(tokenizer, dataset) == [[s] for s in sentences]


def test_folder_pairs_and_named_columns(tokenizer, tmp_path):
    rows = [{"premise": r["sent0"], "entailed": r["sent1"], "id": i} for i, r in enumerate(triplets(6))]
    write(tmp_path / "folder" / "part-1.jsonl", rows[:4])
    write(tmp_path / "folder" / "part-2.jsonl", rows[4:])
    (tmp_path / "folder" / "README.md").write_text("not data")
    dataset = build_train_dataset(config(tmp_path / "folder", objective="sup", sent0_column="premise",
                                         sent1_column="entailed"), tokenizer)
    assert decoded(tokenizer, dataset) == [[r["premise"], r["entailed"]] for r in rows]


def test_hard_negatives_can_be_ignored(tokenizer, tmp_path):
    rows = triplets(4)
    dataset = build_train_dataset(config(write(tmp_path / "t.csv", rows), objective="sup", hard_neg_column="none"),
                                  tokenizer)
    assert decoded(tokenizer, dataset) == [[r["sent0"], r["sent1"]] for r in rows]


def test_truncation_and_worker_processes(tokenizer, tmp_path):
    sentences = make_sentences(40)
    data = write(tmp_path / "c.txt", [{"text": s} for s in sentences])
    one = build_train_dataset(config(data, max_seq_length=6), tokenizer)
    two = build_train_dataset(config(data, max_seq_length=6, preprocessing_num_workers=2), tokenizer)
    assert one["input_ids"] == two["input_ids"]
    assert max(len(views[0]) for views in one["input_ids"]) == 6


@pytest.mark.parametrize("source", ["txt", "csv", "tsv", "jsonl", "json", "parquet", "folder", "hub", "stream"])
def test_trainer_trains_from_every_source_kind(tiny_encoder, tmp_path, source):
    """Through config alone; "hub" goes through the dataset_name path (load_dataset on a name) with a
    local dataset folder, as the hub itself cannot be reached from the test machines."""
    rows = triplets(16)
    overrides = {"objective": "sup", "train_file": str(tmp_path / f"data.{source}")}
    if source == "txt":
        overrides = {"train_file": str(write(tmp_path / "c.txt", [{"text": r["sent0"]} for r in rows]))}
    elif source == "folder":
        write(tmp_path / "data" / "a.parquet", rows[:8])
        write(tmp_path / "data" / "b.parquet", rows[8:])
        overrides["train_file"] = str(tmp_path / "data")
    elif source == "hub":
        write(tmp_path / "repo" / "train.csv", rows)
        overrides = {"objective": "sup", "dataset_name": str(tmp_path / "repo"), "dataset_split": "train"}
    elif source == "stream":
        overrides.update(train_file=str(write(tmp_path / "d.jsonl", rows)), streaming=True)
    else:
        write(Path(overrides["train_file"]), rows)
    cfg = load_config(None, {"model_name_or_path": str(tiny_encoder), "output_dir": str(tmp_path / "run"),
                             "per_device_train_batch_size": 8, "max_steps": 3, "save_steps": 0, **overrides})
    assert train(cfg)["steps"] == 3


# --- bad input ------------------------------------------------------------------------------------

def test_missing_file_and_folder_problems(tokenizer, tmp_path):
    with pytest.raises(DataError, match=r"training data not found: .*missing\.txt"):
        build_train_dataset(config(tmp_path / "missing.txt"), tokenizer)
    with pytest.raises(DataError, match=r"no training data: set train_file .* or dataset_name"):
        build_train_dataset(config(), tokenizer)
    (tmp_path / "mixed").mkdir()
    write(tmp_path / "mixed" / "a.csv", triplets(2))
    write(tmp_path / "mixed" / "b.jsonl", triplets(2))
    with pytest.raises(DataError, match=r"mixed: the folder mixes file types \(\.csv, \.jsonl\)"):
        build_train_dataset(config(tmp_path / "mixed"), tokenizer)


@pytest.mark.parametrize("name", ["e.txt", "e.csv", "e.jsonl"])
def test_empty_file(tokenizer, tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(DataError, match=rf"{name} is empty"):
        build_train_dataset(config(tmp_path / name), tokenizer)


def test_file_of_blank_lines(tokenizer, tmp_path):
    (tmp_path / "blank.txt").write_text("\n  \n\t\n")
    with pytest.raises(DataError, match=r"blank\.txt: nothing to train on: all 3 lines are blank"):
        build_train_dataset(config(tmp_path / "blank.txt"), tokenizer)
    (tmp_path / "blank.csv").write_text("\n\n")
    with pytest.raises(DataError, match=r"blank\.csv has only blank lines"):
        build_train_dataset(config(tmp_path / "blank.csv", objective="sup"), tokenizer)
    (tmp_path / "header.csv").write_text("sent0,sent1,hard_neg\n")
    with pytest.raises(DataError, match=r"header\.csv has a header line \('sent0,sent1,hard_neg'\) but no rows"):
        build_train_dataset(config(tmp_path / "header.csv", objective="sup"), tokenizer)


def test_blank_lines_and_whitespace_are_dropped_with_a_count(tokenizer, tmp_path, caplog):
    (tmp_path / "c.txt").write_text("a dog runs\n\n  the cat sleeps \n   \nthe bird sings\n")
    with caplog.at_level(logging.INFO, logger="simcse_mini.data"):
        dataset = build_train_dataset(config(tmp_path / "c.txt", strict=True), tokenizer)
    assert decoded(tokenizer, dataset) == [["a dog runs"], ["the cat sleeps"], ["the bird sings"]]
    assert "c.txt: dropped 2 of 5 lines that are blank (lines 2, 4)" in caplog.text
    assert "c.txt: stripped surrounding whitespace from 1 line" in caplog.text


@pytest.mark.parametrize("name,line", [("bad.txt", 3), ("bad.csv", 4)])
def test_undecodable_bytes(tokenizer, tmp_path, name, line):
    rows = triplets(4)
    rows[2]["sent1"] = "caf\xe9"  # written below in Latin-1: one byte that is not UTF-8
    path = write(tmp_path / name, [{"text": r["sent1"]} for r in rows] if name.endswith(".txt") else rows)
    path.write_bytes(path.read_text().encode("latin-1"))
    objective = "unsup" if name.endswith(".txt") else "sup"
    with pytest.raises(DataError, match=rf"{name}, line {line}: byte 0xe9 \(byte \d+ of the line\) is not valid "
                                         r"UTF-8; set encoding_errors: replace"):
        build_train_dataset(config(path, objective=objective), tokenizer)
    dataset = build_train_dataset(config(path, objective=objective, encoding_errors="replace"), tokenizer)
    assert len(dataset) == 4 and "[UNK]" in tokenizer.decode(dataset[2]["input_ids"][0 if objective == "unsup" else 1])


def test_table_without_the_required_columns(tokenizer, tmp_path):
    path = write(tmp_path / "nli.csv", [{"premise": "a", "hypothesis": "b"}])
    with pytest.raises(DataError, match=r"nli\.csv: objective sup needs the column\(s\) 'sent0', 'sent1', but it has "
                                        r"'premise', 'hypothesis'; name the columns to use with sent0_column"):
        build_train_dataset(config(path, objective="sup"), tokenizer)
    with pytest.raises(DataError, match=r"needs the column\(s\) 'text', but it has 'premise', 'hypothesis'"):
        build_train_dataset(config(path), tokenizer)


def test_rows_with_an_empty_field_are_dropped_or_refused(tokenizer, tmp_path, caplog):
    rows = triplets(6)
    rows[1]["sent1"], rows[4]["hard_neg"], rows[4]["sent0"] = "", " ", ""
    path = write(tmp_path / "t.csv", rows)
    with caplog.at_level(logging.INFO, logger="simcse_mini.data"):
        dataset = build_train_dataset(config(path, objective="sup"), tokenizer)
    assert len(dataset) == 4
    assert "t.csv: dropped 2 of 6 rows that have an empty sent0 or sent1 or hard_neg (rows 2, 5)" in caplog.text
    with pytest.raises(DataError, match=r"t\.csv, row 2: empty 'sent1' \(strict is on; 2 such rows in all: 2, 5\)"):
        build_train_dataset(config(path, objective="sup", strict=True), tokenizer)


def test_unparsable_csv(tokenizer, tmp_path):
    (tmp_path / "r.csv").write_text("sent0,sent1\na,b\nc,d,e\n")
    with pytest.raises(DataError, match=r"r\.csv: cannot read it: ParserError: .*Expected 2 fields in line 3, saw 3"):
        build_train_dataset(config(tmp_path / "r.csv", objective="sup"), tokenizer)


@pytest.mark.parametrize("streaming", [False, True])
def test_dataset_smaller_than_one_batch(tokenizer, tmp_path, streaming):
    path = write(tmp_path / "c.txt", [{"text": s} for s in make_sentences(7)])
    cfg = config(path, streaming=streaming, max_steps=5)
    dataset = build_train_dataset(cfg, tokenizer)
    build_train_loader(cfg, dataset, tokenizer.pad_token_id, num_processes=1)  # 7 >= 4
    with pytest.raises(DataError, match=r"c\.txt: 7 usable examples, fewer than one batch of 8 \(4 per process x 2 "
                                        r"processes\); lower per_device_train_batch_size"):
        build_train_loader(cfg, dataset, tokenizer.pad_token_id, num_processes=2)


def test_unreachable_hub_dataset_is_one_clear_error_from_the_cli(tiny_encoder, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "simcse_mini", "train", "--model_name_or_path", str(tiny_encoder),
         "--dataset_name", "simcse-mini-tests/no-such-dataset", "--output_dir", str(tmp_path / "run")],
        env={**ENV, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert ("simcse-mini: error: cannot load hub dataset simcse-mini-tests/no-such-dataset [train] from the Hugging "
            "Face hub: Couldn't reach") in proc.stderr
    assert "set train_file to it instead of dataset_name" in proc.stderr


def test_data_options_are_checked():
    for overrides, message in [({"train_file": "a.txt", "dataset_name": "x"}, "not both"),
                               ({"streaming": "true"}, "set max_steps"),
                               ({"streaming": "true", "max_steps": "5", "no_duplicates_in_batch": "true"}, "streaming"),
                               ({"streaming": "true", "max_steps": "5", "group_by_length": "true"}, "streaming"),
                               ({"streaming": "true", "max_steps": "5", "strict": "true"}, "a stream is read while training"),
                               ({"group_by_length": "true", "no_duplicates_in_batch": "true"}, "not together"),
                               ({"encoding_errors": "skip"}, "choose one of strict, replace, ignore"),
                               ({"sent1_column": "sent0"}, "must name different columns")]:
        with pytest.raises(ConfigError, match=message):
            config(**overrides)


# --- the shared corpora -------------------------------------------------------------------------

def test_shared_training_files_load_completely(tokenizer):
    wiki = build_train_dataset(config(require_shared("data", "train", "wiki_sentences.txt")), tokenizer)
    nli = build_train_dataset(config(require_shared("data", "train", "nli_triplets.csv"), objective="sup"), tokenizer)
    assert len(wiki) == 51752 and len(wiki[0]["input_ids"]) == 1
    assert len(nli) == 5883 and len(nli[0]["input_ids"]) == 3


# --- order, sharding, streaming -------------------------------------------------------------------

def one_epoch(tokenizer, cfg) -> list[list[list[str]]]:
    loader = build_train_loader(cfg, build_train_dataset(cfg, tokenizer), tokenizer.pad_token_id, num_processes=1)
    return [[tokenizer.batch_decode(example, skip_special_tokens=True) for example in batch["input_ids"]]
            for batch in loader]


def test_streaming_and_map_style_give_the_same_examples_in_one_epoch(tokenizer, corpus_file):
    mapped = one_epoch(tokenizer, config(corpus_file))
    streamed = one_epoch(tokenizer, config(corpus_file, streaming=True, max_steps=1, shuffle_buffer_size=64))
    flat = sorted(s for batch in mapped for example in batch for s in example)
    assert flat == sorted(s for batch in streamed for example in batch for s in example)
    assert flat == sorted(corpus_file.read_text().splitlines())  # 256 lines: whole batches, nothing dropped
    assert mapped != streamed  # both shuffled, each in its own way


def test_two_processes_share_each_epoch_without_overlap(tiny_encoder, tmp_path):
    corpus = write(tmp_path / "c.txt", [{"text": s} for s in make_sentences(48)])
    repeats = write(tmp_path / "r.txt", [{"text": s} for s in make_sentences(6) * 8])
    runs = {"map": {"train_file": str(corpus)},
            "stream": {"train_file": str(corpus), "streaming": True, "max_steps": 1, "shuffle_buffer_size": 16},
            "no_duplicates": {"train_file": str(repeats), "no_duplicates_in_batch": True, "per_device_train_batch_size": 3},
            "grouped": {"train_file": str(corpus), "group_by_length": True}}
    for run in runs.values():
        run.setdefault("per_device_train_batch_size", 4)
    subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                    "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                    "--main_process_port", str(free_port()), str(HERE / "record_batches.py"), "--encoder", str(tiny_encoder), "--runs", json.dumps(runs),
                    "--out", str(tmp_path)], check=True, env=ENV, timeout=300)
    ranks = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1)]
    sentences = {}
    for name in ("map", "stream", "grouped"):
        seen = [sorted(s for batch in rank[name] for [s] in batch) for rank in ranks]
        assert len(ranks[0][name]) == len(ranks[1][name]) == 6  # 48 examples / (4 x 2 processes)
        assert not set(seen[0]) & set(seen[1])
        sentences[name] = sorted(seen[0] + seen[1])
    assert sentences["map"] == sentences["stream"] == sentences["grouped"] == sorted(make_sentences(48))
    # The two processes' batches of a step form the global batch: 6 different sentences.
    steps = list(zip(ranks[0]["no_duplicates"], ranks[1]["no_duplicates"]))
    assert len(steps) == 8 and all(len({s for [s] in a + b}) == 6 for a, b in steps)


# --- batches without duplicate sentences ---------------------------------------------------------

def test_no_duplicates_sampler_orders_are_random_distinct_and_replayable():
    keys = np.repeat(np.arange(10), 6).reshape(-1, 1)  # 10 sentences, 6 copies each
    sampler = NoDuplicatesSampler(keys, global_batch=5, seed=3)
    first = list(sampler)
    assert len(first) == len(sampler) == 60
    assert all(len(set(keys[first[i:i + 5], 0])) == 5 for i in range(0, 60, 5))
    assert list(sampler) == first  # same epoch, same order
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert first != sorted(first)
    with pytest.raises(DataError, match="4 distinct sentences, fewer than one batch of 5"):
        NoDuplicatesSampler(keys % 4, global_batch=5, seed=3)


def test_duplicates_are_keyed_on_what_the_model_sees(tokenizer, tmp_path):
    path = write(tmp_path / "c.txt", [{"text": t} for t in ["A dog runs", "a dog runs", "a dog runs ", "a cat runs"]])
    keys = text_keys(build_train_dataset(config(path), tokenizer))
    assert keys.shape == (4, 1) and len(set(keys[:, 0])) == 2  # the tiny tokenizer lowercases


# --- batches of similar length ----------------------------------------------------------------------

def test_length_grouped_sampler_pads_less_and_stays_random_and_replayable():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 33, size=1000)
    sampler = LengthGroupedSampler(lengths, global_batch=16, seed=3, pool_batches=10)
    first = list(sampler)
    assert len(first) == len(sampler) == 992 and len(set(first)) == 992  # 62 whole batches, none repeated
    batches = np.array(first).reshape(-1, 16)
    padded = lengths[batches].max(axis=1).mean()
    random_padded = lengths[rng.permutation(992).reshape(-1, 16)].max(axis=1).mean()
    assert padded < 0.8 * random_padded
    assert list(np.diff([lengths[b].max() for b in batches]) >= 0).count(False) > 10  # batches are shuffled
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_group_by_length_loader_covers_the_data_with_less_padding(tokenizer, corpus_file):
    plain = one_epoch(tokenizer, config(corpus_file))
    grouped = one_epoch(tokenizer, config(corpus_file, group_by_length=True))
    assert sorted(s for b in grouped for e in b for s in e) == sorted(s for b in plain for e in b for s in e)
    cfg = config(corpus_file, group_by_length=True)
    loader = build_train_loader(cfg, build_train_dataset(cfg, tokenizer), tokenizer.pad_token_id, num_processes=1)
    padding = [(batch["attention_mask"] == 0).float().mean().item() for batch in loader]
    cfg = config(corpus_file)
    loader = build_train_loader(cfg, build_train_dataset(cfg, tokenizer), tokenizer.pad_token_id, num_processes=1)
    assert np.mean(padding) < np.mean([(batch["attention_mask"] == 0).float().mean().item() for batch in loader])


@pytest.mark.parametrize("option", [{}, {"streaming": True}, {"no_duplicates_in_batch": True}, {"group_by_length": True}])
def test_resumed_run_matches_the_whole_run(tiny_encoder, tmp_path, option):
    data = write(tmp_path / "c.txt", [{"text": s} for s in make_sentences(40)])  # 5 steps a pass

    def run(out, **overrides):
        return train(load_config(None, {"model_name_or_path": str(tiny_encoder), "train_file": str(data),
                                        "output_dir": str(out), "per_device_train_batch_size": 8, "max_steps": 8,
                                        "save_steps": 1, "save_total_limit": 8, "seed": 5, "learning_rate": 1e-3,
                                        **option, **overrides}))
    run(tmp_path / "whole")
    whole = load_file(tmp_path / "whole" / "final" / "model.safetensors")
    for step in (5, 6):  # at the end of the first pass, and one batch into the second
        out = tmp_path / f"resumed-{step}"
        out.mkdir()
        run(out, resume_from_checkpoint=str(tmp_path / "whole" / "checkpoints" / f"step-{step}"))
        resumed = load_file(out / "final" / "model.safetensors")
        for name, tensor in whole.items():
            torch.testing.assert_close(resumed[name], tensor, atol=0, rtol=0, msg=f"step {step}: {name}")
