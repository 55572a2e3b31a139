"""Training data: files or hub datasets -> tokenized ``datasets`` examples -> padded batches.

Every example is stored as ``input_ids``: a list of V token-id lists (V = 1 for unsupervised
sentences, 2 for pairs, 3 for triplets). ``datasets`` reads the source into Arrow files on disk that
are memory-mapped, so a corpus of a million lines is never held as a million Python objects;
tokenization runs once, batched, in ``Dataset.map`` and is cached by ``datasets``; the unsupervised
second view is made in the model step, not here. With ``streaming`` the same steps run lazily on an
``IterableDataset`` while training.

Unusable data raises ``DataError`` naming the file, the line or row and what is wrong, before training
starts (with streaming, a problem far into the stream is reported when it is read).
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from accelerate import DataLoaderConfiguration
from torch.utils.data import DataLoader, IterableDataset, Sampler

from .config import TrainConfig

logger = logging.getLogger(__name__)

_BUILDERS = {".txt": "text", ".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
_EXAMPLES = pa.list_(pa.list_(pa.int32()))  # the input_ids column: V token-id lists per example
_SHOWN = 5  # row numbers quoted in a message


class DataError(ValueError):
    """Training data that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class _Source:
    """Where training rows come from, and how messages name them."""
    name: str  # the file, folder or hub dataset, as the user gave it
    files: tuple[Path, ...] = ()  # local files, in reading order (none for a hub dataset)

    @property
    def rows(self) -> str:
        """What a row is called: a .txt file's rows are its lines, numbered as an editor does."""
        return "line" if self.files and self.files[0].suffix.lower() == ".txt" else "row"


def build_train_dataset(cfg: TrainConfig, tokenizer) -> datasets.Dataset | IterableDataset:
    """Load, check and tokenize the training data into examples of V token-id lists.

    Returns a map-style ``datasets.Dataset``, or with ``cfg.streaming`` a shuffled stream."""
    sources = _sources(cfg)
    if cfg.streaming:
        return _stream(cfg, tokenizer, sources)
    parts = []
    for source in sources:
        raw = _load(cfg, source)
        columns = _columns(cfg, source, raw.column_names, raw.features)
        _check_rows(raw, columns, source, cfg.strict)
        parts.append(_tokenized(raw, columns, cfg, tokenizer, num_proc=cfg.preprocessing_num_workers,
                                desc=f"Tokenizing {source.name}"))
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


def describe_source(cfg: TrainConfig) -> str:
    """The training data as messages name it."""
    if cfg.dataset_name:
        subset = f", {cfg.dataset_config_name}" if cfg.dataset_config_name else ""
        return f"hub dataset {cfg.dataset_name}{subset} [{cfg.dataset_split}]"
    return str(cfg.train_file)


# --- reading ----------------------------------------------------------------------------------

def _sources(cfg: TrainConfig) -> list[_Source]:
    """The hub dataset, the file, or each file of the folder that cfg names (checked to exist)."""
    if cfg.dataset_name:
        return [_Source(describe_source(cfg))]
    if not cfg.train_file:
        raise DataError("no training data: set train_file (a local file or folder) or dataset_name (a hub dataset)")
    path = Path(cfg.train_file)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _BUILDERS)
        if not files:
            raise DataError(f"{path}: the folder holds no training files ({', '.join(_BUILDERS)})")
        suffixes = sorted({p.suffix.lower() for p in files})
        if len(suffixes) > 1:
            raise DataError(f"{path}: the folder mixes file types ({', '.join(suffixes)}); keep one type per folder")
    elif not path.exists():
        raise DataError(f"training data not found: {path}")
    elif path.suffix.lower() not in _BUILDERS:
        raise DataError(f"{path}: unsupported file type '{path.suffix}'; use one of {', '.join(_BUILDERS)}")
    else:
        files = [path]
    for file in files:
        if file.stat().st_size == 0:
            raise DataError(f"{file} is empty")
    return [_Source(str(file), (file,)) for file in files]


