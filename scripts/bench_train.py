"""Training speed, memory, FLOP utilisation and quality of simcse-mini against sentence-transformers'
own unsupervised SimCSE recipe, and what GradCache saves in memory.

Same machine, run, thread count, data (wiki_sentences.txt), batch (64 sentences, each encoded twice),
maximum length (32 tokens) and optimisation (AdamW, lr 3e-5, linear decay, temperature 0.05) for
every contender:

  simcse-mini            simcse_mini.trainer.train: CLS pooling with the MLP head in training only
  sentence-transformers  its SentenceTransformerTrainer on [s, s] pairs with MultipleNegativesRankingLoss
                         (scale 20) and CLS pooling (scripts/st_recipe.py)
  simcse-mini grouped    simcse-mini with group_by_length: batches of sentences of similar length,
                         which pad less (fewer FLOPs per step for the same sentences)

each at fp32 and at bf16 autocast (the best mixed precision on a CPU: fp16 needs a GPU), on two
encoders: mini-bert-mlm and a random-initialised encoder of bert-base size (written once, with the
mini-bert tokenizer, to a temporary folder both contenders load).

Every training run is a fresh process (its log under OUTPUT_DIR/logs) with OMP_NUM_THREADS and
torch's thread count set to --threads; tokenizers get no threads of their own. Measured:

- seconds per step: the median over a timed window after --warmup-steps. Steps are timed end to end
  (from the end of the previous step), which includes fetching the batch: simcse-mini tokenizes the
  data before training, sentence-transformers tokenizes each batch in its data collator, so its
  compute-only median (from on_step_begin) is given too;
- sentences/s: batch size / median seconds per step (source sentences; both views count once);
- peak RSS: the training process's resident-memory high-water mark after training (before the quality
  check), so it counts Python, torch and the data as well as the model, optimizer and activations;
- FLOP utilisation: training FLOPs per step (3 x the forward pass) / median seconds per step / the
  matrix-multiply rate (GFLOP/s) torch reaches here with the same threads, in fp32 and in bf16. The
  forward pass counts the encoder's linear layers, 2 x tokens x (4 h^2 + 2 h ffn) per layer, and its
  attention, 4 x sequences x length^2 x h per layer, for 2 x batch sequences of the expected padded
  length of a random batch (the mean longest sentence, after truncation, of 1000 random batches);
  embeddings, pooling head and loss are left out;
- quality: STS-B dev Spearman (SentEval's copy) of each trained model after the same number of steps
  (warm-up + timed), for mini-bert-mlm only (a random bert-base-sized encoder learns nothing
  meaningful in a few steps): simcse-mini's final model through SimCSE.from_pretrained (raw CLS, since
  the MLP head is for training only), sentence-transformers' saved folder through SentenceTransformer,
  both over whole sentences.

GradCache: simcse-mini on mini-bert-mlm in bf16 at batch 64, 256 and 1024, with and without the cache
(chunks of 64): peak RSS and sentences/s, and the ratio peak(1024, cached) / peak(64, uncached).

    python scripts/bench_train.py --threads 2 --output-dir bench_results

Writes OUTPUT_DIR/bench_train.json and OUTPUT_DIR/bench_train.md (after every run, so far).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout's simcse_mini, installed or not
SHARED = ROOT.parent / "shared"
OURS, ST, OURS_GROUPED = "simcse-mini", "sentence-transformers", "simcse-mini grouped"
CONTENDERS = (OURS, ST, OURS_GROUPED)
PRECISIONS = ("fp32", "bf16")
ENCODERS = ("mini-bert-mlm", "bert-base")
BERT_BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}


# --- in the child process ---------------------------------------------------------------------

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_gflops(dtype_name: str, size: int, repeats: int) -> float:
    """The best rate of ``torch.matmul`` on two size x size matrices, in GFLOP/s."""
    import torch
    a, b = (torch.randn(size, size).to(getattr(torch, dtype_name)) for _ in range(2))
    torch.matmul(a, b)  # first-call allocations and kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def train_ours(run: dict, out_dir: Path) -> dict:
    """simcse-mini's unsupervised SimCSE; step times from the per-step speed it logs."""
    from simcse_mini.config import TrainConfig
    from simcse_mini.trainer import train

    cfg = TrainConfig(
        model_name_or_path=run["encoder_path"], train_file=run["train_file"], objective="unsup",
        pooler_type="cls", mlp_only_train=True, temp=0.05, learning_rate=run["learning_rate"],
        per_device_train_batch_size=run["batch_size"], max_seq_length=run["max_seq_length"],
        max_steps=run["warmup_steps"] + run["steps"], logging_steps=1, save_steps=0,
        mixed_precision="bf16" if run["precision"] == "bf16" else "no", grad_cache=run["grad_cache"],
        mini_batch_size=run["mini_batch_size"], seed=run["seed"], output_dir=str(out_dir),
        group_by_length=run["contender"] == OURS_GROUPED)
    summary = train(cfg)
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    # With logging_steps 1 each record's speed is that of its one step.
    step_seconds = [run["batch_size"] / r["examples_per_second"] for r in records if "examples_per_second" in r]
    return {"step_seconds": step_seconds, "train_seconds": summary["train_seconds"],
            "model_dir": summary["final_model"]}


