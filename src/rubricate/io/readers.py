"""Streaming readers: one line at a time, every error naming file, line and field."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from rubricate.domain.errors import InvalidInput
from rubricate.io.jsonpos import field_name, line_of, offset_of, path_at
from rubricate.io.records import MANY, ONE, storable_problem, too_deep
from rubricate.limits import DOCUMENT_MAX_BYTES, IMPORT_MAX_LINE_BYTES, MIB

Model = TypeVar("Model", bound=BaseModel)
_PYDANTIC_AT = re.compile(r"line (\d+) column (\d+)")
_TOO_DEEP = "recursion limit exceeded"  # pydantic's JSON parser, on nesting too deep


class Line(NamedTuple):
    number: int
    text: str
    bad: int | None  # where the first byte that is not UTF-8 sits in ``text``, if any


def text_lines(path: Path) -> Iterator[Line]:
    """The lines of a UTF-8 file, decoded one by one: never the whole file in memory.

    A byte that is not UTF-8 is kept (as a lone surrogate) and its place reported in
    ``Line.bad``, so that the reader can name the field it sits in.
    """
    with path.open("rb") as handle:
        for number, raw in enumerate(_raw_lines(handle, path), start=1):
            codec = "utf-8-sig" if number == 1 else "utf-8"
            if number == 1 and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise InvalidInput(
                    "the file is UTF-16 text: save it as UTF-8", file=str(path), line=1
                )
            try:
                line = Line(number, raw.decode(codec), None)
            except UnicodeDecodeError as exc:
                text = raw.decode(codec, errors="surrogateescape")
                line = Line(number, text, len(raw[: exc.start].decode(codec)))
            yield line


def _raw_lines(handle: BinaryIO, path: Path) -> Iterator[bytes]:
    """The file's lines as bytes, none longer than IMPORT_MAX_LINE_BYTES: a longer line is
    refused at its number after reading just past the limit, never held whole."""
    number = 0
    while raw := handle.readline(IMPORT_MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > IMPORT_MAX_LINE_BYTES:
            raise InvalidInput(
                f"the line is longer than {IMPORT_MAX_LINE_BYTES // MIB} MiB",
                file=str(path),
                line=number,
            )
        yield raw


def not_utf8(line: Line, *, file: str, field: str | None) -> InvalidInput:
    at = line.bad or 0
    byte = ord(line.text[at]) - 0xDC00  # surrogateescape keeps byte b as U+DC00 + b
    if field is not None:  # a bad byte in a key: shown as \xff, printable
        field = field.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return InvalidInput(
        f"not UTF-8 text (byte 0x{byte:02x} at column {at + 1}): save the file as UTF-8",
        file=file,
        line=line.number,
        field=field,
    )


def read_jsonl(path: Path, model: type[Model]) -> Iterator[tuple[int, Model]]:
    """Validated records of a JSON Lines file; blank lines are skipped."""
    file = str(path)
    for line in text_lines(path):
        if line.bad is not None:
            raise not_utf8(line, file=file, field=field_name(path_at(line.text, line.bad)))
        if line.text.strip():
            yield line.number, parse_line(model, line.text, file=file, line=line.number)


def parse_line(model: type[Model], text: str, *, file: str, line: int) -> Model:
    try:
        record = model.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] != "json_invalid":
            message = message_of(first, model)
            raise InvalidInput(message, file=file, line=line, field=field_of(first)) from None
        detail, offset = _malformed(text, first)
        if detail.startswith(_TOO_DEEP):  # name the top field: its path is as long
            field = field_name(path_at(text, offset)[:1])
            raise InvalidInput(too_deep(), file=file, line=line, field=field) from None
        raise InvalidInput(
            f"malformed JSON at column {offset + 1}: {detail}",
            file=file,
            line=line,
            field=field_name(path_at(text, offset)),
        ) from None
    if "\\u0000" in text:  # JSON writes NUL so: a cheap test before a walk of the record
        check_storable(record, file=file, line=line)
    elif (metadata := getattr(record, "metadata", None)) and not _plain_json(metadata):
        check_storable(metadata, file=file, line=line, loc=("metadata",))  # inf, nan: here
    return record


def _plain_json(value: object) -> bool:
    """Whether parsed JSON holds no non-finite number (metadata is the only place pydantic
    lets one through unchecked)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_plain_json(item) for item in value.values())
    if isinstance(value, list):
        return all(_plain_json(item) for item in value)
    return True