def _load(cfg: TrainConfig, source: _Source, streaming: bool = False):
    """``datasets.load_dataset`` on a source, with its failures explained."""
    if not source.files:
        try:
            return datasets.load_dataset(cfg.dataset_name, cfg.dataset_config_name, split=cfg.dataset_split,
                                         streaming=streaming)
        except Exception as err:  # the hub, the network and the cache fail in many ways
            raise DataError(
                f"cannot load {source.name} from the Hugging Face hub: {err}. Where there is no network "
                f"access, save it to a file on a machine that has (datasets.load_dataset(...).to_parquet("
                f"'train.parquet')), copy that here and set train_file to it instead of dataset_name") from None
    suffix = source.files[0].suffix.lower()
    builder = _BUILDERS[suffix]
    options = {"delimiter": "\t"} if suffix == ".tsv" else {}
    if builder in ("text", "csv"):
        options["encoding_errors"] = cfg.encoding_errors
    try:
        return datasets.load_dataset(builder, data_files=[str(f) for f in source.files], split="train",
                                     streaming=streaming, **options)
    except Exception as err:  # raised deep inside datasets, pandas or pyarrow
        raise _read_error(source, err) from None


def _read_error(source: _Source, err: Exception) -> DataError:
    """Explain a failure to read local files: where the bad bytes are, or what the file lacks."""
    chain = [err]
    while (cause := chain[-1].__cause__ or chain[-1].__context__) is not None and cause not in chain:
        chain.append(cause)
    if any(isinstance(e, UnicodeDecodeError) for e in chain):
        for path in source.files:
            if (place := _first_undecodable(path)) is not None:
                line, column, byte = place
                fix = ("set encoding_errors: replace to read such bytes as U+FFFD, or convert the file to UTF-8"
                       if _BUILDERS[path.suffix.lower()] in ("text", "csv") else "convert the file to UTF-8")
                return DataError(f"{path}, line {line}: byte 0x{byte:02x} (byte {column} of the line) is not "
                                 f"valid UTF-8; {fix}")
    for path in source.files:
        lines = _nonblank_lines(path, 2)
        if not lines:
            return DataError(f"{path} has only blank lines")
        if len(lines) == 1 and _BUILDERS[path.suffix.lower()] == "csv":
            return DataError(f"{path} has a header line ({lines[0][:80]!r}) but no rows")
    return DataError(f"{source.name}: cannot read it: {type(chain[-1]).__name__}: {chain[-1]}")


def _first_undecodable(path: Path) -> tuple[int, int, int] | None:
    """(line, byte in the line, byte value) of the first byte that is not UTF-8, or None."""
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                return number, err.start + 1, line[err.start]
    return None


def _nonblank_lines(path: Path, limit: int) -> list[str]:
    with path.open("rb") as f:
        found = (line.decode("utf-8", "replace").strip() for line in f)
        return list(itertools.islice(filter(None, found), limit))


def _columns(cfg: TrainConfig, source: _Source, names: list[str], features=None) -> list[str]:
    """The columns that hold the V sentences of an example, in order (DataError if the data lacks them)."""
    if cfg.objective == "unsup":
        wanted, optional, keys = [cfg.text_column], None, "text_column"
    else:
        wanted, optional = [cfg.sent0_column, cfg.sent1_column], cfg.hard_neg_column
        keys = "sent0_column, sent1_column and hard_neg_column"
    missing = [c for c in wanted if c not in names]
    if missing:
        raise DataError(f"{source.name}: objective {cfg.objective} needs the column(s) "
                        f"{', '.join(map(repr, missing))}, but it has {', '.join(map(repr, names))}; "
                        f"name the columns to use with {keys}")
    columns = wanted + ([optional] if optional in names else [])
    for column in columns:
        if features is not None and not isinstance(features[column], datasets.Value):
            raise DataError(f"{source.name}: column '{column}' holds {features[column]}, not text")
    if cfg.objective == "sup" and len(columns) == 2:
        logger.info("%s: no '%s' column; training on (%s, %s) pairs", source.name, optional, *columns)
    return columns


# --- checking and tokenizing --------------------------------------------------------------------

