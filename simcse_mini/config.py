"""Training configuration: one dataclass documents every option once.

A run is configured by a plain YAML file plus ``--key value`` overrides on the command line.
Where SimCSE's reference ``train.py`` has an argument for the same thing, the field carries its
name, so scripts carry over. Unknown keys, wrong types and bad values are rejected before any
work starts, with a message that names the key and where it came from.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

POOLERS = ("cls", "cls_before_pooler", "avg", "avg_first_last", "avg_top2")
OBJECTIVES = ("unsup", "sup")
EVAL_SOURCES = ("senteval", "hub")
MIXED_PRECISION = ("no", "bf16", "fp16")
DROPOUT_MASK_MODES = ("independent", "shared_across_batch", "shared_across_views", "off")
ENCODING_ERRORS = ("strict", "replace", "ignore")
TRACKERS = ("tensorboard", "wandb")


class ConfigError(ValueError):
    """A configuration problem, with a message meant for the user."""


BUILTIN_PREFIX = "builtin:"
BUILTIN_DIR = Path(__file__).parent / "demo"
PATH_FIELDS = ("model_name_or_path", "train_file", "eval_file", "eval_data_dir")


def resolve_builtin(value: str | None) -> str | None:
    """``builtin:NAME`` names a file or folder shipped inside the package (the offline demo's
    corpus, evaluation pairs and tiny encoder), wherever the package is installed."""
    if value is None or not value.startswith(BUILTIN_PREFIX):
        return value
    path = BUILTIN_DIR / value[len(BUILTIN_PREFIX):]
    if not path.exists():
        shipped = ", ".join(sorted(BUILTIN_PREFIX + p.name for p in BUILTIN_DIR.iterdir())) if BUILTIN_DIR.is_dir() else "none"
        raise ConfigError(f"{value}: no such built-in file; shipped: {shipped}")
    return str(path)


def _opt(default: Any, help: str, **kwargs) -> Any:
    return field(default=default, metadata={"help": help}, **kwargs)


@dataclass
class TrainConfig:
    # --- model -------------------------------------------------------------------------------
    model_name_or_path: str = _opt(
        None, "Encoder to start from: a Hugging Face hub name (bert-base-uncased) or a local folder.")
    random_init: bool = _opt(
        False, "Build the encoder from the folder's config.json with fresh random weights "
        "(training from scratch) instead of loading pretrained weights.")
    pooler_type: str = _opt(
        "cls", "How a sentence embedding is read from the encoder: cls (CLS state through a "
        "Linear+Tanh MLP head), cls_before_pooler (raw CLS state), avg (mean of the last layer), "
        "avg_first_last (mean of first and last layer), avg_top2 (mean of the last two layers).")
    mlp_only_train: bool = _opt(
        False, "With pooler_type cls: use the MLP head in training only and embed with the raw CLS "
        "state (SimCSE's unsupervised setting). The saved model records this.")
    temp: float = _opt(0.05, "Softmax temperature of the contrastive loss (> 0).")
    hard_negative_weight: float = _opt(
        0.0, "Supervised only: added to the logit of each example's own hard negative (SimCSE's alpha).")
    do_mlm: bool = _opt(False, "Add the masked-language-modelling auxiliary loss.")
    mlm_weight: float = _opt(0.1, "Weight of the auxiliary MLM loss.")
    mlm_probability: float = _opt(0.15, "Fraction of tokens masked for the auxiliary MLM loss.")
    dropout_mask: str = _opt(
        "independent", "Unsupervised only: how the encoder's dropout masks are drawn. independent (each "
        "example and view its own mask: SimCSE), shared_across_batch (one mask per view for the whole batch), "
        "shared_across_views (each example's two views share a mask), off (no dropout).")
    dropout: Optional[float] = _opt(
        None, "Dropout probability for every dropout of the encoder (hidden states and attention "
        "probabilities) during training; unset keeps the encoder's own (0.1 for BERT and RoBERTa).")
    max_seq_length: int = _opt(32, "Sentences are truncated to this many tokens.")
    trust_remote_code: bool = _opt(
        False, "Allow model code from the hub to run (only for models you trust).")

    # --- data --------------------------------------------------------------------------------
    objective: str = _opt(
        "unsup", "unsup: one sentence per example, two dropout views are the positive pair. "
        "sup: (sent0, sent1[, hard_neg]) triplets or pairs.")
    train_file: Optional[str] = _opt(
        None, "Training data: a .txt (one sentence a line), .csv/.tsv, .jsonl/.json or .parquet file, or a "
        "folder of such files (all of one type). Give train_file or dataset_name.")
    dataset_name: Optional[str] = _opt(
        None, "Train on a Hugging Face hub dataset instead of train_file (needs network access, or a copy "
        "in the datasets cache).")
    dataset_config_name: Optional[str] = _opt(None, "The hub dataset's configuration (subset), if it has several.")
    dataset_split: str = _opt("train", "Split of the hub dataset to train on; slices such as train[:10%] work too.")
    text_column: str = _opt("text", "unsup: the column holding the sentences (a .txt file's lines are 'text').")
    sent0_column: str = _opt("sent0", "sup: the column of anchor sentences.")
    sent1_column: str = _opt("sent1", "sup: the column of positives (sentences meaning the same as the anchor).")
    hard_neg_column: Optional[str] = _opt(
        "hard_neg", "sup: the column of hard negatives, used when the data has it (otherwise training is on "
        "(sent0, sent1) pairs); none: ignore it.")
    preprocessing_num_workers: Optional[int] = _opt(
        None, "Processes that tokenize the data (Dataset.map num_proc); none: tokenize in the main process.")
    streaming: bool = _opt(
        False, "Read the data as a stream while training (a datasets IterableDataset) instead of preparing "
        "it all first, for corpora larger than the disk cache. Needs max_steps. The order is shuffled within "
        "a buffer of shuffle_buffer_size examples; rows are checked as they are read, so a bad row far into "
        "the data stops training when it is reached, and rows with empty fields are dropped uncounted.")
    shuffle_buffer_size: int = _opt(
        10000, "With streaming: examples held in memory and drawn from at random; bigger buffers mix better.")
    no_duplicates_in_batch: bool = _opt(
        False, "Build batches in which no sentence occurs twice (over all processes), so that identical "
        "sentences are never each other's negatives. Sentences count as identical when they tokenize "
        "identically. Not with streaming.")
    group_by_length: bool = _opt(
        False, "Batch sentences of similar token length together, so batches pad less (about 1.3x fewer "
        "positions on Wikipedia sentences at max length 32): the data is shuffled, cut into pools of 50 "
        "global batches, each pool is sorted by length and cut into batches, and the batches are shuffled. "
        "Who shares a batch stays random apart from length, so the negatives of a sentence are sentences "
        "of about its length. Not with streaming or no_duplicates_in_batch.")
    strict: bool = _opt(
        False, "Stop with an error at a row with an empty required field instead of dropping such rows "
        "(blank lines of .txt files are always dropped). Not with streaming.")
    encoding_errors: str = _opt(
        "strict", "Bytes that are not valid UTF-8 in .txt/.csv/.tsv files: strict (stop and say where), "
        "replace (with U+FFFD) or ignore (leave them out).")

    # --- optimisation ------------------------------------------------------------------------
    output_dir: str = _opt("runs/simcse", "Where the run writes its config, logs, checkpoints and models.")
    overwrite_output_dir: bool = _opt(
        False, "Allow training into a non-empty output_dir (otherwise refused, to protect earlier runs).")
    per_device_train_batch_size: int = _opt(
        64, "Sentences (or triplets) per process and step; the other sentences are the negatives.")
    grad_cache: bool = _opt(
        False, "Cached contrastive step (GradCache): embed the batch in chunks of mini_batch_size without "
        "gradients, then re-embed each chunk with the same dropout masks to backpropagate. Same gradients, "
        "memory of one chunk, about one extra forward pass of time.")
    mini_batch_size: int = _opt(32, "With grad_cache: examples per chunk.")
    learning_rate: float = _opt(3e-5, "Peak learning rate of AdamW.")
    weight_decay: float = _opt(0.0, "AdamW weight decay (not applied to biases and LayerNorm weights).")
    num_train_epochs: int = _opt(1, "Passes over the training data (ignored when max_steps > 0).")
    max_steps: int = _opt(-1, "Optimizer steps to train for; -1 means num_train_epochs full passes.")
    warmup_ratio: float = _opt(0.0, "Fraction of the steps spent warming the learning rate up from 0.")
    lr_scheduler_type: str = _opt(
        "linear", "Learning-rate schedule after warm-up, any of transformers' scheduler names "
        "(linear, cosine, constant_with_warmup, ...).")
    max_grad_norm: float = _opt(1.0, "Clip the gradient norm to this value; 0 turns clipping off.")
    mixed_precision: str = _opt(
        "no", "no, bf16 (CPU or recent GPUs) or fp16 (GPUs only): autocast precision of the forward pass.")
    seed: int = _opt(42, "Seed for weights initialisation, data order and dropout masks.")

    # --- logging, evaluation, checkpoints -----------------------------------------------------
    logging_steps: int = _opt(10, "Log loss, learning rate and speed every this many steps.")
    eval_steps: int = _opt(125, "Evaluate every this many steps (and before and after training).")
    save_steps: int = _opt(
        500, "Save a resumable checkpoint (model, optimizer, scheduler, RNG) every this many steps; 0: never.")
    save_total_limit: int = _opt(2, "Resumable checkpoints kept; older ones are deleted.")
    eval_data_dir: Optional[str] = _opt(
        None, "SentEval-style data folder (holding downstream/STS and downstream/SICK): evaluate on the "
        "dev split of eval_tasks every eval_steps, as SimCSE does (STS-B dev selects the best model).")
    eval_source: str = _opt(
        "senteval", "Where the evaluation tasks come from: senteval (eval_data_dir, SentEval's copies, "
        "as SimCSE) or hub (Hugging Face datasets; needs internet).")
    eval_tasks: str = _opt("stsb", "Comma-separated evaluation tasks on their dev split: stsb and/or sickr.")
    eval_file: Optional[str] = _opt(
        None, "A file of scored sentence pairs to evaluate on (columns sentence1, sentence2, score; "
        ".tsv or .csv): Spearman x100 of cosine similarity against the score.")
    metric_for_best_model: Optional[str] = _opt(
        None, "Evaluation metric that selects the best model (default: the first one the evaluator reports).")
    greater_is_better: bool = _opt(True, "Whether a larger metric_for_best_model is better.")
    report_to: str = _opt(
        "none", "Also send every metrics.jsonl record to experiment trackers (through accelerate): none, "
        "tensorboard (event files in output_dir/tensorboard/; view them with tensorboard --logdir output_dir), "
        "wandb, all (every one installed) or a comma-separated list (tensorboard,wandb).")
    resume_from_checkpoint: Optional[str] = _opt(
        None, "Continue a run: 'latest' (newest checkpoint in output_dir) or a checkpoint folder.")

    def __post_init__(self) -> None:
        for key in PATH_FIELDS:
            setattr(self, key, resolve_builtin(getattr(self, key)))
        self.validate()

    def validate(self) -> None:
        """Check values that parse but make no sense; raise ConfigError naming the key."""
        def bad(key: str, why: str) -> None:
            raise ConfigError(f"{key}={getattr(self, key)!r}: {why}")

        if not self.model_name_or_path:
            bad("model_name_or_path", "is required (a hub name or a local folder)")
        if self.pooler_type not in POOLERS:
            bad("pooler_type", f"unknown pooler; choose one of {', '.join(POOLERS)}")
        if self.objective not in OBJECTIVES:
            bad("objective", f"choose one of {', '.join(OBJECTIVES)}")
        if self.dropout_mask not in DROPOUT_MASK_MODES:
            bad("dropout_mask", f"choose one of {', '.join(DROPOUT_MASK_MODES)}")
        if self.dropout_mask != "independent" and self.objective != "unsup":
            bad("dropout_mask", "mask modes other than independent apply to unsupervised training only")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            bad("dropout", "a probability in [0, 1)")
        if self.eval_source not in EVAL_SOURCES:
            bad("eval_source", f"choose one of {', '.join(EVAL_SOURCES)}")
        unknown_tasks = [t for t in self.eval_tasks.split(",") if t.strip() not in ("stsb", "sickr")]
        if unknown_tasks:
            bad("eval_tasks", "evaluation during training uses stsb and/or sickr (comma-separated)")
        if self.mixed_precision not in MIXED_PRECISION:
            bad("mixed_precision", f"choose one of {', '.join(MIXED_PRECISION)}")
        from transformers import SchedulerType
        schedules = [s.value for s in SchedulerType]
        if self.lr_scheduler_type not in schedules:
            bad("lr_scheduler_type", f"unknown schedule; choose one of {', '.join(schedules)}")
        if self.mlp_only_train and self.pooler_type != "cls":
            bad("mlp_only_train", "only applies to pooler_type cls (the only pooler with an MLP head)")
        if self.temp <= 0:
            bad("temp", "the temperature must be > 0")
        if self.per_device_train_batch_size < 2:
            bad("per_device_train_batch_size", "contrastive learning needs at least 2 examples per batch")
        if self.max_seq_length < 2:
            bad("max_seq_length", "must leave room for the special tokens and one word (>= 2)")
        if self.grad_cache and self.do_mlm:
            bad("grad_cache", "is not supported together with do_mlm")
        if self.mini_batch_size < 1:
            bad("mini_batch_size", "must be >= 1")
        if self.learning_rate <= 0:
            bad("learning_rate", "must be > 0")
        if not 0 < self.mlm_probability < 1:
            bad("mlm_probability", "must be between 0 and 1")
        if not 0 <= self.warmup_ratio < 1:
            bad("warmup_ratio", "must be in [0, 1)")
        if self.max_steps == 0 or self.max_steps < -1:
            bad("max_steps", "must be -1 (use num_train_epochs) or a positive number of steps")
        if self.max_steps == -1 and self.num_train_epochs < 1:
            bad("num_train_epochs", "must be >= 1 when max_steps is -1")
        for key in ("logging_steps", "eval_steps"):
            if getattr(self, key) < 1:
                bad(key, "must be >= 1")
        if self.save_steps < 0:
            bad("save_steps", "must be >= 0")
        if self.save_total_limit < 1:
            bad("save_total_limit", "must be >= 1")
        if self.max_grad_norm < 0:
            bad("max_grad_norm", "must be >= 0")
        if self.mlm_weight < 0:
            bad("mlm_weight", "must be >= 0")
        if self.train_file and self.dataset_name:
            bad("dataset_name", "give either train_file or dataset_name, not both")
        if self.dataset_config_name and not self.dataset_name:
            bad("dataset_config_name", "only applies with dataset_name")
        for key in ("dataset_split", "text_column", "sent0_column", "sent1_column"):
            if not getattr(self, key):
                bad(key, "must not be empty")
        if self.sent0_column in (self.sent1_column, self.hard_neg_column) or self.sent1_column == self.hard_neg_column:
            bad("sent0_column", "sent0_column, sent1_column and hard_neg_column must name different columns")
        if self.preprocessing_num_workers is not None and self.preprocessing_num_workers < 1:
            bad("preprocessing_num_workers", "must be >= 1 (or none)")
        if self.shuffle_buffer_size < 1:
            bad("shuffle_buffer_size", "must be >= 1")
        if self.report_to not in ("none", "all") and not set(self.log_with) <= set(TRACKERS):
            bad("report_to", f"choose none, all, or one or more of {', '.join(TRACKERS)} (comma-separated)")
        if self.encoding_errors not in ENCODING_ERRORS:
            bad("encoding_errors", f"choose one of {', '.join(ENCODING_ERRORS)}")
        if self.streaming:
            if self.max_steps < 1:
                bad("streaming", "a stream has no known length: set max_steps")
            if self.no_duplicates_in_batch:
                bad("no_duplicates_in_batch", "needs the whole data prepared up front; not with streaming")
            if self.group_by_length:
                bad("group_by_length", "needs the whole data prepared up front; not with streaming")
            if self.strict:
                bad("strict", "checks every row before training; a stream is read while training")
        if self.group_by_length and self.no_duplicates_in_batch:
            bad("group_by_length", "not together with no_duplicates_in_batch (both choose the batches)")

    @property
    def log_with(self) -> list[str] | str | None:
        """``report_to`` as accelerate's ``log_with``: None, "all" or a list of tracker names."""
        if self.report_to in ("none", "all"):
            return None if self.report_to == "none" else "all"
        return [name.strip() for name in self.report_to.split(",")]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


