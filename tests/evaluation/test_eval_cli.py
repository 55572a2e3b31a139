"""``simcse-mini evaluate`` end to end on a tiny model and tiny data."""

from __future__ import annotations

import json

import pytest
from sts_files import write_senteval_folder

from simcse_mini.cli import main

TABLE_TASKS = ["sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr"]


def run(capsys, *args) -> tuple[int, str, str]:
    status = main(["evaluate", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_evaluate_prints_the_table_and_writes_json(tiny_encoder, tmp_path, capsys):
    senteval_dir = write_senteval_folder(tmp_path)
    output = tmp_path / "out" / "results.json"
    status, out, _ = run(capsys, "--model", tiny_encoder, "--pooler", "avg", "--data-dir", senteval_dir,
                         "--output", output)
    assert status == 0
    for title in ("STS12", "STS13", "STS14", "STS15", "STS16", "STS-B", "SICK-R", "Avg.", "Spearman"):
        assert title in out
    assert "SICK-R: test split only" in out
    results = json.loads(output.read_text())
    assert list(results) == [*TABLE_TASKS, "avg"]
    assert results["sts12"]["n"] == 8  # 4 + 4: the unscored pairs and the subsets missing a file left out
    assert {"mean", "wmean", "subsets"} <= set(results["sts12"])
    assert results["stsb"]["n"] == 7 and "uniformity" in results["stsb"]
    assert (results["sickr"]["n"], results["sickr"]["split"]) == (6, "test")
    assert results["avg"]["spearman"] == pytest.approx(sum(results[t]["spearman"] for t in TABLE_TASKS) / 7)


def test_dev_split_scores_stsb_dev_and_sick_trial(tiny_encoder, tmp_path, capsys):
    senteval_dir = write_senteval_folder(tmp_path)
    output = tmp_path / "dev.json"
    status, out, _ = run(capsys, "--model", tiny_encoder, "--pooler", "cls_before_pooler", "--split", "dev",
                         "--data-dir", senteval_dir, "--output", output)
    assert status == 0
    assert "STS-B dev" in out and "SICK-R trial" in out
    results = json.loads(output.read_text())
    assert [(task, results[task]["split"]) for task in ("stsb", "sickr")] == [("stsb", "dev"), ("sickr", "trial")]
    assert list(results) == ["stsb", "sickr", "avg"]


def test_sickr_all_is_the_mteb_setting(tiny_encoder, tmp_path, capsys):
    senteval_dir = write_senteval_folder(tmp_path)
    output = tmp_path / "sickr.json"
    status, out, _ = run(capsys, "--model", tiny_encoder, "--tasks", "sickr", "--sickr-split", "all",
                         "--data-dir", senteval_dir, "--output", output)
    assert status == 0 and "train+trial+test together (MTEB)" in out
    assert json.loads(output.read_text())["sickr"]["n"] == 18


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tasks", "sts12", "--split", "dev"], "sts12 has no 'dev' split"),
        (["--source", "original"], "stsb_dir"),
        (["--data-dir", "MISSING"], "no downstream/ folder"),
    ],
)
def test_data_problems_are_reported_before_loading_the_model(tmp_path, capsys, args, message):
    senteval_dir = write_senteval_folder(tmp_path)
    args = [arg.replace("MISSING", str(senteval_dir / "missing")) for arg in args]
    if "--data-dir" not in args:
        args += ["--data-dir", str(senteval_dir)]
    status, _, err = run(capsys, "--model", "no/such-model", *args)
    assert status == 2 and message in err


def test_bf16_precision_scores_close_to_fp32(tiny_encoder, tmp_path, capsys):
    senteval_dir = write_senteval_folder(tmp_path)
    scores = {}
    for precision in ("fp32", "bf16"):
        output = tmp_path / f"{precision}.json"
        status, _, _ = run(capsys, "--model", tiny_encoder, "--pooler", "avg", "--data-dir", senteval_dir,
                           "--tasks", "stsb", "--precision", precision, "--output", output)
        assert status == 0
        scores[precision] = json.loads(output.read_text())["stsb"]["pearson"]
    assert scores["bf16"] != scores["fp32"]  # bf16 autocast did run
    assert scores["bf16"] == pytest.approx(scores["fp32"], abs=2.0)  # 7 pairs: Pearson moves a little, not wholesale