def _clean(table: pa.Table, columns: list[str]) -> tuple[list[pa.ChunkedArray], pa.ChunkedArray]:
    """The columns' texts without surrounding whitespace, and which rows have all of them non-empty."""
    texts = [pc.utf8_trim_whitespace(pc.cast(table[c], pa.string())) for c in columns]
    usable = functools.reduce(pc.and_, [pc.greater(pc.utf8_length(t), 0) for t in texts])
    return texts, pc.fill_null(usable, False)


def _check_rows(raw: datasets.Dataset, columns: list[str], source: _Source, strict: bool) -> None:
    """Log the rows that tokenization will drop (empty required field) and the whitespace it strips;
    with ``strict``, refuse rows with an empty field instead (a .txt file's blank lines excepted)."""
    dropped, first_bad, stripped = 0, [], 0
    for offset, table in zip(itertools.count(0, 10_000),
                             raw.select_columns(columns).with_format("arrow").iter(batch_size=10_000)):
        texts, usable = _clean(table, columns)
        unusable = np.flatnonzero(~usable.to_numpy())
        dropped += len(unusable)
        for i in unusable[:_SHOWN - len(first_bad)]:
            first_bad.append((offset + int(i) + 1, [c for c, t in zip(columns, texts) if not t[int(i)].as_py()]))
        changed = functools.reduce(pc.or_, [pc.not_equal(t, pc.cast(table[c], pa.string()))
                                            for c, t in zip(columns, texts)])
        stripped += pc.sum(pc.and_(pc.fill_null(changed, False), usable)).as_py() or 0

    rows, total = source.rows, len(raw)
    blank_lines = rows == "line"
    are = "are blank" if blank_lines else f"have an empty {' or '.join(columns)}"
    numbers = ", ".join(str(number) for number, _ in first_bad) + (", ..." if dropped > len(first_bad) else "")
    if dropped == total:
        raise DataError(f"{source.name}: nothing to train on: all {_count(total, rows)} {are}")
    if dropped and strict and not blank_lines:
        number, empty = first_bad[0]
        raise DataError(f"{source.name}, row {number}: empty {' and '.join(map(repr, empty))} (strict is on; "
                        f"{_count(dropped, 'such row')} in all: {numbers}); fill them in, or turn strict off to "
                        "drop them")
    if dropped:
        log = logger.info if blank_lines else logger.warning
        log("%s: dropped %d of %s that %s (%ss %s)", source.name, dropped, _count(total, rows), are, rows, numbers)
    if stripped:
        logger.info("%s: stripped surrounding whitespace from %s", source.name, _count(stripped, rows))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _tokenize(table: pa.Table, tokenizer, columns: list[str], max_length: int) -> pa.Table:
    """Tokenize one batch of rows into examples of V token-id lists, leaving out unusable rows."""
    texts, usable = _clean(table, columns)
    views = [pc.filter(t, usable).to_pylist() for t in texts]
    n = len(views[0])
    # One tokenizer call for all views; ids come back view after view, so ids[i::n] are row i's views.
    ids = tokenizer([s for view in views for s in view], truncation=True, max_length=max_length,
                    return_attention_mask=False, return_token_type_ids=False)["input_ids"] if n else []
    return pa.table({"input_ids": pa.array([ids[i::n] for i in range(n)], type=_EXAMPLES)})


def _tokenized(raw, columns: list[str], cfg: TrainConfig, tokenizer, **map_options):
    """A dataset or stream mapped, in batches, to examples of V token-id lists."""
    return raw.select_columns(columns).with_format("arrow").map(
        partial(_tokenize, tokenizer=tokenizer, columns=columns, max_length=cfg.max_seq_length),
        batched=True, remove_columns=columns, **map_options).with_format(None)


# --- streaming ---------------------------------------------------------------------------------

class _Stream(IterableDataset):
    """A ``datasets`` stream whose read errors become a DataError naming the file and line."""

    def __init__(self, stream: datasets.IterableDataset, source: _Source):
        self.stream, self.source = stream, source

    def set_epoch(self, epoch: int) -> None:
        self.stream.set_epoch(epoch)  # the shuffle buffer's seed is seed + epoch

    def __iter__(self):
        try:
            yield from self.stream
        except DataError:
            raise
        except Exception as err:  # raised deep inside datasets, pandas or pyarrow
            raise (_read_error(self.source, err) if self.source.files else
                   DataError(f"{self.source.name}: reading failed: {type(err).__name__}: {err}")) from None