def train_st(run: dict, out_dir: Path) -> dict:
    from st_recipe import train_st_recipe

    result = train_st_recipe(
        run["encoder_path"], run["train_file"], "unsup", "cls", run["batch_size"],
        run["warmup_steps"] + run["steps"], run["learning_rate"], run["max_seq_length"], run["seed"],
        run["precision"] == "bf16", str(out_dir), logging_steps=1)
    return {**result, "model_dir": result["output_dir"]}


def stsb_dev_spearman(run: dict, model_dir: str, senteval_dir: str) -> float:
    """STS-B dev Spearman x100 of a trained model, at fp32, over whole sentences."""
    from simcse_mini.api import SimCSE
    from simcse_mini.evaluation import STSEvaluator

    evaluator = STSEvaluator("senteval", data_dir=senteval_dir, tasks=("stsb",), split="dev")
    if run["contender"] != ST:
        encoder = SimCSE.from_pretrained(model_dir, device="cpu")
    else:
        from sentence_transformers import SentenceTransformer
        encoder = SentenceTransformer(model_dir, device="cpu")
        # Saved with its training length (32) as its limit; simcse-mini encodes up to the encoder's own.
        encoder.max_seq_length = SimCSE.from_pretrained(run["encoder_path"], device="cpu").max_length
    return evaluator(encoder)["stsb_dev_spearman"]


def child(job: dict) -> dict:
    """One measurement, in a process of its own: the matmul rates, or one training run."""
    import torch
    torch.set_num_threads(job["threads"])
    if job["task"] == "matmul":
        return {dtype: matmul_gflops(dtype, job["size"], job["repeats"]) for dtype in ("float32", "bfloat16")}
    run = job["run"]
    trained = (train_st if run["contender"] == ST else train_ours)(run, Path(job["run_dir"]))
    timed = trained["step_seconds"][run["warmup_steps"]:]
    result = {"median_step_seconds": statistics.median(timed), "peak_rss_mb": peak_rss_mb(),
              "train_seconds": trained["train_seconds"], "step_seconds": trained["step_seconds"]}
    if "compute_seconds" in trained:
        result["median_compute_seconds"] = statistics.median(trained["compute_seconds"][run["warmup_steps"]:])
    if job["senteval_dir"]:
        result["stsb_dev_spearman"] = stsb_dev_spearman(run, trained["model_dir"], job["senteval_dir"])
    return result


# --- in the parent process --------------------------------------------------------------------

def expected_padded_lengths(train_file: str, tokenizer_path: str, batch_size: int, max_seq_length: int,
                            batches: int = 1000, seed: int = 0) -> dict[str, float]:
    """The mean, over random batches, of the longest sentence's token count after truncation: the
    length a batch is padded to; and the same over an epoch of group_by_length batches."""
    import numpy as np
    from transformers import AutoTokenizer

    from simcse_mini.data import LengthGroupedSampler

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    with open(train_file, encoding="utf-8") as f:
        sentences = [line.strip() for line in f if line.strip()]
    tokens = tokenizer(sentences, truncation=True, max_length=max_seq_length)["input_ids"]
    lengths = np.array([len(ids) for ids in tokens])
    rng = np.random.default_rng(seed)
    longest = [lengths[rng.choice(len(lengths), batch_size, replace=False)].max() for _ in range(batches)]
    grouped = np.array(list(LengthGroupedSampler(lengths, batch_size, seed))).reshape(-1, batch_size)
    return {"random": float(np.mean(longest)), "grouped": float(lengths[grouped].max(axis=1).mean())}