def check_storable(
    value: object, *, file: str, line: int | None, loc: tuple[int | str, ...] = ()
) -> None:
    """Refuse what the databases cannot store: a NUL character, a non-finite number."""
    problem = storable_problem(value)
    if problem is not None:
        where = field_name((*loc, *problem[0]))
        raise InvalidInput(problem[1], file=file, line=line, field=where)


@dataclass(frozen=True)
class JsonDocument:
    """A whole JSON file (dataset.json), kept as text to tell the line of each field."""

    file: str
    text: str

    def error(self, message: str, loc: Sequence[int | str]) -> InvalidInput:
        offset = offset_of(self.text, loc)
        line = None if offset is None else line_of(self.text, offset)
        return InvalidInput(message, file=self.file, line=line, field=field_name(loc))


def read_json_document(path: Path, model: type[Model]) -> tuple[Model, JsonDocument]:
    """A small JSON document, validated; errors name the line of the field."""
    file, parts = str(path), list[str]()
    if path.stat().st_size > DOCUMENT_MAX_BYTES:
        raise InvalidInput(
            f"the file is larger than {DOCUMENT_MAX_BYTES // MIB} MiB, too large for a "
            "document of this kind",
            file=file,
        )
    for line in text_lines(path):
        if line.bad is not None:
            before = "".join(parts)
            field = field_name(path_at(before + line.text, len(before) + line.bad))
            raise not_utf8(line, file=file, field=field)
        parts.append(line.text)
    document = JsonDocument(file, "".join(parts))
    try:
        record = model.model_validate_json(document.text)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] != "json_invalid":
            raise document.error(message_of(first, model), _loc(first)) from None
        detail, offset = _malformed(document.text, first)
        if detail.startswith(_TOO_DEEP):
            where = path_at(document.text, offset)[:1]
            raise document.error(too_deep(), where) from None
        column = offset - document.text.rfind("\n", 0, offset)
        raise InvalidInput(
            f"malformed JSON at column {column}: {detail}",
            file=file,
            line=line_of(document.text, offset),
            field=field_name(path_at(document.text, offset)),
        ) from None
    problem = storable_problem(record)
    if problem is not None:
        raise document.error(problem[1], problem[0])
    return record, document


def _malformed(text: str, error: ErrorDetails) -> tuple[str, int]:
    """What is wrong with malformed JSON and where (an offset in ``text``)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return lower_first(exc.msg), exc.pos
    except (ValueError, RecursionError):
        pass
    detail = str(error.get("ctx", {}).get("error", error["msg"]))
    found = _PYDANTIC_AT.search(detail)
    offset = 0
    if found:
        line, column = int(found.group(1)), int(found.group(2))
        line_start = 0
        for _ in range(line - 1):
            line_start = text.find("\n", line_start) + 1
        offset = min(line_start + column - 1, len(text))
        detail = detail[: found.start()].removesuffix(" at ")
    return detail, offset


def message_of(error: ErrorDetails, model: type[BaseModel]) -> str:
    kind, loc = error["type"], _loc(error)
    if kind == "extra_forbidden":
        if len(loc) == 1 and "metadata" in model.model_fields:
            return "unknown field (put extra data under 'metadata')"
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind in {"too_short", "string_too_short"} and error["input"] in ("", [], {}):
        return "must not be empty"
    if kind in {"too_long", "string_too_long"}:
        limit = error.get("ctx", {}).get("max_length")
        return f"longer than the limit of {limit} characters (got {_short(error['input'])})"
    message = error["msg"].removeprefix("Value error, ")
    if "input" in error and kind != "value_error":
        message = f"{message} (got {_short(error['input'])})"
    return message


def _loc(error: ErrorDetails) -> tuple[int | str, ...]:
    return tuple(item for item in error["loc"] if item not in {ONE, MANY, "[key]"})


def field_of(error: ErrorDetails) -> str | None:
    return field_name(_loc(error))


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def lower_first(message: str) -> str:
    return message[:1].lower() + message[1:]
