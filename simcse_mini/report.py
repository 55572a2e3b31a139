"""Figures and a table that compare training runs, read from their ``metrics.jsonl``.

``simcse-mini report runs/a runs/b --output reports/ab`` writes into ``reports/ab``:
  loss.png                   training loss over steps
  learning_rate.png          the learning-rate schedule
  eval.png                   every evaluation Spearman metric over steps, one panel each
  alignment_uniformity.png   alignment vs uniformity over training (Figure 2 of the SimCSE paper)
  speed.png                  training examples per second
  summary.md                 one row per label: final loss, final and best evaluation metrics

Runs that share a label (seeds of one setting, say) are drawn as one line, their mean, in a band
from their minimum to their maximum; the table gives mean ± standard deviation. matplotlib is
imported only when figures are drawn, so the rest of the package does not need it.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Figures of one metric each: file name, metric key, y-axis label.
CURVES = (("loss.png", "loss", "training loss"),
          ("learning_rate.png", "learning_rate", "learning rate"),
          ("speed.png", "examples_per_second", "examples per second"))


class ReportError(ValueError):
    """A run folder that cannot be reported on; the message names the folder or file and the problem."""


@dataclass
class Run:
    """One training run: its folder and the records of its ``metrics.jsonl``, in order."""
    path: Path
    records: list[dict]

    @classmethod
    def load(cls, run_dir: str | Path) -> "Run":
        path = Path(run_dir)
        metrics = path / "metrics.jsonl"
        if not path.is_dir():
            raise ReportError(f"{path}: no such run folder")
        if not metrics.is_file():
            raise ReportError(f"{path}: no metrics.jsonl; is it a training run's output_dir?")
        records = []
        for number, line in enumerate(metrics.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ReportError(f"{metrics}, line {number}: not valid JSON ({err.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get("step"), int):
                raise ReportError(f"{metrics}, line {number}: expected a JSON object with an integer 'step'")
            records.append(record)
        if not records:
            raise ReportError(f"{metrics} holds no records")
        return cls(path, records)

    def series(self, key: str) -> dict[int, float]:
        """The metric by step (a step logged twice keeps its last value)."""
        return {r["step"]: r[key] for r in self.records if isinstance(r.get(key), (int, float))}

    def keys(self) -> list[str]:
        return list(dict.fromkeys(key for record in self.records for key in record))


def report(run_dirs: list[str | Path], output_dir: str | Path, labels: list[str] | None = None,
           title: str | None = None) -> list[Path]:
    """Write the figures and ``summary.md`` for ``run_dirs`` into ``output_dir``; return the files written.

    ``labels`` gives one label per run folder (default: each folder's name); runs with the same label
    are aggregated. A figure is skipped when no run logged its metric."""
    if not run_dirs:
        raise ReportError("no run folders given")
    if labels is not None and len(labels) != len(run_dirs):
        raise ReportError(f"{len(labels)} labels for {len(run_dirs)} run folders; give one label per run folder")
    runs = [Run.load(run_dir) for run_dir in run_dirs]
    groups: dict[str, list[Run]] = {}
    for label, run in zip(labels or default_labels(run_dirs), runs):
        groups.setdefault(label, []).append(run)

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(key for run in runs for key in run.keys()))
    spearman = [k for k in keys if k.startswith("eval/") and k.endswith("_spearman")]
    if len(spearman) == 2 and "eval/avg_spearman" in spearman:  # an average of one task repeats it
        task = next(k for k in spearman if k != "eval/avg_spearman")
        if all(r.get(task) == r["eval/avg_spearman"] for run in runs for r in run.records if "eval/avg_spearman" in r):
            spearman.remove("eval/avg_spearman")
    # Alignment and uniformity are measured together, on one task's pairs ("eval/stsb_dev").
    geometry = [k.removesuffix("_alignment") for k in keys if k.startswith("eval/") and k.endswith("_alignment")
                and k.removesuffix("_alignment") + "_uniformity" in keys]

    written = []
    figures = [(name, [key], [label]) for name, key, label in CURVES if key in keys]
    if spearman:
        figures.append(("eval.png", spearman, ["Spearman x100"] * len(spearman)))
    for name, panel_keys, ylabels in figures:
        written.append(_curves(groups, panel_keys, ylabels, out / name, title))
    if geometry:
        written.append(_alignment_uniformity(groups, geometry, out / "alignment_uniformity.png", title))
    missing = [name for name, key, _ in CURVES if key not in keys]
    missing += [name for name, found in (("eval.png", spearman), ("alignment_uniformity.png", geometry)) if not found]
    if missing:
        logger.info("No run logged the metrics of %s; not written", ", ".join(missing))
    summary = out / "summary.md"
    summary.write_text(summary_table(groups, spearman, geometry, title))
    written.append(summary)
    return written


def default_labels(run_dirs: list[str | Path]) -> list[str]:
    """Each run folder's name, or its path as given where two folders share a name (runs/a/final,
    runs/b/final), so that distinct runs are not averaged by accident."""
    names = [Path(run_dir).resolve().name for run_dir in run_dirs]
    return [name if names.count(name) == 1 else str(run_dir) for name, run_dir in zip(names, run_dirs)]


def summary_table(groups: dict[str, list[Run]], spearman: list[str], geometry: list[str], title: str | None) -> str:
    """A markdown table, one row per label: final loss, final and best of each ``spearman`` metric, and
    final alignment and uniformity of each ``geometry`` prefix ("eval/stsb_dev")."""
    geometry = [prefix + suffix for prefix in geometry for suffix in ("_alignment", "_uniformity")]
    header = ["label", "runs", "steps", "final loss"]
    header += [f"{_short(key)} {which}" for key in spearman for which in ("final", "best")]
    header += [f"final {_short(key)}" for key in geometry]
    rows = []
    for label, runs in groups.items():
        steps = sorted({max(r["step"] for r in run.records) for run in runs})
        row = [label.replace("|", "\\|"), str(len(runs)),
               str(steps[0]) if len(steps) == 1 else f"{steps[0]}–{steps[-1]}",
               _mean_std([_final(run, "loss") for run in runs], 4)]
        for key in spearman:
            row.append(_mean_std([_final(run, key) for run in runs], 2))
            row.append(_mean_std([max(run.series(key).values(), default=None) for run in runs], 2))
        row += [_mean_std([_final(run, key) for run in runs], 4) for key in geometry]
        rows.append(row)
    lines = [f"# {title or 'Training report'}", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", "Labels with several runs show mean ± standard deviation (of the sample) over the runs. "
              "Best is the highest value a run reached at any evaluation; final is its last. "
              "Alignment and uniformity: lower is better."]
    return "\n".join(lines) + "\n"


def _final(run: Run, key: str) -> float | None:
    series = run.series(key)
    return series[max(series)] if series else None


def _mean_std(values: list[float | None], digits: int) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _short(key: str) -> str:
    return key.removeprefix("eval/")


def _legend(label: str, runs: list[Run]) -> str:
    return f"{label} ({len(runs)} runs)" if len(runs) > 1 else label


def _aggregate(runs: list[Run], key: str) -> tuple[list[int], list[float], list[float], list[float]]:
    """Steps, and the mean, minimum and maximum over the runs at each step. A step only some runs
    logged (runs of different lengths) is aggregated over those runs."""
    series = [run.series(key) for run in runs]
    steps = sorted(set().union(*series))
    at_step = [[s[step] for s in series if step in s] for step in steps]
    return steps, [statistics.fmean(v) for v in at_step], [min(v) for v in at_step], [max(v) for v in at_step]


def _figure(panels: int, title: str | None):
    """A figure with ``panels`` axes, at most three a row, drawn off-screen by Agg (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = min(panels, 3)
    rows = math.ceil(panels / columns)
    figure = Figure(figsize=(5.5 * columns, 4 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for unused in axes[panels:]:
        unused.set_visible(False)
    if title:
        figure.suptitle(title)
    return figure, axes[:panels]


def _curves(groups: dict[str, list[Run]], keys: list[str], ylabels: list[str], path: Path,
            title: str | None) -> Path:
    """One panel per metric over steps; one line per label, with a min-max band when it has several runs."""
    figure, axes = _figure(len(keys), title)
    for ax, key, ylabel in zip(axes, keys, ylabels):
        for color, (label, runs) in enumerate(groups.items()):
            steps, mean, low, high = _aggregate(runs, key)
            if not steps:
                continue
            ax.plot(steps, mean, color=f"C{color}", marker="." if len(steps) < 30 else None,
                    label=_legend(label, runs))
            if len(runs) > 1:
                ax.fill_between(steps, low, high, color=f"C{color}", alpha=0.2, linewidth=0)
        ax.set(xlabel="step", ylabel=ylabel, title=_short(key) if len(keys) > 1 else None)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.savefig(path, dpi=120)
    return path


def _alignment_uniformity(groups: dict[str, list[Run]], prefixes: list[str], path: Path, title: str | None) -> Path:
    """Alignment (x) against uniformity (y) at each evaluation, one trajectory per label, as SimCSE's
    Figure 2: a ring marks the first evaluation, an arrow the direction into the last, numbers the steps."""
    figure, axes = _figure(len(prefixes), title)
    for ax, prefix in zip(axes, prefixes):
        for color, (label, runs) in enumerate(groups.items()):
            align_steps, align, _, _ = _aggregate(runs, prefix + "_alignment")
            uniform_steps, uniform, _, _ = _aggregate(runs, prefix + "_uniformity")
            by_step = dict(zip(uniform_steps, uniform))
            points = [(step, x, by_step[step]) for step, x in zip(align_steps, align) if step in by_step]
            if not points:
                continue
            steps, xs, ys = zip(*points)
            c = f"C{color}"
            ax.plot(xs, ys, color=c, marker=".", label=_legend(label, runs))
            ax.plot(xs[0], ys[0], "o", color=c, markerfacecolor="none", markersize=10)
            if len(points) > 1:
                ax.annotate("", xy=(xs[-1], ys[-1]), xytext=(xs[-2], ys[-2]),
                            arrowprops={"arrowstyle": "-|>", "color": c, "lw": 1.5})
            for i in {0, len(points) - 1}:
                ax.annotate(str(steps[i]), (xs[i], ys[i]), textcoords="offset points", xytext=(5, 5),
                            fontsize="x-small", color=c)
        ax.set(xlabel="alignment (lower is better)", ylabel="uniformity (lower is better)",
               title=f"{_short(prefix)} (numbers: steps)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.savefig(path, dpi=120)
    return path
