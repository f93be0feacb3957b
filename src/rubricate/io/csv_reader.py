"""The CSV reader of the flat layouts: streamed, every error naming file, line and column."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from rubricate.domain.errors import InvalidInput
from rubricate.io.formulas import restore
from rubricate.io.readers import (
    Line,
    Model,
    check_storable,
    field_of,
    lower_first,
    message_of,
    not_utf8,
    text_lines,
)
from rubricate.io.records import too_deep

_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape kept
_CELL_LIMIT = 2**31 - 1  # csv's default of 128 KiB a cell is too small for long outputs


def read_csv(path: Path, model: type[Model]) -> Iterator[tuple[int, Model]]:
    """Validated records of a CSV file with a header. An empty cell is a missing value
    (an empty text where the field is required); the ``metadata`` column holds JSON."""
    csv.field_size_limit(max(csv.field_size_limit(), _CELL_LIMIT))
    file = str(path)
    lines = _LineFeed(text_lines(path))
    reader = csv.reader(lines, strict=True)
    header = _header(file, lines, reader, model)
    if header is None:
        return
    required = {name for name, info in model.model_fields.items() if info.is_required()}
    while True:
        start = lines.last + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(exc, file, start) from None
        if lines.bad:
            _raise_bad_cell(lines, header, cells, file)
        if not cells:
            continue  # a blank line
        if len(cells) > len(header):
            raise InvalidInput(
                f"{len(cells)} cells, but the header names {len(header)} columns",
                file=file,
                line=start,
                field=f"column {len(header) + 1}",
            )
        values: dict[str, Any] = {
            name: restore(cell)  # a formula that export neutralised
            for name, cell in zip(header, cells, strict=False)
            if cell != "" or name in required
        }
        if "metadata" in values:
            values["metadata"] = _json_cell(values["metadata"], file, start)
        try:
            record = model.model_validate(values)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise InvalidInput(
                message_of(first, model), file=file, line=start, field=field_of(first)
            ) from None
        check_storable(record, file=file, line=start)
        yield start, record


def _header(
    file: str, lines: _LineFeed, reader: Iterator[list[str]], model: type[BaseModel]
) -> list[str] | None:
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return None
    except csv.Error as exc:
        raise _csv_error(exc, file, 1) from None
    if lines.bad:
        raise not_utf8(lines.bad[0], file=file, field=None)
    known = list(model.model_fields)
    for index, name in enumerate(header):
        if name not in known:
            raise InvalidInput(
                f"unknown column {name!r} in the header (columns: {', '.join(known)})",
                file=file,
                line=1,
                field=name or f"column {index + 1}",
            )
        if name in header[:index]:
            raise InvalidInput("column named twice in the header", file=file, line=1, field=name)
    for name, info in model.model_fields.items():
        if info.is_required() and name not in header:
            raise InvalidInput(
                "required column is missing from the header", file=file, line=1, field=name
            )
    return header


def _raise_bad_cell(lines: _LineFeed, header: list[str], cells: list[str], file: str) -> None:
    line = lines.bad[0]
    field = next(
        (name for name, cell in zip(header, cells, strict=False) if _NOT_UTF8.search(cell)),
        None,
    )
    raise not_utf8(line, file=file, field=field)


def _csv_error(exc: csv.Error, file: str, start: int) -> InvalidInput:
    if "unexpected end of data" in str(exc):
        return InvalidInput(
            "a quoted cell is never closed: the record that starts here runs to the end of "
            "the file",
            file=file,
            line=start,
        )
    return InvalidInput(f"malformed CSV: {exc}", file=file, line=start)


def _json_cell(text: str, file: str, line: int) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"malformed JSON in the cell at character {exc.pos + 1}: {lower_first(exc.msg)}",
            file=file,
            line=line,
            field="metadata",
        ) from None
    except RecursionError:  # far deeper than the limit, which the record's model checks
        raise InvalidInput(too_deep(), file=file, line=line, field="metadata") from None


class _LineFeed:
    """Feeds csv its lines; remembers the number of the last one and the lines read since
    that hold bytes that are not UTF-8 (the first of them fails the import)."""

    def __init__(self, lines: Iterator[Line]) -> None:
        self._lines = lines
        self.last = 0
        self.bad: list[Line] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.last = line.number
        if line.bad is not None:
            self.bad.append(line)
        return line.text
