"""Loaders for the STS evaluation tasks: STS12-16, STS-B and SICK-R.

The same tasks come from three sources:

* ``senteval``: a SentEval-style data folder (``downstream/STS/...``,
  ``downstream/SICK/...``) read as SentEval reads it. STS12-16 and STS-B are
  SentEval's lowercased, tokenized copies: the text behind SimCSE's numbers.
* ``original``: the original releases SentEval keeps inside each STS12-16
  folder, and an original-casing STS-B folder: the text MTEB and
  sentence-transformers use. SICK is the same in both.
* ``hub``: the Hugging Face datasets MTEB and sentence-transformers load.

Every loader returns an :class:`STSTaskData`: the scored pairs of one task split,
grouped into subsets (the datasets of an STS year, or the parts of SICK).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol

import numpy as np

logger = logging.getLogger(__name__)

STS_YEAR_FOLDERS = {
    "sts12": "STS12-en-test",
    "sts13": "STS13-en-test",
    "sts14": "STS14-en-test",
    "sts15": "STS15-en-test",
    "sts16": "STS16-en-test",
}
# Where each STS year folder keeps its original release (original casing).
ORIGINAL_RELEASE_FOLDERS = {
    "sts12": "test-gold",
    "sts13": "test-gs",
    "sts14": "sts-en-test-gs-2014",
    "sts15": "test_evaluation_task2a",
    "sts16": "sts2016-english-with-gs-v1.0",
}
SICK_FILES = {
    "train": "SICK_train.txt",
    "trial": "SICK_trial.txt",
    "test": "SICK_test_annotated.txt",
}

TASKS = (*STS_YEAR_FOLDERS, "stsb", "sickr")
# "all" for SICK-R is its three splits together, the way MTEB scores it.
TASK_SPLITS = {
    **{task: ("test",) for task in STS_YEAR_FOLDERS},
    "stsb": ("train", "dev", "test"),
    "sickr": ("train", "trial", "test", "all"),
}
# SICK calls its dev split "trial".
SPLIT_ALIASES = {("sickr", "dev"): "trial"}
SOURCES = ("senteval", "original", "hub")


@dataclass
class SentencePairs:
    """Sentence pairs with their gold similarity scores (0-5 scale)."""

    sentences1: list[str]
    sentences2: list[str]
    scores: np.ndarray

    def __post_init__(self):
        self.scores = np.asarray(self.scores, dtype=np.float64)
        if not len(self.sentences1) == len(self.sentences2) == len(self.scores):
            raise ValueError(
                f"pairs disagree in length: {len(self.sentences1)} first sentences, "
                f"{len(self.sentences2)} second sentences, {len(self.scores)} scores"
            )

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def concatenate(cls, parts: list[SentencePairs]) -> SentencePairs:
        return cls(
            [s for part in parts for s in part.sentences1],
            [s for part in parts for s in part.sentences2],
            np.concatenate([part.scores for part in parts]) if parts else np.empty(0),
        )


@dataclass
class STSTaskData:
    """The scored pairs of one task split, by subset (one subset for STS-B)."""

    task: str
    split: str
    subsets: dict[str, SentencePairs]

    @property
    def all_pairs(self) -> SentencePairs:
        return SentencePairs.concatenate(list(self.subsets.values()))


class STSDataSource(Protocol):
    """Anything that can load a task split."""

    def load(self, task: str, split: str) -> STSTaskData: ...


def has_split(task: str, split: str) -> bool:
    """Whether ``task`` has ``split`` (under its own name for it)."""
    return SPLIT_ALIASES.get((task, split), split) in TASK_SPLITS.get(task, ())


def resolve_split(task: str, split: str) -> str:
    """Map a generic split to the task's own name for it (SICK's dev split is "trial")."""
    if task not in TASK_SPLITS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    split = SPLIT_ALIASES.get((task, split), split)
    if split not in TASK_SPLITS[task]:
        raise ValueError(
            f"{task} has no {split!r} split; it has {', '.join(TASK_SPLITS[task])}"
        )
    return split


def read_sts_subsets(folder: str | Path) -> dict[str, SentencePairs]:
    """Read every subset of an STS year folder, keyed by subset name.

    A subset is a ``*.input.NAME.txt`` file (tab-separated sentence pairs; columns
    after the second, such as STS16's source notes, are ignored) with its
    ``*.gs.NAME.txt`` gold file, one score a line. A subset missing either file
    is skipped (STS13's SMT has gold scores but no text, for licensing reasons),
    and pairs whose gold line is empty were never scored and are dropped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no STS folder at {folder}")
    subsets = {}
    for input_path in sorted(folder.glob("*.input.*.txt")):
        name = input_path.name.split(".input.", 1)[1].removesuffix(".txt")
        gold_path = input_path.with_name(input_path.name.replace(".input.", ".gs.", 1))
        if not gold_path.exists():
            logger.warning("skipping STS subset %s: no gold file %s", name, gold_path.name)
            continue
        # splitlines, as SentEval reads these files.
        pairs = [line.split("\t")[:2] for line in input_path.read_text(encoding="utf-8").splitlines()]
        gold = [line.strip() for line in gold_path.read_text(encoding="utf-8").splitlines()]
        if any(len(pair) < 2 for pair in pairs):
            raise ValueError(f"{input_path} has a line without two tab-separated sentences")
        if len(pairs) != len(gold):
            raise ValueError(f"{input_path} has {len(pairs)} pairs but {gold_path.name} has {len(gold)} lines")
        scored = [(pair, float(score)) for pair, score in zip(pairs, gold) if score]
        subsets[name] = SentencePairs(
            [pair[0] for pair, _ in scored],
            [pair[1] for pair, _ in scored],
            np.array([score for _, score in scored]),
        )
    if not subsets:
        raise FileNotFoundError(f"no STS subsets (STS.input.*.txt with STS.gs.*.txt) in {folder}")
    return subsets


def read_stsbenchmark(path: str | Path) -> SentencePairs:
    """Read an STS Benchmark file: tab-separated genre, file, year, id, score, sentence1, sentence2.

    Some lines of the original release carry extra source columns after the
    sentences; they are ignored. Quotes are text, not CSV quoting.
    """
    rows = [line.split("\t") for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return SentencePairs([row[5] for row in rows], [row[6] for row in rows], [float(row[4]) for row in rows])


def read_sick(path: str | Path) -> SentencePairs:
    """Read a SICK file: a header, then pair_ID, sentence_A, sentence_B, relatedness_score, ..."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()[1:]
    rows = [line.split("\t") for line in lines if line.strip()]
    return SentencePairs([row[1] for row in rows], [row[2] for row in rows], [float(row[3]) for row in rows])


def read_scored_pairs(path: str | Path) -> SentencePairs:
    """Read a user's own pairs: a .tsv or .csv file with a header naming sentence1, sentence2 and score."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"evaluation file not found: {path}")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter, quoting=quoting))
    if not rows or not {"sentence1", "sentence2", "score"} <= set(rows[0]):
        raise ValueError(f"{path}: needs a header with sentence1, sentence2 and score columns, and at least one row")
    for line, row in enumerate(rows, start=2):
        try:
            float(row["score"])
        except (TypeError, ValueError):
            raise ValueError(f"{path}, line {line}: score {row['score']!r} is not a number") from None
    return SentencePairs([r["sentence1"] for r in rows], [r["sentence2"] for r in rows],
                         [float(r["score"]) for r in rows])


class SentEvalFolder:
    """Tasks read from a SentEval-style data folder (the one holding ``downstream/``).

    With ``original_text=True`` STS12-16 come from the original releases inside
    each year folder and STS-B from ``stsb_dir`` (an original-casing copy with
    ``sts-{train,dev,test}.csv``), which is the text MTEB uses.
    """

    def __init__(self, data_dir: str | Path, original_text: bool = False, stsb_dir: str | Path | None = None):
        self.downstream = Path(data_dir) / "downstream"
        if not self.downstream.is_dir():
            raise FileNotFoundError(
                f"{data_dir} is not a SentEval-style data folder: it has no downstream/ folder"
            )
        self.original_text = original_text
        self.stsb_dir = Path(stsb_dir) if stsb_dir is not None else None

    def load(self, task: str, split: str) -> STSTaskData:
        split = resolve_split(task, split)
        if task in STS_YEAR_FOLDERS:
            folder = self.downstream / "STS" / STS_YEAR_FOLDERS[task]
            if self.original_text:
                folder = folder / ORIGINAL_RELEASE_FOLDERS[task]
            subsets = read_sts_subsets(folder)
        elif task == "stsb":
            subsets = {split: read_stsbenchmark(self._stsb_folder() / f"sts-{split}.csv")}
        else:
            parts = tuple(SICK_FILES) if split == "all" else (split,)
            subsets = {part: read_sick(self.downstream / "SICK" / SICK_FILES[part]) for part in parts}
        return STSTaskData(task, split, subsets)

    def _stsb_folder(self) -> Path:
        if not self.original_text:
            return self.downstream / "STS" / "STSBenchmark"
        if self.stsb_dir is None:
            raise ValueError("original text needs the folder of the original-casing STS Benchmark (stsb_dir)")
        return self.stsb_dir


@dataclass(frozen=True)
class HubDataset:
    """A Hugging Face dataset with ``sentence1``, ``sentence2`` and ``score`` columns."""

    path: str
    splits: Mapping[str, str]  # task split -> hub split
    score_scale: float = 1.0  # multiplies scores back onto the 0-5 scale


HUB_DATASETS = {
    **{task: HubDataset(f"mteb/{task}-sts", {"test": "test"}) for task in STS_YEAR_FOLDERS},
    # sentence-transformers/stsb has the original casing, with scores scaled to 0-1.
    "stsb": HubDataset(
        "sentence-transformers/stsb", {"train": "train", "dev": "validation", "test": "test"}, score_scale=5.0
    ),
    # mteb/sickr-sts holds all of SICK in one "test" split, so only "all" is on the hub.
    "sickr": HubDataset("mteb/sickr-sts", {"all": "test"}),
}


class HubSource:
    """Tasks loaded with ``datasets.load_dataset`` (needs internet or a local copy)."""

    def __init__(self, datasets: Mapping[str, HubDataset] = HUB_DATASETS):
        self.datasets = datasets

    def load(self, task: str, split: str) -> STSTaskData:
        from datasets import load_dataset

        split = resolve_split(task, split)
        dataset = self.datasets[task]
        if split not in dataset.splits:
            raise ValueError(
                f"{dataset.path} has no {task} {split!r} split (it has {', '.join(dataset.splits)}); "
                "read a SentEval data folder instead"
                + (", or score all of SICK as MTEB does (SICK-R split 'all')" if task == "sickr" else "")
            )
        rows = load_dataset(dataset.path, split=dataset.splits[split])
        pairs = SentencePairs(
            list(rows["sentence1"]),
            list(rows["sentence2"]),
            np.asarray(rows["score"], dtype=np.float64) * dataset.score_scale,
        )
        return STSTaskData(task, split, {split: pairs})


def open_source(source: str, data_dir: str | Path | None = None, stsb_dir: str | Path | None = None) -> STSDataSource:
    """The data source named ``senteval``, ``original`` or ``hub`` (see the module docstring)."""
    if source == "hub":
        return HubSource()
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")
    if data_dir is None:
        raise ValueError(f"the {source!r} source needs a SentEval-style data folder (data_dir)")
    return SentEvalFolder(data_dir, original_text=source == "original", stsb_dir=stsb_dir)
