"""The streaming readers on their own: encodings, line ends, CSV cells, JSON positions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rubricate import InvalidInput
from rubricate.io.csv_reader import read_csv
from rubricate.io.jsonpos import field_name, offset_of, path_at
from rubricate.io.readers import read_jsonl
from rubricate.io.records import FlatAnnotation, FlatRow, RowIn


def test_jsonl_with_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    lines = [json.dumps({"id": i, "input": "q", "output": "a"}) for i in (1, 2)]
    path.write_bytes(b"\xef\xbb\xbf" + f"{lines[0]}\r\n\r\n   \n{lines[1]}\r\n".encode())
    assert [(n, r.id) for n, r in read_jsonl(path, FlatRow)] == [(1, "1"), (4, "2")]


def test_readers_stream(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    good = json.dumps({"id": "a", "input": "q", "output": "o"})
    path.write_text(f"{good}\n{good}\nnot json\n", encoding="utf-8")
    records = read_jsonl(path, FlatRow)
    assert next(records)[0] == 1 and next(records)[0] == 2  # read before line 3 is seen
    with pytest.raises(InvalidInput, match=r"rows\.jsonl:3: malformed JSON at column 1"):
        next(records)


def test_csv_cells(tmp_path: Path) -> None:
    long = "x" * 300_000  # beyond csv's default limit of 128 KiB a cell
    path = tmp_path / "rows.csv"
    path.write_bytes(
        "\ufeffid , input,output,context,metadata\r\n"
        f'1,"two\r\nlines","{long}",,\r\n'
        "\r\n"
        '2,,"a ""quoted"" word",c,"{""k"": [1, 2]}"\r\n'.encode()
    )
    first, second = read_csv(path, FlatRow)
    assert (first[0], first[1].input, len(first[1].output)) == (2, "two\r\nlines", 300_000)
    assert (first[1].context, first[1].metadata) == (None, {})  # empty cells are missing
    assert (second[0], second[1].input, second[1].output) == (5, "", 'a "quoted" word')
    assert (second[1].context, second[1].metadata) == ("c", {"k": [1, 2]})


def test_csv_fewer_cells_than_columns(tmp_path: Path) -> None:
    path = tmp_path / "annotations.csv"
    path.write_text("row_id,metric,annotator,score,comment\nr1,m,a,3\nr2,m\n", encoding="utf-8")
    records = read_csv(path, FlatAnnotation)
    assert next(records)[1].comment is None
    with pytest.raises(InvalidInput) as caught:
        next(records)
    assert (caught.value.line, caught.value.field) == (3, "annotator")


def test_an_empty_csv_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("", encoding="utf-8")
    assert list(read_csv(path, FlatRow)) == []


def test_a_bad_byte_in_a_key_or_between_values(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"id": "a", "inp\xffut": "q"}\n')
    with pytest.raises(InvalidInput) as caught:
        list(read_jsonl(path, RowIn))
    assert (caught.value.line, caught.value.field) == (1, "inp\\xffut")  # printable
    assert "byte 0xff at column 17" in caught.value.message
    str(caught.value).encode("utf-8")  # no lone surrogate left in the message


@pytest.mark.parametrize(
    ("text", "at", "path"),
    [
        ('{"id": "a", "output": }', "}", ("output",)),
        ('{"a": {"b": [1, {"c": x}]}}', "x", ("a", "b", 1, "c")),
        ('{"a": [1, 2, 3', None, ("a", 2)),
        ('{"a": "unterminated', None, ("a",)),
        ('{"a": 1 "b": 2}', '"b"', ("a",)),
        ("garbage", "g", ()),
        ('{"a\\"b": [{}, {"c": 1}]}', "1", ('a"b', 1, "c")),
    ],
)
def test_path_at(text: str, at: str | None, path: tuple[str | int, ...]) -> None:
    offset = len(text) if at is None else text.index(at)
    assert path_at(text, offset) == path


def test_offset_of_and_field_name() -> None:
    text = '{\n  "criteria": [\n    {"name": "a"},\n    {"name": "b",\n     "scale": {}}\n  ]\n}'
    assert offset_of(text, ("criteria", 1, "scale")) == text.index('"scale"')
    assert offset_of(text, ("criteria", 1, "scale", "min")) == text.index('"scale"')
    assert offset_of(text, ("criteria", 0, "name")) == text.index('"name"')
    assert field_name(("annotations", "grammar", 1, "score")) == "annotations.grammar[1].score"
    assert field_name(()) is None
