"""Training end to end: loss goes down, several processes equal one, a killed run resumes exactly."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import free_port, make_tiny_encoder
from simcse_mini.config import load_config
from simcse_mini.model import SimCSEModel, load_tokenizer
from simcse_mini.encoding import encode
from simcse_mini.trainer import RunError, train

HERE = Path(__file__).parent
ENV = {**os.environ, "PYTHONPATH": str(HERE.parent), "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


def config(encoder, data, out, **overrides):
    values = {"model_name_or_path": str(encoder), "train_file": str(data), "output_dir": str(out),
              "per_device_train_batch_size": 16, "learning_rate": 1e-3, "max_steps": 8, "logging_steps": 1,
              "save_steps": 0, "seed": 7, **overrides}
    return load_config(None, values)


def losses(run_dir):
    return [r["loss"] for r in map(json.loads, (Path(run_dir) / "metrics.jsonl").read_text().splitlines()) if "loss" in r]


def test_short_run_lowers_loss_and_saves_a_loadable_model(tiny_encoder, corpus_file, tmp_path):
    # Mean pooling: at random initialisation every [CLS] state is nearly the same vector (cosine
    # 0.99999 between unrelated sentences), which a few steps cannot pull apart.
    summary = train(config(tiny_encoder, corpus_file, tmp_path / "run", max_steps=30, logging_steps=5,
                           pooler_type="avg"))
    curve = losses(tmp_path / "run")
    assert len(curve) == 6 and curve[-1] < curve[0] / 4, curve
    final = SimCSEModel.from_pretrained(summary["final_model"])
    embeddings = encode(final, load_tokenizer(summary["final_model"]), ["a dog runs", "the man reads"])
    assert embeddings.shape == (2, 32) and torch.isfinite(embeddings).all()


def test_supervised_run_with_mlm(tiny_encoder, triplet_file, tmp_path):
    train(config(tiny_encoder, triplet_file, tmp_path / "run", objective="sup", do_mlm=True, pooler_type="avg",
                 hard_negative_weight=1.0, max_steps=12, logging_steps=4))
    curve = losses(tmp_path / "run")
    assert curve[-1] < curve[0], curve


def test_evaluator_selects_best_model(tiny_encoder, corpus_file, tmp_path):
    scores = iter([1.0, 5.0, 2.0, 3.0])  # start, step 3, step 6, end
    summary = train(config(tiny_encoder, corpus_file, tmp_path / "run", eval_steps=3, max_steps=8),
                    evaluator=lambda encode_fn: {"score": next(scores), "dim": float(encode_fn(["a b"]).shape[1])})
    assert summary["best_step"] == 3 and summary["best_metric"] == 5.0
    assert json.loads((tmp_path / "run" / "best" / "simcse_config.json").read_text())["step"] == 3
    evals = [r for r in map(json.loads, (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) if "eval/score" in r]
    assert [r["step"] for r in evals] == [0, 3, 6, 8] and evals[0]["eval/dim"] == 32.0


def test_refuses_to_overwrite_an_earlier_run(tiny_encoder, corpus_file, tmp_path):
    train(config(tiny_encoder, corpus_file, tmp_path / "run", max_steps=2))
    with pytest.raises(RunError, match="already holds a run"):
        train(config(tiny_encoder, corpus_file, tmp_path / "run", max_steps=2))
    with pytest.raises(RunError, match="no checkpoint"):
        train(config(tiny_encoder, corpus_file, tmp_path / "run", max_steps=2, resume_from_checkpoint="latest"))


def test_two_processes_equal_one_on_the_concatenated_batch(tmp_path):
    # Dropout off, so that one and two processes see the same network.
    encoder = make_tiny_encoder(tmp_path / "enc", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    for objective in ("unsup", "sup"):
        results = {}
        for processes in (1, 2):
            out = tmp_path / f"{objective}-{processes}.pt"
            # On a machine without GPUs, --multi_gpu starts gloo processes on the CPU (--cpu alone runs one).
            launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
                        str(processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                        "--main_process_port", str(free_port())]
            cmd = launcher if processes > 1 else [sys.executable]
            subprocess.run([*cmd, str(HERE / "distributed_step.py"), "--encoder", str(encoder), "--out", str(out),
                            "--objective", objective], check=True, env=ENV, timeout=300)
            results[processes] = torch.load(out)
        one, two = results[1], results[2]
        assert two["processes"] == 2
        assert two["loss"] == pytest.approx(one["loss"], rel=1e-5)
        assert one["grads"].keys() == two["grads"].keys()
        for name, grad in one["grads"].items():
            torch.testing.assert_close(two["grads"][name], grad, atol=1e-6, rtol=1e-4, msg=name)


def _cli(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "simcse_mini", "train", *args], env=ENV, **kwargs)


def test_killed_and_resumed_run_ends_with_the_same_weights(tiny_encoder, corpus_file, tmp_path):
    common = ["--model_name_or_path", str(tiny_encoder), "--train_file", str(corpus_file),
              "--per_device_train_batch_size", "16", "--learning_rate", "1e-3", "--max_steps", "40",
              "--save_steps", "4", "--logging_steps", "1", "--seed", "3", "--do_mlm", "true"]
    assert _cli(*common, "--output_dir", str(tmp_path / "whole")).wait(timeout=300) == 0

    # Kill the second run (SIGKILL: no clean-up) once it has written a checkpoint mid-way.
    killed = tmp_path / "killed"
    proc = _cli(*common, "--output_dir", str(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (killed / "checkpoints" / "step-12").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "final").exists(), "the run was meant to be killed before the end"
    assert _cli(*common, "--output_dir", str(killed), "--resume").wait(timeout=300) == 0

    whole = load_file(tmp_path / "whole" / "final" / "model.safetensors")
    resumed = load_file(killed / "final" / "model.safetensors")
    for name, tensor in whole.items():
        torch.testing.assert_close(resumed[name], tensor, atol=0, rtol=0, msg=name)
    assert losses(killed) == losses(tmp_path / "whole")  # the log holds each step once


def test_sts_dev_evaluation_during_training(tiny_encoder, corpus_file, tmp_path):
    from conftest import require_shared
    data_dir = require_shared("data", "senteval")
    summary = train(config(tiny_encoder, corpus_file, tmp_path / "run", max_steps=4, eval_steps=2,
                           eval_data_dir=str(data_dir), eval_tasks="stsb,sickr"))
    assert summary["metric_for_best_model"] == "stsb_dev_spearman"
    assert set(summary["final_metrics"]) >= {"stsb_dev_spearman", "sickr_trial_spearman", "stsb_dev_alignment",
                                             "stsb_dev_uniformity", "avg_spearman"}
    assert -100 <= summary["final_metrics"]["stsb_dev_spearman"] <= 100


def test_eval_file_and_bad_eval_data(tiny_encoder, corpus_file, tmp_path):
    from simcse_mini.data import DataError
    from simcse_mini.evaluators import build_evaluator
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("sentence1\tsentence2\tscore\na dog runs\ta dog runs\t5\nthe man reads\tred ball\t0\n"
                     "a cat sleeps\ta cat sings\t3\n")
    evaluator = build_evaluator(config(tiny_encoder, corpus_file, tmp_path / "r", eval_file=str(pairs)))
    assert list(evaluator(lambda sentences: __import__("numpy").random.rand(len(sentences), 4))) == ["pairs_spearman"]
    pairs.write_text("sentence1\tsentence2\tscore\na\tb\tfive\n")
    with pytest.raises(DataError, match=r"pairs.tsv, line 2: score 'five' is not a number"):
        build_evaluator(config(tiny_encoder, corpus_file, tmp_path / "r", eval_file=str(pairs)))
    with pytest.raises(DataError, match="not a SentEval-style data folder"):
        build_evaluator(config(tiny_encoder, corpus_file, tmp_path / "r", eval_data_dir=str(tmp_path)))