def training_flops_per_step(encoder_path: str, batch_size: int, length: float) -> float:
    """3 x the encoder's forward FLOPs for both views of a batch (see the module docstring)."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(encoder_path)
    h, ffn, sequences = config.hidden_size, config.intermediate_size, 2 * batch_size
    linear = 2 * sequences * length * (4 * h * h + 2 * h * ffn)
    attention = 4 * sequences * length ** 2 * h
    return 3 * config.num_hidden_layers * (linear + attention)


def write_bert_base(folder: Path, tokenizer_path: str, seed: int) -> Path:
    """A random-initialised bert-base-sized encoder with the mini-bert tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    torch.manual_seed(seed)
    BertModel(BertConfig(vocab_size=len(tokenizer), **BERT_BASE)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _fmt(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _ratio(a: dict | None, b: dict | None, key: str = "sentences_per_second") -> str:
    return f"{a[key] / b[key]:.2f}x" if a and b else "n/a"


def markdown(report: dict) -> str:
    setup, rates = report["setup"], report.get("matmul_gflops", {})
    padded = setup.get("padded_length")
    lines = [f"Batch {setup['batch_size']}, max length {setup['max_seq_length']}, {setup['threads']} thread(s), "
             f"{setup['warmup_steps']} warm-up steps; load average {setup['load_before']} before and "
             f"{setup.get('load_after', '?')} after (CPU: {setup['cpu']}; torch {setup['torch']}, "
             f"sentence-transformers {setup['sentence_transformers']})."]
    if padded:
        lines.append(f"Batches pad to {padded['random']:.1f} tokens on average when random, "
                     f"{padded['grouped']:.1f} with group_by_length.")
    if rates:
        lines.append(f"Matrix multiply ({setup['matmul_size']}^2): {rates['float32']:.0f} GFLOP/s fp32, "
                     f"{rates['bfloat16']:.0f} GFLOP/s bf16.")
    runs = report["runs"]
    if runs:
        lines += ["", "Seconds per step: median of the timed window, end to end (sentence-transformers' "
                  "compute-only median, without fetching and tokenizing the batch, in brackets). "
                  "Utilisation: training FLOP/s over the fp32 and bf16 matmul rates.", "",
                  "| encoder | contender | precision | timed steps | s/step | sentences/s | peak RSS MB | "
                  "GFLOP/step | util vs fp32 | util vs bf16 | STS-B dev |",
                  "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in runs:
            compute = f" ({r['median_compute_seconds']:.3f})" if "median_compute_seconds" in r else ""
            lines.append(
                f"| {r['encoder']} | {r['contender']} | {r['precision']} | {r['steps']} | "
                f"{r['median_step_seconds']:.3f}{compute} | {r['sentences_per_second']:.1f} | {r['peak_rss_mb']:.0f} | "
                f"{r['flops_per_step'] / 1e9:.0f} | {r['utilisation_vs_fp32']:.1%} | {r['utilisation_vs_bf16']:.1%} | "
                f"{_fmt(r.get('stsb_dev_spearman'), '.2f')} |")
        lines += ["", "Ratios of sentences/s (peak RSS for memory).", "",
                  "| encoder | ours/ST fp32 | ours/ST bf16 | grouped/ST fp32 | grouped/ST bf16 | ours bf16/fp32 | "
                  "ST bf16/fp32 | memory ours/ST fp32 | memory ours/ST bf16 |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for encoder in dict.fromkeys(r["encoder"] for r in runs):
            get = {(r["contender"], r["precision"]): r for r in runs if r["encoder"] == encoder}.get
            ours32, ours16, st32, st16 = get((OURS, "fp32")), get((OURS, "bf16")), get((ST, "fp32")), get((ST, "bf16"))
            lines.append(f"| {encoder} | {_ratio(ours32, st32)} | {_ratio(ours16, st16)} | "
                         f"{_ratio(get((OURS_GROUPED, 'fp32')), st32)} | {_ratio(get((OURS_GROUPED, 'bf16')), st16)} | "
                         f"{_ratio(ours16, ours32)} | {_ratio(st16, st32)} | {_ratio(ours32, st32, 'peak_rss_mb')} | "
                         f"{_ratio(ours16, st16, 'peak_rss_mb')} |")
    cached = report["grad_cache"]
    if cached:
        lines += ["", f"GradCache: simcse-mini on mini-bert-mlm, bf16, chunks of {setup['grad_cache_mini_batch']}.", "",
                  "| batch | grad cache | timed steps | s/step | sentences/s | peak RSS MB |",
                  "| ---: | --- | ---: | ---: | ---: | ---: |"]
        for r in cached:
            lines.append(f"| {r['batch_size']} | {'yes' if r['grad_cache'] else 'no'} | {r['steps']} | "
                         f"{r['median_step_seconds']:.3f} | {r['sentences_per_second']:.1f} | {r['peak_rss_mb']:.0f} |")
        peak = {(r["batch_size"], r["grad_cache"]): r["peak_rss_mb"] for r in cached}
        if (1024, True) in peak and (64, False) in peak:
            lines += ["", f"Peak RSS at batch 1024 cached / batch 64 uncached: "
                      f"{peak[1024, True] / peak[64, False]:.2f}x (target: at most 1.3x)."]
    return "\n".join(lines) + "\n"


class Bench:
    """Starts every measurement in a fresh process and writes the report after each."""

    def __init__(self, args: argparse.Namespace, work_dir: Path):
        import torch

        self.args, self.work_dir, self.out_dir = args, work_dir, Path(args.output_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.setup = {
            "threads": args.threads, "batch_size": args.batch_size, "max_seq_length": args.max_seq_length,
            "learning_rate": args.learning_rate, "seed": args.seed, "warmup_steps": args.warmup_steps,
            "train_file": args.train_file, "cpu": cpu_name(), "torch": torch.__version__,
            "sentence_transformers": version("sentence-transformers"), "matmul_size": args.matmul_size,
            "grad_cache_mini_batch": args.grad_cache_mini_batch, "load_before": round(os.getloadavg()[0], 2)}
        self.report = {"setup": self.setup, "runs": [], "grad_cache": []}

    def in_child(self, name: str, job: dict) -> dict:
        """``child(job)`` in a fresh Python process, its output going to OUTPUT_DIR/logs/NAME.log."""
        log_file = self.out_dir / "logs" / f"{name}.log"
        log_file.parent.mkdir(exist_ok=True)
        result_file = self.work_dir / f"{name}.json"
        job = {**job, "threads": self.args.threads, "result_file": str(result_file)}
        env = {**os.environ, "OMP_NUM_THREADS": str(self.args.threads), "TOKENIZERS_PARALLELISM": "false"}
        with log_file.open("w") as log:
            done = subprocess.run([sys.executable, __file__, "--child", json.dumps(job)], stdout=log,
                                  stderr=subprocess.STDOUT, env=env)
        if done.returncode != 0:
            raise SystemExit(f"{name} failed (exit status {done.returncode}); see {log_file}")
        return json.loads(result_file.read_text())

    def train(self, name: str, run: dict, senteval_dir: str | None = None) -> dict:
        job = {"task": "train", "run": run, "run_dir": str(self.work_dir / name), "senteval_dir": senteval_dir}
        result = {**run, **self.in_child(name, job)}
        result["sentences_per_second"] = run["batch_size"] / result["median_step_seconds"]
        return result

    def save(self) -> None:
        self.setup["load_after"] = round(os.getloadavg()[0], 2)
        (self.out_dir / "bench_train.json").write_text(json.dumps(self.report, indent=2) + "\n")
        (self.out_dir / "bench_train.md").write_text(markdown(self.report))

    def common(self) -> dict:
        args = self.args
        return {"train_file": args.train_file, "max_seq_length": args.max_seq_length,
                "learning_rate": args.learning_rate, "seed": args.seed, "mini_batch_size": args.grad_cache_mini_batch}

    def contenders(self) -> None:
        args = self.args
        self.report["matmul_gflops"] = rates = self.in_child(
            "matmul", {"task": "matmul", "size": args.matmul_size, "repeats": args.matmul_repeats})
        print(f"matmul {args.matmul_size}^2: {rates['float32']:.0f} GFLOP/s fp32, "
              f"{rates['bfloat16']:.0f} GFLOP/s bf16", flush=True)
        self.setup["padded_length"] = lengths = expected_padded_lengths(
            args.train_file, args.mini_bert, args.batch_size, args.max_seq_length)
        for encoder in args.encoders:
            if encoder == "mini-bert-mlm":
                path, steps, senteval = args.mini_bert, args.steps, None if args.skip_quality else args.senteval
            else:  # a random encoder learns nothing meaningful in a few steps: no quality check
                path, steps, senteval = str(write_bert_base(self.work_dir / "bert-base", args.mini_bert, args.seed)), \
                    args.steps_bert_base, None
            for precision in args.precisions:
                for contender in args.contenders:
                    length = lengths["grouped" if contender == OURS_GROUPED else "random"]
                    flops = training_flops_per_step(path, args.batch_size, length)
                    name = f"{encoder}-{contender}-{precision}"
                    result = self.train(name, {
                        **self.common(), "encoder": encoder, "encoder_path": path, "contender": contender,
                        "precision": precision, "batch_size": args.batch_size, "grad_cache": False,
                        "warmup_steps": args.warmup_steps, "steps": steps}, senteval)
                    flops_per_second = flops / result["median_step_seconds"]
                    result.update(flops_per_step=flops,
                                  utilisation_vs_fp32=flops_per_second / (rates["float32"] * 1e9),
                                  utilisation_vs_bf16=flops_per_second / (rates["bfloat16"] * 1e9))
                    self.report["runs"].append(result)
                    self.save()
                    print(f"{name}: {result['median_step_seconds']:.3f} s/step, "
                          f"{result['sentences_per_second']:.1f} sentences/s, peak {result['peak_rss_mb']:.0f} MB, "
                          f"STS-B dev {_fmt(result.get('stsb_dev_spearman'), '.2f')}", flush=True)

    def grad_cache(self) -> None:
        args = self.args
        for batch_size in args.grad_cache_batches:
            for grad_cache in (False, True):
                name = f"grad-cache-{batch_size}-{'cached' if grad_cache else 'uncached'}"
                result = self.train(name, {
                    **self.common(), "encoder": "mini-bert-mlm", "encoder_path": args.mini_bert, "contender": OURS,
                    "precision": "bf16", "batch_size": batch_size, "grad_cache": grad_cache,
                    "warmup_steps": args.grad_cache_warmup_steps, "steps": args.grad_cache_steps})
                self.report["grad_cache"].append(result)
                self.save()
                print(f"{name}: {result['sentences_per_second']:.1f} sentences/s, "
                      f"peak {result['peak_rss_mb']:.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a measurement, run by this script in a fresh process
    parser.add_argument("--encoders", nargs="+", choices=ENCODERS, default=list(ENCODERS))
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS))
    parser.add_argument("--mini-bert", default=str(SHARED / "models" / "mini-bert-mlm"), help="mini-bert-mlm folder")
    parser.add_argument("--train-file", default=str(SHARED / "data" / "train" / "wiki_sentences.txt"))
    parser.add_argument("--senteval", default=str(SHARED / "data" / "senteval"), help="SentEval data folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-seq-length", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--warmup-steps", type=int, default=5, help="untimed steps before the timed window")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (mini-bert-mlm)")
    parser.add_argument("--steps-bert-base", type=int, default=10, help="timed steps (bert-base-sized encoder)")
    parser.add_argument("--skip-quality", action="store_true", help="no STS-B dev evaluation")
    sections = parser.add_mutually_exclusive_group()
    sections.add_argument("--skip-grad-cache", action="store_true", help="only the contenders")
    sections.add_argument("--only-grad-cache", action="store_true", help="only the GradCache section")
    parser.add_argument("--grad-cache-batches", nargs="+", type=int, default=[64, 256, 1024])
    parser.add_argument("--grad-cache-mini-batch", type=int, default=64)
    parser.add_argument("--grad-cache-warmup-steps", type=int, default=1)
    parser.add_argument("--grad-cache-steps", type=int, default=3)
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--matmul-repeats", type=int, default=10)
    parser.add_argument("--output-dir", default="bench_results")
    args = parser.parse_args()
    if args.child:
        job = json.loads(args.child)
        Path(job["result_file"]).write_text(json.dumps(child(job)))
        return

    with tempfile.TemporaryDirectory(prefix="bench_train-") as work_dir:
        bench = Bench(args, Path(work_dir))
        if not args.only_grad_cache:
            bench.contenders()
        if not args.skip_grad_cache:
            bench.grad_cache()
    print(markdown(bench.report))

if __name__ == "__main__":
    main()