def _stream(cfg: TrainConfig, tokenizer, sources: list[_Source]) -> _Stream:
    # All files in one stream: datasets reads them one after another (its shards) and the shuffle
    # mixes shard order and, within the buffer, examples.
    source = _Source(describe_source(cfg), tuple(f for s in sources for f in s.files))
    raw = _load(cfg, source, streaming=True)
    first = next(iter(_Stream(raw, source)), None)
    if first is None:
        raise DataError(f"{source.name}: no rows")
    tokenized = _tokenized(raw, _columns(cfg, source, list(first)), cfg, tokenizer)
    return _Stream(tokenized.shuffle(seed=cfg.seed, buffer_size=cfg.shuffle_buffer_size), source)


# --- batching ----------------------------------------------------------------------------------

def loader_config(cfg: TrainConfig) -> DataLoaderConfiguration:
    """How accelerate must share the training loader among processes (give it to the Accelerator).

    Every process draws the same order, seeded by cfg.seed and the epoch, and keeps its own part of
    each global batch, so no example is seen twice in an epoch. A stream is read by every process
    (not read by the main one and dispatched, accelerate's default for iterable datasets):
    dispatching concatenates the processes' batches, which the collator pads to different lengths."""
    return DataLoaderConfiguration(use_seedable_sampler=True, data_seed=cfg.seed, dispatch_batches=False)


def build_train_loader(cfg: TrainConfig, dataset, pad_token_id: int, num_processes: int) -> DataLoader:
    """The training DataLoader, to pass through ``accelerator.prepare`` (see ``loader_config``).

    Batches are full (drop_last): a short batch would have fewer negatives, and processes gathering
    embeddings must hold batches of the same size."""
    global_batch = cfg.per_device_train_batch_size * num_processes
    available = (len(dataset) if not isinstance(dataset, IterableDataset)
                 else sum(1 for _ in itertools.islice(dataset, global_batch)))
    if available < global_batch:
        raise DataError(f"{describe_source(cfg)}: {available} usable examples, fewer than one batch of "
                        f"{global_batch} ({cfg.per_device_train_batch_size} per process x {num_processes} "
                        f"processes); lower per_device_train_batch_size")
    # The loader's own generator: each pass over a DataLoader draws a seed from it, which would
    # otherwise come from the global RNG and shift the dropout masks of a resumed run.
    common = {"batch_size": cfg.per_device_train_batch_size, "drop_last": True,
              "collate_fn": ContrastiveCollator(pad_token_id), "generator": torch.Generator().manual_seed(cfg.seed)}
    if isinstance(dataset, IterableDataset):  # a stream shuffles itself, in its buffer
        return DataLoader(dataset, **common)
    if cfg.no_duplicates_in_batch:
        return DataLoader(dataset, sampler=NoDuplicatesSampler(text_keys(dataset), global_batch, cfg.seed), **common)
    if cfg.group_by_length:
        return DataLoader(dataset, sampler=LengthGroupedSampler(token_counts(dataset), global_batch, cfg.seed), **common)
    return DataLoader(dataset, shuffle=True, **common)


def text_keys(dataset: datasets.Dataset) -> np.ndarray:
    """An int64 key per example and view, equal when the token ids are: sentences that tokenize
    alike are the same sentence to the model (a hash of the ids; collisions are negligible)."""
    parts = [np.array([[hash(tuple(ids)) for ids in example] for example in table["input_ids"].to_pylist()],
                      dtype=np.int64)
             for table in dataset.with_format("arrow").iter(batch_size=10_000)]
    return np.concatenate(parts)


