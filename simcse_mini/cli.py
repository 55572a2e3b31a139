"""``simcse-mini`` command line: ``simcse-mini train --config X.yaml [--key value ...]``,
``simcse-mini evaluate --model PATH_OR_NAME [...]``, ``simcse-mini report RUN_DIR [...] --output DIR``.

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
    _add_embedding_commands(commands)
    report = commands.add_parser("report", help="plot and tabulate the metrics of training runs, to compare them")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="training run folders (their metrics.jsonl)")
    report.add_argument("--output", required=True, help="folder to write the PNG figures and summary.md into")
    report.add_argument("--labels", nargs="+", metavar="LABEL",
                        help="one label per RUN_DIR (default: the folder's name); runs sharing a label are drawn "
                             "as one line, their mean in a min-max band")
    report.add_argument("--title", help="title of the figures and of summary.md")
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
             f"({summary['examples_per_second']:.0f} examples/s)."]
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


# --- encode, search, export ---------------------------------------------------------------------
def _add_embedding_commands(commands) -> None:
    """``encode --model M --input sentences.txt --output embeddings.npy``, ``search --model M
    --corpus corpus.txt --query "..."`` and ``export --model M --format sentence-transformers OUT``."""
    from .config import POOLERS
    from .encoding import PRECISIONS
    from .export import FORMATS

    def model_options(command):
        command.add_argument("--model", required=True,
                             help="a training run folder (its best model, else final), a model folder or a hub name")
        command.add_argument("--pooler", choices=POOLERS, help="override the pooler the checkpoint implies")
        command.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: a GPU when there is one)")
        command.add_argument("--trust_remote_code", action="store_true",
                             help="let a hub model run its own code (only for models you trust)")

    def encoding_options(command):
        command.add_argument("--column", help="the field holding the sentences in a .csv/.tsv/.jsonl file")
        command.add_argument("--batch_size", type=int, default=64)
        command.add_argument("--max_length", type=int, help="truncate to this many tokens (default: the model's limit)")
        command.add_argument("--precision", choices=PRECISIONS, default="fp32",
                             help="bf16 is much faster on CPUs with AMX/AVX512-BF16 and on recent GPUs")

    encode = commands.add_parser("encode", help="embed the sentences of a file into a .npy array")
    model_options(encode)
    encode.add_argument("--input", required=True, help="sentences: .txt (one a line), .csv, .tsv or .jsonl")
    encoding_options(encode)
    encode.add_argument("--output", required=True, help="the .npy file to write, one row per sentence")
    encode.add_argument("--no_normalize", action="store_true", help="keep raw embeddings instead of unit vectors")

    search = commands.add_parser("search", help="find the corpus sentences most similar to queries")
    model_options(search)
    search.add_argument("--corpus", required=True, help="sentences to search: .txt, .csv, .tsv or .jsonl")
    search.add_argument("--query", required=True, action="append", help="a query (repeat for several)")
    encoding_options(search)
    search.add_argument("--corpus_embeddings", help="the corpus's embeddings from 'simcse-mini encode' (.npy), "
                                                    "to skip encoding it again")
    search.add_argument("--top_k", type=int, default=5)
    search.add_argument("--threshold", type=float, help="only show hits with at least this cosine similarity")

    export = commands.add_parser("export", help="write the model for sentence-transformers or plain transformers")
    model_options(export)
    export.add_argument("--format", choices=FORMATS, default="sentence-transformers")
    export.add_argument("out", help="the new (or empty) folder to write")


def _load_model(args: argparse.Namespace):
    from .api import SimCSE
    return SimCSE.from_pretrained(args.model, device=args.device, pooler=args.pooler,
                                  trust_remote_code=args.trust_remote_code)


def run_encode(args: argparse.Namespace) -> int:
    import numpy as np
    from .inputs import read_sentences

    sentences = read_sentences(args.input, args.column)
    model = _load_model(args)
    embeddings = model.encode(sentences, batch_size=args.batch_size, max_length=args.max_length,
                              normalize=not args.no_normalize, show_progress_bar=True, precision=args.precision)
    np.save(args.output, embeddings)
    print(f"Wrote {embeddings.shape[0]} embeddings of dimension {embeddings.shape[1]} to {args.output}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    import numpy as np
    from .data import DataError
    from .inputs import read_sentences

    corpus = read_sentences(args.corpus, args.column)
    embeddings = None
    if args.corpus_embeddings:
        embeddings = np.load(args.corpus_embeddings, allow_pickle=False)
        if embeddings.ndim != 2 or embeddings.shape[0] != len(corpus):
            raise DataError(f"{args.corpus_embeddings} holds {embeddings.shape[0]} embeddings, but {args.corpus} "
                            f"has {len(corpus)} sentences; encode the same file with the same --column")
    model = _load_model(args)
    options = {"batch_size": args.batch_size, "max_length": args.max_length, "precision": args.precision}
    model.build_index(corpus, embeddings, show_progress_bar=True, **options)
    for query, hits in zip(args.query, model.search(args.query, args.top_k, args.threshold, **options)):
        print(f"Query: {query}")
        for hit in hits:
            print(f"  {hit['score']:.4f}  {hit['sentence']}  (line {hit['corpus_id'] + 1})")
        if not hits:
            print("  (no hits above the threshold)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from .export import export

    out = export(_load_model(args), args.out, args.format)
    print(f"Wrote a {args.format} model to {out}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from .report import report

    for path in report(args.run_dirs, args.output, args.labels, args.title):
        print(f"Wrote {path}")
    return 0


EMBEDDING_COMMANDS = {"encode": run_encode, "search": run_search, "export": run_export}


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
        if args.command in EMBEDDING_COMMANDS:
            return EMBEDDING_COMMANDS[args.command](args)
        if args.command == "report":
            return run_report(args)
    except ConfigError as err:
        print(f"simcse-mini: config error: {err}", file=sys.stderr)
        return 2
    except (OSError, ValueError, RuntimeError) as err:
        # Our own error types carry messages meant for users; anything else keeps its traceback.
        from .data import DataError
        from .export import ExportError
        from .model import ModelLoadError
        from .report import ReportError
        from .trainer import RunError
        if isinstance(err, (DataError, ExportError, ModelLoadError, ReportError, RunError)):
            print(f"simcse-mini: error: {err}", file=sys.stderr)
            return 1
        raise
    return 0
