"""Streaming readers: one line at a time, every error naming file, line and field."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rubricate.domain.errors import InvalidInput

Model = TypeVar("Model", bound=BaseModel)


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 file, decoded line by line so that a bad byte is
    reported on its own line, and never the whole file in memory."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput(
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1});"
                    " save the file as UTF-8",
                    file=str(path),
                    line=number,
                ) from None
            yield number, text


def read_jsonl(path: Path, model: type[Model]) -> Iterator[tuple[int, Model]]:
    """Validated records of a JSON Lines file; blank lines are skipped."""
    for number, text in text_lines(path):
        if text.strip():
            yield number, parse(model, text, file=str(path), line=number)


def read_csv(path: Path, model: type[Model]) -> Iterator[tuple[int, Model]]:
    """Validated records of a CSV file with a header; empty cells are missing values and
    the ``metadata`` column holds JSON."""
    lines = text_lines(path)
    counter = _LineCounter(lines)
    reader = csv.DictReader(counter, strict=True)
    try:
        for record in reader:
            number = counter.last  # where the record ends; a quoted cell may span lines
            values: dict[str, Any] = {
                key: value for key, value in record.items() if value not in ("", None)
            }
            if None in values:
                raise InvalidInput("more cells than header columns", file=str(path), line=number)
            if "metadata" in values:
                values["metadata"] = _json_cell(values["metadata"], path, number)
            yield number, validate(model, values, file=str(path), line=number)
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV: {exc}", file=str(path), line=counter.last) from None


def read_json_document(path: Path, model: type[Model]) -> Model:
    text = "".join(line for _, line in text_lines(path))
    return parse(model, text, file=str(path), line=None)


def parse(model: type[Model], text: str, *, file: str, line: int | None) -> Model:
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise _invalid(exc, file, line) from None


def validate(model: type[Model], data: dict[str, Any], *, file: str, line: int | None) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, file, line) from None


def _invalid(exc: ValidationError, file: str, line: int | None) -> InvalidInput:
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        detail = first.get("ctx", {}).get("error", first["msg"])
        return InvalidInput(f"malformed JSON: {detail}", file=file, line=line)
    field = _field_path(first["loc"])
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field (put extra data under 'metadata')"
    elif first["type"] == "missing":
        message = "required field is missing"
    elif "input" in first and first["type"] not in {"value_error"}:
        message = f"{message} (got {_short(first['input'])})"
    return InvalidInput(message.removeprefix("Value error, "), file=file, line=line, field=field)


def _field_path(loc: tuple[int | str, ...]) -> str | None:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in {"function-after[_one_given()]", "function-after[_score_or_error()]"}:
            continue
        elif not str(item).startswith(("function-", "list[", "dict[")) and "[" not in str(item):
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts) or None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_cell(text: str, path: Path, line: int) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"malformed JSON in the cell: {exc.msg}", file=str(path), line=line, field="metadata"
        ) from None


class _LineCounter:
    """Feeds csv its lines and remembers the number of the last one read."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self._lines = lines
        self.last = 0

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        number, text = next(self._lines)
        self.last = number
        return text
