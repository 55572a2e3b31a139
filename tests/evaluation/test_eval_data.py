"""The task loaders, on small files in each format and (when present) on the real data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sts_files import PAIRS, SHARED_DATA, write_lines, write_original_stsb, write_senteval_folder

from simcse_mini.evaluation.data import (
    HUB_DATASETS,
    HubDataset,
    HubSource,
    SentEvalFolder,
    has_split,
    open_source,
    read_sick,
    read_sts_subsets,
    read_stsbenchmark,
    resolve_split,
)


def test_sts_subsets_need_text_and_gold_and_drop_unscored_pairs(tmp_path):
    senteval_dir = write_senteval_folder(tmp_path)
    subsets = read_sts_subsets(senteval_dir / "downstream" / "STS" / "STS12-en-test")
    assert sorted(subsets) == ["first", "second"]  # "nogold" has no gold file, "notext" no input file
    assert len(subsets["first"]) == 4
    second = subsets["second"]
    assert second.scores.tolist() == [4.8, 3.6, 4.2, 5.0]
    assert second.sentences1 == [PAIRS[i][0] for i in (0, 2, 3, 5)]
    assert second.sentences2 == [PAIRS[i][1] for i in (0, 2, 3, 5)]


def test_sts_subset_with_gold_of_another_length_is_an_error(tmp_path):
    write_lines(tmp_path / "STS.input.x.txt", ["a\tb", "c\td"])
    write_lines(tmp_path / "STS.gs.x.txt", ["1.0"])
    with pytest.raises(ValueError, match="2 pairs but STS.gs.x.txt has 1 lines"):
        read_sts_subsets(tmp_path)


def test_sts_input_line_without_a_tab_is_an_error(tmp_path):
    write_lines(tmp_path / "STS.input.x.txt", ["a\tb", "just one sentence"])
    write_lines(tmp_path / "STS.gs.x.txt", ["1.0", "2.0"])
    with pytest.raises(ValueError, match="without two tab-separated sentences"):
        read_sts_subsets(tmp_path)


def test_sts_folder_without_subsets_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_sts_subsets(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_sts_subsets(tmp_path / "missing")


def test_stsbenchmark_ignores_extra_columns_and_keeps_quotes(tmp_path):
    senteval_dir = write_senteval_folder(tmp_path)
    pairs = read_stsbenchmark(senteval_dir / "downstream" / "STS" / "STSBenchmark" / "sts-dev.csv")
    assert len(pairs) == len(PAIRS) + 1
    assert pairs.sentences2[1] == PAIRS[1][1]  # the line with two extra source columns
    assert (pairs.sentences1[-1], pairs.sentences2[-1]) == ('"Quoted" start', 'end "quoted"')
    assert pairs.scores[-1] == 2.5


def test_sick_skips_header_and_reads_crlf_files(tmp_path):
    senteval_dir = write_senteval_folder(tmp_path)
    pairs = read_sick(senteval_dir / "downstream" / "SICK" / "SICK_test_annotated.txt")
    assert len(pairs) == len(PAIRS)
    assert pairs.sentences2[0] == PAIRS[0][1]  # no stray "\r"
    np.testing.assert_allclose(pairs.scores, [float(s) * 0.8 + 1 for _, _, s in PAIRS], atol=0.051)


def test_senteval_folder_loads_every_task(tmp_path):
    senteval_dir = write_senteval_folder(tmp_path)
    source = SentEvalFolder(senteval_dir)
    sts16 = source.load("sts16", "test")
    assert sorted(sts16.subsets) == ["first", "second"]
    assert len(sts16.all_pairs) == 8
    stsb = source.load("stsb", "dev")
    assert list(stsb.subsets) == ["dev"] and stsb.all_pairs.sentences1[0] == PAIRS[0][0]
    assert source.load("sickr", "dev").split == "trial"
    sick_all = source.load("sickr", "all")
    assert list(sick_all.subsets) == ["train", "trial", "test"]
    assert len(sick_all.all_pairs) == 3 * len(PAIRS)


def test_original_text_reads_release_subfolders_and_original_stsb(tmp_path):
    senteval_dir = write_senteval_folder(tmp_path)
    original_stsb_dir = write_original_stsb(tmp_path)
    source = open_source("original", data_dir=senteval_dir, stsb_dir=original_stsb_dir)
    sts16 = source.load("sts16", "test")
    assert list(sts16.subsets) == ["headlines"]  # STS2016.* names, four columns
    assert sts16.all_pairs.sentences1 == [PAIRS[i][0].capitalize() for i in (0, 2, 3, 5)]
    assert source.load("stsb", "test").all_pairs.sentences1[0] == PAIRS[0][0].capitalize()
    with pytest.raises(ValueError, match="stsb_dir"):
        open_source("original", data_dir=senteval_dir).load("stsb", "test")


def test_splits_are_checked():
    assert resolve_split("sickr", "dev") == "trial"
    assert has_split("stsb", "dev") and has_split("sickr", "dev") and not has_split("sts12", "dev")
    with pytest.raises(ValueError, match="sts12 has no 'dev' split"):
        resolve_split("sts12", "dev")
    with pytest.raises(ValueError, match="unknown task"):
        resolve_split("sts17", "test")


def test_file_sources_need_a_senteval_folder(tmp_path):
    with pytest.raises(ValueError, match="data folder"):
        open_source("senteval")
    with pytest.raises(FileNotFoundError, match="downstream"):
        open_source("senteval", data_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown source"):
        open_source("mteb", data_dir=tmp_path)


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_hub_source_loads_local_copies_of_the_hub_datasets(tmp_path):
    # The same layout as the hub repositories: one file per split, named after it.
    rows = [{"sentence1": a, "sentence2": b, "score": float(s) / 5} for a, b, s in PAIRS]
    for split in ("train", "validation", "test"):
        write_jsonl(tmp_path / "stsb" / f"{split}.jsonl", rows)
    write_jsonl(tmp_path / "sickr" / "test.jsonl", [{**row, "score": row["score"] * 5} for row in rows])
    datasets = {
        "stsb": HubDataset(str(tmp_path / "stsb"), HUB_DATASETS["stsb"].splits, score_scale=5.0),
        "sickr": HubDataset(str(tmp_path / "sickr"), HUB_DATASETS["sickr"].splits),
    }
    source = HubSource(datasets)
    stsb = source.load("stsb", "dev")
    assert stsb.all_pairs.sentences1 == [a for a, _, _ in PAIRS]
    np.testing.assert_allclose(stsb.all_pairs.scores, [float(s) for _, _, s in PAIRS])  # back on 0-5
    assert len(source.load("sickr", "all").all_pairs) == len(PAIRS)
    with pytest.raises(ValueError, match="'all'"):
        source.load("sickr", "test")  # mteb/sickr-sts is all of SICK, not its test split


def test_hub_datasets_are_the_ones_mteb_and_sentence_transformers_use():
    assert [HUB_DATASETS[f"sts1{i}"].path for i in range(2, 7)] == [f"mteb/sts1{i}-sts" for i in range(2, 7)]
    assert HUB_DATASETS["stsb"].path == "sentence-transformers/stsb"
    assert HUB_DATASETS["sickr"].path == "mteb/sickr-sts"


needs_shared_data = pytest.mark.skipif(
    not (SHARED_DATA / "senteval" / "downstream").is_dir(),
    reason=f"the real evaluation data is not at {SHARED_DATA} (../shared/data beside the repository)",
)
# Scored pairs per task, as in SentEval and MTEB.
REAL_SIZES = {
    ("sts12", "test"): 3108, ("sts13", "test"): 1500, ("sts14", "test"): 3750, ("sts15", "test"): 3000,
    ("sts16", "test"): 1186, ("stsb", "train"): 5749, ("stsb", "dev"): 1500, ("stsb", "test"): 1379,
    ("sickr", "train"): 4500, ("sickr", "dev"): 500, ("sickr", "test"): 4927, ("sickr", "all"): 9927,
}


@needs_shared_data
@pytest.mark.parametrize("source_name", ["senteval", "original"])
def test_real_data_has_the_published_pair_counts(source_name):
    source = open_source(source_name, data_dir=SHARED_DATA / "senteval", stsb_dir=SHARED_DATA / "stsbenchmark")
    sizes = {(task, split): len(source.load(task, split).all_pairs) for task, split in REAL_SIZES}
    assert sizes == REAL_SIZES
    assert "SMT" not in source.load("sts13", "test").subsets  # gold scores but no text


@needs_shared_data
def test_real_original_text_keeps_its_casing():
    senteval = open_source("senteval", data_dir=SHARED_DATA / "senteval")
    original = open_source("original", data_dir=SHARED_DATA / "senteval", stsb_dir=SHARED_DATA / "stsbenchmark")
    for task in ("sts12", "stsb"):
        lowercased = senteval.load(task, "test").all_pairs
        cased = original.load(task, "test").all_pairs
        assert lowercased.sentences1 == [s.lower() for s in lowercased.sentences1]
        assert cased.sentences1 != [s.lower() for s in cased.sentences1]
        np.testing.assert_array_equal(lowercased.scores, cased.scores)
