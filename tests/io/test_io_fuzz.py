"""Fuzzing the import formats (issue 12): random and mutated dataset folders, JSON Lines and
CSV files either import, or fail with InvalidInput naming the file, and change nothing.
Any other exception (a traceback) fails the test; Hypothesis shrinks it to a small file."""

from __future__ import annotations

import csv
import io
import itertools
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from tests.io.io_support import snapshot

from rubricate import InvalidInput, Rubricate
from rubricate.io.writers import FLAT_COLUMNS

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_names = itertools.count()

# --- values: mostly plausible, sometimes anything ------------------------------------------

ODD_TEXT = st.sampled_from(
    ["", " ", "\x00", "\ud800", "=1+1", "é", "a/b", "\r\n", '"', "'", "{", "x" * 300, "1e999"]
)
TEXT = st.one_of(*[st.text(max_size=12)] * 6, ODD_TEXT)
NUMBER = (
    st.integers(-3, 8)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([10**400, 1e300, -0.0, 2.5])
)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBER | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)


def anything(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a plausible value, sometimes any JSON at all."""
    return st.one_of(*[plausible] * 12, JSON)


def deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


METRICS = st.sampled_from(["m1", "m2", "labels", "ghost"])
SCALES = anything(
    st.sampled_from(
        [
            {"type": "ordinal", "min": 1, "max": 5},
            {"type": "interval", "min": 0, "max": 1},
            {"type": "labels", "labels": {"0": "fail", "1": "pass"}},
            {"type": "ordinal", "min": 0, "max": 10**12},
            {"type": "ordinal", "min": 5, "max": 1},
            {"type": "labels", "labels": {str(i): f"l{i}" for i in range(300)}},
        ]
    )
)
CRITERION = st.fixed_dictionaries(
    {"name": anything(METRICS), "scale": SCALES},
    optional={"description": anything(TEXT), "weight": JSON},
)
MANIFEST = st.fixed_dictionaries(
    {"criteria": anything(st.lists(CRITERION, max_size=3))},
    optional={"name": anything(TEXT), "task": anything(TEXT), "rows": JSON},
)
SCORE = st.fixed_dictionaries(
    {},
    optional={
        "annotator": anything(st.sampled_from(["ana", "bo", ""])),
        "score": anything(NUMBER),
        "label": anything(st.sampled_from(["pass", "fail", "nope"])),
        "comment": anything(TEXT),
        "model": anything(st.sampled_from(["fake:judge", "x"])),
        "rationale": anything(TEXT),
    },
)
ROW = st.fixed_dictionaries(
    {"id": anything(st.sampled_from(["r1", "r2", "r3", 7])), "input": anything(TEXT)},
    optional={
        "output": anything(TEXT),
        "context": anything(TEXT),
        "expected": anything(TEXT),
        "metadata": anything(
            st.dictionaries(TEXT, JSON, max_size=3) | st.sampled_from([deep(40), deep(3)])
        ),
        "annotations": anything(st.dictionaries(METRICS, st.lists(SCORE, max_size=2), max_size=2)),
        "judge": anything(st.dictionaries(METRICS, SCORE | st.lists(SCORE, max_size=2))),
        "extra": JSON,
    },
)


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """The text, sometimes cut short, or with a few characters put in or taken out."""
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + draw(st.text(max_size=3) | ODD_TEXT) + text[at + cut :]
    return text


def jsonl(records: list[Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


# --- running one import ----------------------------------------------------------------


def attempt(rb: Rubricate, write: Callable[[Path], Path]) -> None:
    """Import what ``write`` made: a success, or InvalidInput naming its file, with the
    database as it was."""
    with tempfile.TemporaryDirectory(prefix="rubricate-fuzz-") as tmp:
        path = write(Path(tmp))
        before = snapshot(rb)
        try:
            rb.import_path(path, f"fuzz-{next(_names)}")
            note("imported")
        except InvalidInput as error:
            note("refused, line named" if error.line is not None else "refused")
            assert error.file is not None or error.field is not None, str(error)
            assert str(error).strip()
            str(error).encode("utf-8")  # printable, and storable as JSON by the API
            assert snapshot(rb) == before, f"changed by a refused import: {error}"


def note(outcome: str) -> None:
    if currently_in_test_context():  # shown by --hypothesis-show-statistics
        event(outcome)


def write_text(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


@FUZZ
@given(
    manifest=MANIFEST,
    rows=st.lists(ROW, max_size=4),
    data=st.data(),
)
def test_fuzz_dataset_folders(rb: Rubricate, manifest: Any, rows: list[Any], data: Any) -> None:
    manifest_text = data.draw(mutated(json.dumps(manifest, indent=2)), label="dataset.json")
    rows_text = data.draw(mutated(jsonl(rows)), label="rows.jsonl")

    def write(folder: Path) -> Path:
        dataset = folder / "data"
        dataset.mkdir()
        write_text(dataset / "dataset.json", manifest_text)
        write_text(dataset / "rows.jsonl", rows_text)
        return dataset

    attempt(rb, write)


FLAT_ROW = st.fixed_dictionaries(
    {"id": anything(st.sampled_from(["r1", "r2", "r3", 7])), "input": anything(TEXT)},
    optional={
        "output": anything(TEXT),
        "context": anything(TEXT),
        "metadata": anything(st.dictionaries(TEXT, JSON, max_size=3)),
    },
)


@FUZZ
@given(rows=st.lists(FLAT_ROW | ROW, max_size=4), data=st.data())
def test_fuzz_flat_jsonl(rb: Rubricate, rows: list[Any], data: Any) -> None:
    text = data.draw(mutated(jsonl(rows)), label="rows.jsonl")
    attempt(rb, lambda folder: write_text(folder / "rows.jsonl", text))


KINDS = st.sampled_from(sorted(FLAT_COLUMNS))


@st.composite
def csv_file(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(KINDS)
    known = FLAT_COLUMNS[kind] + (["label"] if kind != "rows" else [])
    header = draw(
        st.lists(st.sampled_from(known) | TEXT, min_size=1, max_size=len(known) + 1)
        | st.permutations(known)
    )
    cell = anything(
        st.sampled_from(["r1", "r2", "m1", "labels", "ana", "3", "pass", "-1", "'=x", "{}"])
        | TEXT
        | st.builds(json.dumps, JSON)
    )
    rows = draw(st.lists(st.lists(cell, max_size=len(header) + 1), max_size=4))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[c if isinstance(c, str) else json.dumps(c) for c in r] for r in rows])
    return kind, draw(mutated(buffer.getvalue()))


@FUZZ
@given(files=st.lists(csv_file(), min_size=1, max_size=3, unique_by=lambda f: f[0]))
def test_fuzz_flat_csv(rb: Rubricate, files: list[tuple[str, str]]) -> None:
    rb.metrics.list()  # the built-in metrics exist

    def write(folder: Path) -> Path:
        for kind, text in files:
            write_text(folder / f"{kind}.csv", text)
        return folder if len(files) > 1 else folder / f"{files[0][0]}.csv"

    attempt(rb, write)


@FUZZ
@given(raw=st.binary(max_size=200), name=st.sampled_from(["rows.jsonl", "rows.csv", "dataset"]))
def test_fuzz_any_bytes(rb: Rubricate, raw: bytes, name: str) -> None:
    def write(folder: Path) -> Path:
        if name == "dataset":
            (folder / "dataset.json").write_bytes(raw)
            (folder / "rows.jsonl").write_bytes(raw)
            return folder
        (folder / name).write_bytes(raw)
        return folder / name

    attempt(rb, write)


@pytest.mark.parametrize("depth", [40, 2_000, 100_000])
def test_a_deep_manifest_is_refused_cleanly(rb: Rubricate, tmp_path: Path, depth: int) -> None:
    task = '{"a": ' * depth + "1" + "}" * depth
    criteria = '[{"name": "m1", "scale": {"type": "ordinal", "min": 1, "max": 5}}]'
    text = '{"criteria": ' + criteria + ', "task": ' + task + "}"
    (tmp_path / "dataset.json").write_text(text, encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text('{"id": "r1", "input": "q", "output": "a"}\n')
    attempt(rb, lambda _folder: tmp_path)