class _WholeBatchSampler(Sampler[int]):
    """A sampler that yields indices in runs of ``global_batch``, one run per optimizer step
    (accelerate gives process k the k-th slice of a run), in an order that depends only on the seed
    and the epoch: every process computes the same one and a resumed run replays it. As with
    drop_last, the examples left over at the end of an epoch sit it out."""

    def __init__(self, num_examples: int, global_batch: int, seed: int):
        self.global_batch, self.seed, self.epoch = global_batch, seed, 0
        self.num_batches = num_examples // global_batch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches * self.global_batch


class NoDuplicatesSampler(_WholeBatchSampler):
    """A random order in which no sentence occurs twice within a global batch.

    No two examples of a run share a sentence in any view, compared by ``text_keys``. An example
    whose sentence is already in the batch being filled waits for the next batch.
    """

    def __init__(self, keys: np.ndarray, global_batch: int, seed: int):
        distinct = len(np.unique(keys[:, 0]))
        if distinct < global_batch:
            raise DataError(f"no_duplicates_in_batch: the data has {distinct} distinct sentences, fewer than "
                            f"one batch of {global_batch}")
        super().__init__(len(keys), global_batch, seed)
        self.keys = keys

    def __iter__(self):
        candidates = self._candidates(np.random.default_rng([self.seed, self.epoch]))
        waiting: collections.deque[int] = collections.deque()
        for _ in range(self.num_batches):
            batch, seen, clashed = [], set(), []
            while len(batch) < self.global_batch:
                index = waiting.popleft() if waiting else next(candidates)
                texts = self.keys[index].tolist()
                if seen.isdisjoint(texts):
                    batch.append(index)
                    seen.update(texts)
                elif len(clashed) < len(self.keys):
                    clashed.append(index)
                else:
                    raise DataError(f"no_duplicates_in_batch: cannot fill a batch of {self.global_batch} "
                                    "examples without repeating a sentence; the data repeats itself too much")
            waiting.extendleft(reversed(clashed))  # first in line for the next batch, in their order
            yield from batch

    def _candidates(self, rng: np.random.Generator):
        """Indices in random order; a further pass only when held-back examples left too few."""
        yield from map(int, rng.permutation(len(self.keys)))
        logger.warning("no_duplicates_in_batch: so many examples wait for a batch without their sentences "
                       "that epoch %d reuses some to fill its %d batches", self.epoch, self.num_batches)
        while True:
            yield from map(int, rng.permutation(len(self.keys)))


def token_counts(dataset: datasets.Dataset) -> np.ndarray:
    """The length in tokens of each example's longest view (what its batch is padded to)."""
    parts = [pc.list_value_length(pc.list_flatten(table["input_ids"])).to_numpy()
             .reshape(len(table), -1).max(axis=1)
             for table in dataset.with_format("arrow").iter(batch_size=10_000)]
    return np.concatenate(parts)


class LengthGroupedSampler(_WholeBatchSampler):
    """A random order whose global batches each hold examples of similar length, so they pad little.

    The examples are shuffled and cut into pools of ``pool_batches`` global batches; each pool is
    sorted by length and cut into global batches, and all the batches are shuffled.
    """

    def __init__(self, lengths: np.ndarray, global_batch: int, seed: int, pool_batches: int = 50):
        super().__init__(len(lengths), global_batch, seed)
        self.lengths, self.pool = lengths, pool_batches * global_batch

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))[: len(self)]
        batches = []
        for start in range(0, len(order), self.pool):
            pool = order[start : start + self.pool]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches += [pool[i : i + self.global_batch] for i in range(0, len(pool), self.global_batch)]
        for batch in rng.permutation(len(batches)):
            yield from map(int, batches[batch])


class ContrastiveCollator:
    """Pads a list of examples to ``input_ids``/``attention_mask`` tensors of shape [B, V, L],
    L being the longest sentence in this batch (never the global maximum)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        views = [f["input_ids"] for f in features]
        batch, num_views = len(views), len(views[0])
        length = max(len(ids) for example in views for ids in example)
        input_ids = torch.full((batch, num_views, length), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((batch, num_views, length), dtype=torch.long)
        for i, example in enumerate(views):
            for v, ids in enumerate(example):
                input_ids[i, v, : len(ids)] = torch.tensor(ids, dtype=torch.long)
                attention_mask[i, v, : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}
