"""Reports on training runs: figures, the summary table, labels, bad logs, and TensorBoard logging."""

import json
import statistics

import pytest

from simcse_mini.cli import main
from simcse_mini.config import load_config
from simcse_mini.evaluation.metrics import alignment, uniformity
from simcse_mini.report import ReportError, report
from simcse_mini.trainer import RunError, train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = ["loss.png", "learning_rate.png", "speed.png", "eval.png", "alignment_uniformity.png"]


def write_run(folder, final_loss, spearmans, alignment=0.2, uniformity=-1.0, steps=20):
    """A run folder as training leaves it: logs every 10 steps, evaluations at step 0 and at each
    of ``spearmans`` (STS-B dev spearman, the last one at ``steps``)."""
    folder.mkdir(parents=True)
    records = []
    evaluations = dict(zip(range(0, steps + 1, steps // (len(spearmans) - 1)), spearmans))
    for step in range(0, steps + 1):
        if step and step % 10 == 0:
            loss = final_loss + (steps - step) / 10
            records.append({"step": step, "epoch": step / steps, "loss": loss,
                            "learning_rate": 3e-5 * (1 - step / steps), "examples_per_second": 200.0 + step})
        if step in evaluations:
            fraction = step / steps
            records.append({"step": step, "eval/stsb_dev_spearman": evaluations[step],
                            "eval/stsb_dev_alignment": alignment * (1 + fraction),
                            "eval/stsb_dev_uniformity": uniformity * (1 + fraction),
                            "eval/avg_spearman": evaluations[step] - 1})
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def table_row(summary, label):
    header = next(line for line in summary.splitlines() if line.startswith("| label"))
    row = next(line for line in summary.splitlines() if line.startswith(f"| {label} |"))
    return dict(zip(header.strip("| ").split(" | "), row.strip("| ").split(" | ")))


def assert_png(path):
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_SIGNATURE), path


def test_report_draws_every_figure_and_tabulates_means(tmp_path):
    runs = [write_run(tmp_path / "seed1", 1.0, [10.0, 50.0, 40.0], alignment=0.1, uniformity=-1.0),
            write_run(tmp_path / "seed2", 2.0, [20.0, 60.0, 70.0], alignment=0.3, uniformity=-2.0),
            write_run(tmp_path / "baseline", 3.5, [5.0, 30.0, 35.0])]
    written = report(runs, tmp_path / "out", labels=["ours", "ours", "baseline"], title="Seeds")
    assert sorted(p.name for p in written) == sorted(FIGURES + ["summary.md"])
    for name in FIGURES:
        assert_png(tmp_path / "out" / name)

    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.startswith("# Seeds\n")
    ours = table_row(summary, "ours")
    assert ours["runs"] == "2" and ours["steps"] == "20"
    assert ours["final loss"] == f"1.5000 ± {statistics.stdev([1.0, 2.0]):.4f}"
    assert ours["stsb_dev_spearman final"] == f"55.00 ± {statistics.stdev([40.0, 70.0]):.2f}"
    assert ours["stsb_dev_spearman best"] == f"60.00 ± {statistics.stdev([50.0, 70.0]):.2f}"
    assert ours["avg_spearman final"].startswith("54.00 ± ")
    assert ours["final stsb_dev_alignment"].startswith("0.4000 ± ")  # (0.1 + 0.3) / 2, doubled by step 20
    assert ours["final stsb_dev_uniformity"].startswith("-3.0000 ± ")
    baseline = table_row(summary, "baseline")
    assert baseline["runs"] == "1" and baseline["final loss"] == "3.5000"
    assert baseline["stsb_dev_spearman best"] == "35.00"


def test_default_labels_and_missing_metrics(tmp_path, caplog):
    run = tmp_path / "plain"
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps({"step": 5, "loss": 2.0, "learning_rate": 1e-5}) + "\n")
    other = write_run(tmp_path / "a" / "final", 1.0, [1.0, 2.0])
    twin = write_run(tmp_path / "b" / "final", 1.0, [1.0, 2.0])
    with caplog.at_level("INFO"):
        written = report([run], tmp_path / "only-loss")
    assert sorted(p.name for p in written) == ["learning_rate.png", "loss.png", "summary.md"]
    assert "speed.png, eval.png, alignment_uniformity.png" in caplog.text
    assert table_row((tmp_path / "only-loss" / "summary.md").read_text(), "plain")["steps"] == "5"
    # Folders of the same name are different runs: labelled by their paths, not averaged.
    report([other, twin], tmp_path / "twins")
    summary = (tmp_path / "twins" / "summary.md").read_text()
    assert table_row(summary, str(other))["runs"] == "1" and table_row(summary, str(twin))["runs"] == "1"


def test_bad_run_folders_are_named(tmp_path):
    with pytest.raises(ReportError, match=r"nowhere: no such run folder"):
        report([tmp_path / "nowhere"], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match=r"empty: no metrics.jsonl"):
        report([tmp_path / "empty"], tmp_path / "out")
    run = write_run(tmp_path / "run", 1.0, [1.0, 2.0])
    lines = (run / "metrics.jsonl").read_text().splitlines()
    (run / "metrics.jsonl").write_text("\n".join(lines[:2] + ['{"step": 12, "loss": 1.'] + lines[2:]) + "\n")
    with pytest.raises(ReportError, match=r"run/metrics.jsonl, line 3: not valid JSON"):
        report([run], tmp_path / "out")
    (run / "metrics.jsonl").write_text('{"loss": 1.0}\n')
    with pytest.raises(ReportError, match=r"line 1: expected a JSON object with an integer 'step'"):
        report([run], tmp_path / "out")
    with pytest.raises(ReportError, match="2 labels for 1 run folders"):
        report([run], tmp_path / "out", labels=["a", "b"])


def test_report_command(tmp_path, capsys):
    runs = [str(write_run(tmp_path / name, 1.0, [1.0, 2.0])) for name in ("a", "b")]
    assert main(["report", *runs, "--output", str(tmp_path / "out"), "--labels", "x", "x", "--title", "T"]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {tmp_path / 'out' / 'summary.md'}" in printed and "eval.png" in printed
    assert table_row((tmp_path / "out" / "summary.md").read_text(), "x")["runs"] == "2"
    assert main(["report", str(tmp_path / "missing"), "--output", str(tmp_path / "out")]) == 1
    assert "missing: no such run folder" in capsys.readouterr().err


def geometry_evaluator(encode_fn):
    """Alignment of reworded pairs and uniformity of all sentences, as STS-B dev evaluation logs them."""
    first = encode_fn(["a dog runs in the park", "the man plays the guitar", "a red ball"])
    second = encode_fn(["the dog runs in a park", "a man plays guitar", "the red ball"])
    return {"stsb_dev_spearman": float(100 * (first * second).sum(axis=1).mean()),
            "stsb_dev_alignment": alignment(first, second), "stsb_dev_uniformity": uniformity(first)}


def scalars(event_dir, tag):
    """(step, value) of each event TensorBoard shows for ``tag``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(event_dir))
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars(tag)]


def tiny_run_config(tiny_encoder, corpus_file, output_dir, **overrides):
    return load_config(None, {"model_name_or_path": str(tiny_encoder), "train_file": str(corpus_file),
                              "output_dir": str(output_dir), "per_device_train_batch_size": 8, "max_steps": 4,
                              "logging_steps": 1, "pooler_type": "avg", **overrides})


def test_tensorboard_holds_the_logged_scalars_and_report_reads_the_run(tiny_encoder, corpus_file, tmp_path):
    pytest.importorskip("tensorboard")
    run = tmp_path / "tb-run"
    cfg = tiny_run_config(tiny_encoder, corpus_file, run, eval_steps=2, save_steps=2, report_to="tensorboard")
    train(cfg, evaluator=geometry_evaluator)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    event_dir = run / "tensorboard" / "tb-run"
    for tag in ("loss", "learning_rate", "examples_per_second", "eval/stsb_dev_spearman", "eval/stsb_dev_uniformity"):
        logged = [(r["step"], r[tag]) for r in records if tag in r]
        assert [step for step, _ in scalars(event_dir, tag)] == [step for step, _ in logged], tag
        assert [value for _, value in scalars(event_dir, tag)] == pytest.approx([value for _, value in logged]), tag
    assert [step for step, _ in scalars(event_dir, "eval/stsb_dev_alignment")] == [0, 2, 4]

    # Resumed from step 2, the run logs steps 3 and 4 again; TensorBoard shows each step once.
    cfg.resume_from_checkpoint = str(run / "checkpoints" / "step-2")
    train(cfg, evaluator=geometry_evaluator)
    assert [step for step, _ in scalars(event_dir, "loss")] == [1, 2, 3, 4]

    written = report([run], tmp_path / "report")
    assert sorted(p.name for p in written) == sorted(FIGURES + ["summary.md"])
    for path in written[:-1]:
        assert_png(path)
    final_loss = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][-2]["loss"]
    row = table_row((tmp_path / "report" / "summary.md").read_text(), "tb-run")
    assert row["steps"] == "4" and row["final loss"] == f"{final_loss:.4f}"


def test_a_tracker_that_is_not_installed_is_named(tiny_encoder, corpus_file, tmp_path, monkeypatch):
    monkeypatch.setattr("simcse_mini.trainer.is_wandb_available", lambda: False)
    with pytest.raises(RunError, match=r"report_to=tensorboard,wandb: the wandb package is not installed"):
        train(tiny_run_config(tiny_encoder, corpus_file, tmp_path / "run", report_to="tensorboard,wandb"))
