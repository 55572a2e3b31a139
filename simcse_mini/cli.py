"""``simcse-mini`` command line: ``simcse-mini train --config X.yaml [--key value ...]``,
``simcse-mini evaluate --model PATH_OR_NAME [...]``.

Also runs as ``python -m simcse_mini ...`` and ``accelerate launch -m simcse_mini train ...``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .config import ConfigError, field_help, load_config, parse_overrides
from .evaluation.cli import add_evaluate_arguments, run_evaluate


def _train_epilog() -> str:
    lines = ["Every config key can be given or overridden as --key value:"]
    lines += [f"  --{key}: {text}" for key, text in field_help().items()]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simcse-mini", description="Train, use and evaluate SimCSE sentence embeddings.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model from a YAML config",
                                epilog=_train_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--config", help="YAML file of options (see configs/)")
    train.add_argument("--resume", nargs="?", const="latest", metavar="CHECKPOINT",
                       help="continue the run in output_dir from its newest checkpoint, or from CHECKPOINT")
    evaluate = commands.add_parser("evaluate", help="score a model on STS12-16, STS-B and SICK-R (the SimCSE table)")
    add_evaluate_arguments(evaluate)
    return parser


def run_train(args: argparse.Namespace, extra: list[str]) -> int:
    from .trainer import train

    overrides = parse_overrides(extra)
    if args.resume:
        overrides["resume_from_checkpoint"] = args.resume
    cfg = load_config(args.config, overrides)
    summary = train(cfg)
    if summary:
        print(describe_run(summary))
    return 0


def describe_run(summary: dict) -> str:
    """What a run achieved, in words a newcomer understands."""
    lines = [f"Trained {summary['steps']} steps in {summary['train_seconds']:.0f} s "
             f"({summary['sentences_per_second']:.0f} sentences/s)."]
    key = summary.get("metric_for_best_model")
    if key:
        start = summary["start_metrics"].get(key)
        before = f"{start:.1f} before training -> " if start is not None else ""
        if key.endswith("_spearman"):
            lines.append(f"{key}: how well the model's cosine similarities rank held-out sentence pairs like "
                         "the gold scores do (Spearman correlation x100; 100 is the same order, 0 no relation).")
        lines.append(f"  {before}{summary['final_metrics'][key]:.1f} after the last step; "
                     f"best {summary['best_metric']:.1f} at step {summary['best_step']}.")
        lines.append(f"Best model: {summary['best_model']}")
    lines.append(f"Final model: {summary['final_model']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    try:
        if args.command == "train":
            return run_train(args, extra)
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if args.command == "evaluate":
            return run_evaluate(args)
    except ConfigError as err:
        print(f"simcse-mini: config error: {err}", file=sys.stderr)
        return 2
    except (OSError, ValueError, RuntimeError) as err:
        # Our own error types carry messages meant for users; anything else keeps its traceback.
        from .data import DataError
        from .model import ModelLoadError
        from .trainer import RunError
        if isinstance(err, (DataError, ModelLoadError, RunError)):
            print(f"simcse-mini: error: {err}", file=sys.stderr)
            return 1
        raise
    return 0
