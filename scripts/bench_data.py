"""How fast the data layer prepares training data, how much memory it takes, and how many duplicate
sentences the shared corpora hold.

    python scripts/bench_data.py [--shared ../shared] [--lines 1000000] [--workers N]

Prepares (load + checks + tokenization, as ``build_train_dataset`` does) the shared
wiki_sentences.txt and a synthetic file of ``--lines`` lines (wiki sentences over and over, written to
a temporary folder), each in a fresh process with an empty datasets cache, and reports seconds,
rows/s and peak memory (RSS, which counts the memory-mapped Arrow pages read); then the time to
prepare again from the cache, to key every sentence for no_duplicates_in_batch, and to stream (read,
tokenize, shuffle) the first 100,000 examples. Last, the duplicates in wiki_sentences.txt and
nli_triplets.csv: exact (after stripping whitespace) and as the model sees them (same token ids after
lowercasing and truncation to 32 tokens), and how many pairs of identical sentences a random batch
holds on average (each such pair is a false negative).
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from math import comb
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout's simcse_mini, installed or not
TOKENIZER = "models/mini-bert-mlm"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(train_file: str, tokenizer: str, workers: int | None) -> dict:
    """Run in a fresh process whose datasets cache is empty (set by the caller)."""
    import datasets
    from transformers import AutoTokenizer

    from simcse_mini.config import TrainConfig
    from simcse_mini.data import build_train_dataset, text_keys

    datasets.disable_progress_bars()
    tok = AutoTokenizer.from_pretrained(tokenizer)
    cfg = TrainConfig(model_name_or_path=tokenizer, train_file=train_file, preprocessing_num_workers=workers)
    result = {"rss_before_mb": round(peak_rss_mb())}

    def timed(key, fn):
        start = time.perf_counter()
        value = fn()
        result[key] = round(time.perf_counter() - start, 2)
        return value

    dataset = timed("prepare_s", lambda: build_train_dataset(cfg, tok))
    result["rows"] = len(dataset)
    result["rows_per_s"] = round(len(dataset) / result["prepare_s"])
    result["peak_rss_mb"] = round(peak_rss_mb())
    timed("cached_prepare_s", lambda: build_train_dataset(cfg, tok))
    timed("text_keys_s", lambda: text_keys(dataset))
    stream_cfg = TrainConfig(model_name_or_path=tokenizer, train_file=train_file, streaming=True, max_steps=1)
    result["streamed_rows"] = timed("stream_s", lambda: sum(1 for _ in zip(range(100_000),
                                                                         build_train_dataset(stream_cfg, tok))))
    result["streamed_rows_per_s"] = round(result["streamed_rows"] / result["stream_s"])
    result["cache_mb"] = round(sum(f.stat().st_size for f in Path(os.environ["HF_DATASETS_CACHE"]).rglob("*")
                                   if f.is_file()) / 2**20)
    return result


def in_fresh_process(train_file: Path, tokenizer: Path, workers: int | None) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "HF_DATASETS_CACHE": cache, "TOKENIZERS_PARALLELISM": "true"}
        out = subprocess.run([sys.executable, __file__, "--measure", str(train_file), "--tokenizer", str(tokenizer),
                              *(["--workers", str(workers)] if workers else [])],
                             env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def synthetic_corpus(source: Path, lines: int, folder: Path) -> Path:
    """``lines`` lines cycling through the source's sentences (duplicates do not change the cost)."""
    sentences = source.read_text(encoding="utf-8").splitlines()
    path = folder / f"synthetic-{lines}.txt"
    with path.open("w", encoding="utf-8") as f:
        for i in range(lines):
            f.write(sentences[i % len(sentences)] + "\n")
    return path


def duplicates(rows: list[list], batch_sizes: tuple[int, ...] = (64, 512)) -> dict:
    """Repeated sentences among rows of V sentence keys."""
    counts = collections.Counter(k for row in rows for k in row)
    per_example = collections.Counter(k for row in rows for k in set(row))
    pairs = sum(comb(c, 2) for c in per_example.values())  # pairs of examples that share a sentence
    return {"examples": len(rows), "sentences": sum(map(len, rows)), "distinct": len(counts),
            "repeats": sum(c - 1 for c in counts.values()),
            "sentences_occurring_more_than_once": sum(c > 1 for c in counts.values()),
            **{f"repeats_in_column_{v}": len(rows) - len({row[v] for row in rows})
               for v in range(len(rows[0])) if len(rows[0]) > 1},
            **{f"duplicate_pairs_per_batch_of_{b}": round(comb(b, 2) * pairs / comb(len(rows), 2), 3)
               for b in batch_sizes}}


def duplicate_report(path: Path, objective: str, tokenizer: Path) -> dict:
    """Exact duplicates (after stripping whitespace), and duplicates as no_duplicates_in_batch sees them."""
    from transformers import AutoTokenizer

    from simcse_mini.config import TrainConfig
    from simcse_mini.data import build_train_dataset, text_keys

    if objective == "unsup":
        exact = [[line.strip()] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        with path.open(newline="", encoding="utf-8") as f:
            exact = [[r["sent0"].strip(), r["sent1"].strip(), r["hard_neg"].strip()] for r in csv.DictReader(f)]
    cfg = TrainConfig(model_name_or_path=str(tokenizer), train_file=str(path), objective=objective)
    keys = text_keys(build_train_dataset(cfg, AutoTokenizer.from_pretrained(str(tokenizer))))
    return {"exact": duplicates(exact), "same_tokens": duplicates(keys.tolist())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, help="preprocessing_num_workers")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.tokenizer, args.workers)))
        return

    shared = Path(args.shared)
    wiki, nli, tokenizer = shared / "data/train/wiki_sentences.txt", shared / "data/train/nli_triplets.csv", shared / TOKENIZER
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; workers: {args.workers or 1}")
    print("wiki_sentences.txt:", json.dumps(in_fresh_process(wiki, tokenizer, args.workers)))
    with tempfile.TemporaryDirectory() as folder:
        big = synthetic_corpus(wiki, args.lines, Path(folder))
        print(f"synthetic {args.lines} lines ({big.stat().st_size / 2**20:.0f} MiB):",
              json.dumps(in_fresh_process(big, tokenizer, args.workers)))

    import datasets
    datasets.disable_progress_bars()
    print("duplicates in wiki_sentences.txt:", json.dumps(duplicate_report(wiki, "unsup", tokenizer)))
    print("duplicates in nli_triplets.csv:", json.dumps(duplicate_report(nli, "sup", tokenizer)))


if __name__ == "__main__":
    main()
