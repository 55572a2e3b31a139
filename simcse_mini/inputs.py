"""Reading sentences to embed or search from files: .txt, .csv/.tsv or .jsonl."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .data import DataError

SENTENCE_FILE_TYPES = (".txt", ".csv", ".tsv", ".jsonl")
USUAL_COLUMNS = ("sentence", "text")


def read_sentences(path: str | Path, column: str | None = None) -> list[str]:
    """The sentences of a file, in file order, one per line or row (blank lines included, so
    that row i of the embeddings is line i of a .txt file).

    .txt: one sentence a line. .csv/.tsv (with a header) and .jsonl (an object a line): the
    ``column`` field, which may be left out when there is only one, or one called sentence or
    text. A .jsonl line may also be a plain JSON string.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file not found: {path}")
    kind = path.suffix.lower()
    if kind not in SENTENCE_FILE_TYPES:
        raise DataError(f"{path}: unsupported file type '{path.suffix}'; use one of {', '.join(SENTENCE_FILE_TYPES)}")
    if kind == ".txt":
        return path.read_text(encoding="utf-8").splitlines()
    with path.open(newline="", encoding="utf-8") as f:
        if kind == ".jsonl":
            rows = [_json_line(path, number, line) for number, line in enumerate(f, 1) if line.strip()]
        else:
            rows = list(csv.DictReader(f, delimiter="\t" if kind == ".tsv" else ","))
    if all(isinstance(row, str) for row in rows):
        return rows
    fields = list(rows[0]) if rows and isinstance(rows[0], dict) else []
    name = column or _only_or_usual(fields)
    if name is None or name not in fields:
        raise DataError(f"{path}: {'no column ' + repr(column) if column else 'which column holds the sentences?'} "
                        f"(columns: {', '.join(fields) or 'none'}); pass --column")
    missing = [i for i, row in enumerate(rows) if not isinstance(row, dict) or row.get(name) is None]
    if missing:
        raise DataError(f"{path}: row {missing[0] + 1} has no '{name}' field")
    return [str(row[name]) for row in rows]


def _only_or_usual(fields: list[str]) -> str | None:
    if len(fields) == 1:
        return fields[0]
    return next((name for name in USUAL_COLUMNS if name in fields), None)


def _json_line(path: Path, number: int, line: str):
    try:
        return json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{number}: not a JSON line ({err})") from None
