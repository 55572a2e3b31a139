"""The SimCSE paper's results table, as text."""

from __future__ import annotations

TASK_TITLES = {
    "sts12": "STS12",
    "sts13": "STS13",
    "sts14": "STS14",
    "sts15": "STS15",
    "sts16": "STS16",
    "stsb": "STS-B",
    "sickr": "SICK-R",
}
# What each SICK-R split means, since SentEval/SimCSE and MTEB score different ones.
SICKR_SPLIT_NOTES = {
    "test": "SICK-R: test split only (SentEval / SimCSE paper)",
    "all": "SICK-R: train+trial+test together (MTEB)",
    "trial": "SICK-R: trial split (SentEval's dev)",
    "train": "SICK-R: train split",
}


def column_title(task: str, result: dict) -> str:
    """The task's name, with its split unless that is the test split."""
    split = result.get("split", "test")
    return TASK_TITLES[task] if split == "test" else f"{TASK_TITLES[task]} {split}"


def format_table(results: dict, metrics: tuple[str, ...] = ("spearman", "pearson")) -> str:
    """A bordered table: one column per task and the average, one row per metric (x100)."""
    tasks = [task for task in results if task != "avg"]
    header = ["", *(column_title(task, results[task]) for task in tasks), "Avg."]
    rows = [
        [metric.capitalize(), *(f"{results[task][metric]:.2f}" for task in [*tasks, "avg"])] for metric in metrics
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"

    def line(cells):
        return "| " + " | ".join(cell.rjust(width) for cell, width in zip(cells, widths)) + " |"

    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


def format_notes(results: dict) -> str:
    """Lines that say what the numbers are: settings, SICK-R split, embedding geometry."""
    notes = ["Correlations x100 of cosine similarity with the gold scores; STS12-16 in the 'all' setting."]
    if "sickr" in results:
        notes.append(SICKR_SPLIT_NOTES[results["sickr"]["split"]])
    stsb = results.get("stsb", {})
    if "alignment" in stsb:
        notes.append(
            f"STS-B {stsb['split']}: alignment {stsb['alignment']:.3f}, uniformity {stsb['uniformity']:.3f} "
            "(lower is better for both)"
        )
    return "\n".join(notes)
