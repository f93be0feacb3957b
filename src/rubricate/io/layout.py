"""Which files an import path holds: a dataset folder, a folder of flat files, or one flat
file; and how each flat file is read."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import check_metric_name
from rubricate.io.csv_reader import read_csv
from rubricate.io.readers import JsonDocument, read_json_document, read_jsonl
from rubricate.io.records import (
    FlatAnnotation,
    FlatJudgeResult,
    FlatResolution,
    FlatRow,
    Manifest,
)

FLAT_MODELS: dict[str, type[BaseModel]] = {  # in import order: rows before what refers to them
    "rows": FlatRow,
    "annotations": FlatAnnotation,
    "judge_results": FlatJudgeResult,
    "resolutions": FlatResolution,
}
FLAT_KINDS = tuple(FLAT_MODELS)
SUFFIXES = (".jsonl", ".csv")
DATASET, DATASET_ROWS = "dataset", "dataset_rows"  # the kinds of dataset.json and rows.jsonl


def read_flat(path: Path, model: type[BaseModel]) -> Iterator[tuple[int, Any]]:
    """A flat file, by its suffix: .csv or JSON Lines."""
    return read_csv(path, model) if path.suffix.lower() == ".csv" else read_jsonl(path, model)


def same_as(record: object, keys: Sequence[str]) -> Callable[[object], bool]:
    """Whether another record has the same values as ``record`` in ``keys`` (those it has)."""
    present = [k for k in keys if hasattr(record, k)]
    return lambda other: all(getattr(other, k) == getattr(record, k) for k in present)


def earlier_line(
    path: Path, model: type[BaseModel], until: int, same: Callable[[object], bool]
) -> int | None:
    """The first line before ``until`` whose record is ``same``. The file is read again,
    only when an import fails on a repeated record, so that nothing of it is kept."""
    for line, record in read_flat(path, model):
        if line >= until:
            return None
        if same(record):
            return line
    return None


def plan(path: Path, kind: str | None) -> list[tuple[str, Path]]:
    """(kind, file) of everything to import, in order: rows before what refers to them."""
    if kind is not None and kind not in FLAT_KINDS:
        raise InvalidInput(f"unknown kind {kind!r}: use {', '.join(FLAT_KINDS)}", field="kind")
    if not path.exists():
        raise InvalidInput(f"no such file or folder: {path}", field="path")
    if path.is_dir():
        return _folder(path)
    if path.name == "dataset.json":
        return _folder(path.parent)
    if path.suffix.lower() not in SUFFIXES:
        raise InvalidInput(f"{path}: expected a .jsonl or .csv file or a folder", field="path")
    chosen = kind or path.stem
    if chosen not in FLAT_KINDS:
        raise InvalidInput(
            f"cannot tell what {path.name} holds: name it rows, annotations, judge_results or "
            "resolutions (.jsonl or .csv), or pass --kind",
            field="kind",
        )
    return [(chosen, path)]


def _folder(path: Path) -> list[tuple[str, Path]]:
    names = [f"{name}{suffix}" for name in FLAT_KINDS for suffix in SUFFIXES]
    flat = [path / name for name in names if (path / name).exists()]
    if (path / "dataset.json").exists():
        return _dataset(path, flat)
    if not flat:
        raise InvalidInput(
            f"{path} holds neither dataset.json nor rows/annotations/judge_results/"
            "resolutions .jsonl or .csv files",
            field="path",
        )
    for name in FLAT_KINDS:
        if (path / f"{name}.jsonl").exists() and (path / f"{name}.csv").exists():
            raise InvalidInput(
                f"{path} holds both {name}.jsonl and {name}.csv: keep one of them", field="path"
            )
    return [(p.stem, p) for p in flat]


def _dataset(path: Path, flat: Sequence[Path]) -> list[tuple[str, Path]]:
    rows = path / "rows.jsonl"
    if not rows.is_file():
        raise InvalidInput(
            "rows.jsonl is missing: a dataset folder holds dataset.json and rows.jsonl",
            file=str(rows),
        )
    others = [p.name for p in flat if p != rows]
    if others:
        raise InvalidInput(
            f"{path} holds dataset.json and also {', '.join(others)}: import the flat files "
            "on their own, after the dataset",
            field="path",
        )
    return [(DATASET, path / "dataset.json"), (DATASET_ROWS, rows)]


def read_manifest(path: Path) -> tuple[Manifest, JsonDocument]:
    """dataset.json, with criteria that are valid metric names and listed once."""
    manifest, document = read_json_document(path, Manifest)
    seen: dict[str, int] = {}
    for index, criterion in enumerate(manifest.criteria):
        where = ("criteria", index, "name")
        try:
            check_metric_name(criterion.name)
        except InvalidInput as exc:
            raise document.error(exc.message, where) from None
        if criterion.name in seen:
            raise document.error(
                f"criterion {criterion.name!r} is listed twice (first as criteria"
                f"[{seen[criterion.name]}])",
                where,
            )
        seen[criterion.name] = index
    return manifest, document
