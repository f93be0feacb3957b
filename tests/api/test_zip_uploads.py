"""Zip uploads that lie: a small archive that unpacks to far more than the limit (counted
while streaming, never held whole), a forged size or CRC, too many entries. Each is a 422
naming the entry, never a 500 or memory the size of the unpacked file, and writes
nothing."""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rubricate.api import unzip
from rubricate.domain.errors import InvalidInput
from rubricate.limits import MIB
from rubricate.testing.datasets import zipped

URL = "/api/v1/evaluations/zipped/import"
ROW = json.dumps({"id": "r1", "input": "q", "output": "a"}) + "\n"


def _forged(data: bytes, offset: int, value: int) -> bytes:
    """The archive with a field of its (first) central directory entry replaced."""
    at = data.index(b"PK\x01\x02") + offset
    return data[:at] + struct.pack("<I", value) + data[at + 4 :]


def _import(client: TestClient, body: bytes) -> dict[str, object]:
    answer = client.post(URL, params={"format": "zip"}, content=body)
    assert answer.status_code == 422, answer.text
    error: dict[str, object] = answer.json()["error"]
    return error


def _nothing_imported(client: TestClient) -> None:
    assert client.get("/api/v1/evaluations/zipped").status_code == 404


def test_a_zip_bomb_is_refused_while_streaming(
    empty_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unzip, "ZIP_MAX_UNPACKED_BYTES", 8 * MIB)
    line = b'{"id": "r1", "input": "' + b"a" * (40 * MIB) + b'"}\n'  # one 40 MB line
    body = zipped({"dataset/rows.jsonl": line})
    assert len(body) < MIB
    tracemalloc.start()
    error = _import(empty_client, body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "unpacks to more than" in str(error["message"])
    assert error["file"] == "dataset/rows.jsonl"
    assert peak < 24 * MIB, f"{peak / MIB:.0f} MB held while unpacking"
    _nothing_imported(empty_client)


def test_unpacking_streams_each_entry(tmp_path: Path) -> None:
    body = zipped({"rows.jsonl": b"x" * (64 * MIB)})
    tracemalloc.start()
    unzip.unpack(io.BytesIO(body), tmp_path / "out")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (tmp_path / "out" / "rows.jsonl").stat().st_size == 64 * MIB
    assert peak < 8 * MIB, f"{peak / MIB:.0f} MB held to unpack a 64 MB entry"


def _rows(count: int) -> bytes:
    lines = (json.dumps({"id": f"r{i}", "input": "q", "output": "a"}) for i in range(count))
    return "".join(f"{line}\n" for line in lines).encode()


@pytest.mark.parametrize(
    ("offset", "value", "said"),
    [(16, 0xDEADBEEF, "Bad CRC-32"), (24, 3, "Bad CRC-32")],
    ids=["crc", "size-too-small"],
)
def test_a_forged_size_or_crc_is_invalid_input(
    empty_client: TestClient, offset: int, value: int, said: str
) -> None:
    body = _forged(zipped({"rows.jsonl": _rows(50)}), offset, value)
    error = _import(empty_client, body)
    assert "entry 'rows.jsonl' cannot be unpacked" in str(error["message"])
    assert said in str(error["message"])
    assert error["file"] == "rows.jsonl"
    _nothing_imported(empty_client)


def test_a_size_said_too_large_is_not_believed(empty_client: TestClient) -> None:
    body = _forged(zipped({"rows.jsonl": _rows(50)}), 24, 10**9)  # "1 GB": 50 rows in truth
    answer = empty_client.post(URL, params={"format": "zip", "kind": "rows"}, content=body)
    assert answer.status_code == 200, answer.text
    assert empty_client.get("/api/v1/evaluations/zipped").json()["row_count"] == 50


def test_too_many_entries(empty_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unzip, "ZIP_MAX_ENTRIES", 3)
    body = zipped({f"f{i}.jsonl": b"" for i in range(5)})
    assert "more than 3 entries" in str(_import(empty_client, body)["message"])


def test_not_a_zip_and_a_truncated_zip(tmp_path: Path) -> None:
    whole = zipped({"rows.jsonl": ROW.encode()})
    for body in (b"nope", whole[: len(whole) // 2], whole[:-5]):
        with pytest.raises(InvalidInput, match="not a zip archive"):
            unzip.unpack(io.BytesIO(body), tmp_path / "out")
