"""``simcse-mini evaluate``: the STS table of the SimCSE paper for any encoder.

The main CLI adds the subcommand with :func:`add_evaluate_arguments` and runs it
with :func:`run_evaluate`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..config import POOLERS
from .data import SOURCES, TASKS, has_split, open_source
from .tables import format_notes, format_table
from .sts import evaluate_sts


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``simcse-mini evaluate`` to ``parser``."""
    parser.add_argument("--model", required=True, metavar="PATH_OR_NAME",
                        help="a simcse-mini model folder, or any Hugging Face encoder folder or hub name")
    parser.add_argument("--pooler", choices=POOLERS,
                        help="how token states become a sentence embedding; default: the pooler a simcse-mini "
                             "folder records, else cls")
    parser.add_argument("--tasks", nargs="+", default=["all"], choices=[*TASKS, "all"], metavar="TASK",
                        help=f"tasks to score: {' '.join(TASKS)}, or all (default: all the split has)")
    parser.add_argument("--split", default="test", choices=("test", "dev"),
                        help="test: the paper's table (default); dev: STS-B dev and SICK-R trial, "
                             "as used for model selection")
    parser.add_argument("--sickr-split", default="test", choices=("test", "all"),
                        help="with --split test, which SICK-R to score: test (SentEval and the SimCSE paper; "
                             "default) or all of SICK, train+trial+test (MTEB)")
    parser.add_argument("--source", default="senteval", choices=SOURCES,
                        help="senteval: SentEval's lowercased, tokenized copies in --data-dir (SimCSE's numbers; "
                             "default); original: the original releases in --data-dir with the original-casing "
                             "STS-B in --stsb-dir (MTEB's text); hub: the Hugging Face datasets MTEB uses, "
                             "which hold SICK-R only as all of SICK (--sickr-split all)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="SentEval-style data folder, the one that holds downstream/STS and downstream/SICK")
    parser.add_argument("--stsb-dir", metavar="DIR",
                        help="folder of the original-casing STS Benchmark (sts-{train,dev,test}.csv), "
                             "for --source original")
    parser.add_argument("--batch-size", type=int, default=64, help="sentences per forward pass (default: 64)")
    parser.add_argument("--max-length", type=int,
                        help="truncate sentences to this many tokens (default: what the model allows)")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"),
                        help="fp32 (default), or bf16: the encoder runs under bfloat16 autocast, about 2-3x "
                             "faster on CPUs with bf16 matrix units; scores move by a few hundredths")
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--output", metavar="FILE", help="also write the results to this JSON file")


def selected_tasks(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The (task, split) pairs the arguments ask for."""
    if "all" in args.tasks:
        tasks = [task for task in TASKS if has_split(task, args.split)]
    else:
        tasks = list(dict.fromkeys(args.tasks))
    if args.split == "test":
        return [(task, args.sickr_split if task == "sickr" else "test") for task in tasks]
    return [(task, args.split) for task in tasks]


def load_encoder(args: argparse.Namespace):
    """A function that embeds a list of sentences with the model the arguments name (a training run
    folder, a simcse-mini model, a princeton-nlp checkpoint or any encoder; see SimCSE.from_pretrained)."""
    from ..api import SimCSE

    model = SimCSE.from_pretrained(args.model, device=args.device, pooler=args.pooler)

    def encode_sentences(sentences: list[str]):
        return model.encode(sentences, batch_size=args.batch_size, max_length=args.max_length,
                            normalize=False, distributed=False, precision=args.precision)

    return encode_sentences


def run_evaluate(args: argparse.Namespace) -> int:
    """Score the model, print the table and, with ``--output``, write the JSON results."""
    try:
        # Data first, so a wrong folder or task fails before the model loads.
        source = open_source(args.source, data_dir=args.data_dir, stsb_dir=args.stsb_dir)
        tasks = [source.load(task, split) for task, split in selected_tasks(args)]
    except (OSError, ValueError) as err:
        print(f"simcse-mini evaluate: error: {err}", file=sys.stderr)
        return 2
    encoder = load_encoder(args)
    started = time.perf_counter()
    results = evaluate_sts(encoder, tasks, show_progress_bar=True)
    seconds = time.perf_counter() - started
    print(format_table(results))
    print(format_notes(results))
    print(f"Encoded and scored in {seconds:.0f} s.")
    if args.output:
        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")
        print(f"Results written to {output}")
    return 0