def field_help() -> dict[str, str]:
    """Each option's documentation, for ``--help`` and the README."""
    return {f.name: f.metadata["help"] for f in dataclasses.fields(TrainConfig)}


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(TrainConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(TrainConfig)}


def _unknown_key(key: str, where: str) -> ConfigError:
    known = list(_field_types())
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(f"unknown config key '{key}' in {where}{hint}")


def _coerce(key: str, value: Any, annotation: Any, where: str) -> Any:
    """Convert a YAML or command-line value to the field's type, or explain why it can't be."""
    optional = typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation)
    if optional:
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))

    def wrong() -> ConfigError:
        return ConfigError(f"{key} in {where}: expected {annotation.__name__}, got {value!r}")

    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
            return False
        raise wrong()
    if annotation is int:
        if isinstance(value, bool):
            raise wrong()
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise wrong() from None
        raise wrong()
    if annotation is float:
        if isinstance(value, bool):
            raise wrong()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):  # YAML reads 3e-5 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise wrong() from None
        raise wrong()
    if annotation is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise wrong()
    raise TypeError(f"config field {key} has an unsupported type {annotation}")


def parse_overrides(args: list[str]) -> dict[str, str]:
    """Turn ``--key value`` / ``--key=value`` / bare ``--flag`` (true) into a dict."""
    overrides: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            raise ConfigError(f"expected an option like --learning_rate 1e-5, got '{arg}'")
        key = arg[2:].replace("-", "_")
        if "=" in key:
            key, value = key.split("=", 1)
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            value = args[i + 1]
            i += 2
        else:
            value = "true"
            i += 1
        overrides[key] = value
    return overrides


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config (optional) and apply overrides; every key is checked against TrainConfig."""
    types_ = _field_types()
    values: dict[str, Any] = {}
    sources: list[tuple[dict[str, Any], str]] = []
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path} is not valid YAML: {err}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} must be a mapping of option: value, got {type(loaded).__name__}")
        sources.append((loaded, str(path)))
    if overrides:
        sources.append((overrides, "the command line"))
    for source, where in sources:
        for key, value in source.items():
            if key not in types_:
                raise _unknown_key(key, where)
            values[key] = _coerce(key, value, types_[key], where)
    if not values.get("model_name_or_path"):
        raise ConfigError("model_name_or_path is required: set it in the config file or with --model_name_or_path")
    return TrainConfig(**values)
