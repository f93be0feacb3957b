from __future__ import annotations

import io
import json
import zipfile

from fastapi.testclient import TestClient
from tests.api.api_support import EVALUATION


def _rows(*ids: str) -> bytes:
    lines = [json.dumps({"id": i, "input": f"question {i}", "output": f"answer {i}"}) for i in ids]
    return ("\n".join(lines) + "\n").encode()


def test_import_a_flat_file_once(empty_client: TestClient) -> None:
    url = "/api/v1/evaluations/uploaded/import"
    first = empty_client.post(url, params={"kind": "rows"}, content=_rows("a", "b"))
    assert first.status_code == 200, first.text
    assert first.json()["rows_added"] == 2 and first.json()["evaluation_created"] is True
    again = empty_client.post(url, params={"kind": "rows"}, content=_rows("a", "b"))
    assert again.json()["changed"] is False
    rows = empty_client.get("/api/v1/evaluations/uploaded/rows").json()
    assert [r["id"] for r in rows["items"]] == ["a", "b"]


def test_a_bad_line_is_refused_with_file_line_and_field(empty_client: TestClient) -> None:
    body = _rows("a") + json.dumps({"id": "b", "input": "q"}).encode() + b"\n"
    refused = empty_client.post(
        "/api/v1/evaluations/broken/import", params={"kind": "rows"}, content=body
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["file"] == "rows.jsonl" and error["line"] == 2 and error["field"] == "output"
    assert empty_client.get("/api/v1/evaluations/broken").status_code == 404  # nothing written
    no_kind = empty_client.post("/api/v1/evaluations/x/import", content=_rows("a"))
    assert no_kind.status_code == 422 and no_kind.json()["error"]["field"] == "kind"
    not_zip = empty_client.post(
        "/api/v1/evaluations/x/import", params={"format": "zip"}, content=b"nope"
    )
    assert not_zip.status_code == 422 and not_zip.json()["error"]["field"] == "body"


def test_export_then_import_the_archive(client: TestClient) -> None:
    exported = client.get(f"/api/v1/evaluations/{EVALUATION}/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert sorted(names) == [f"{EVALUATION}/dataset.json", f"{EVALUATION}/rows.jsonl"]
    copied = client.post(
        "/api/v1/evaluations/copy/import", params={"format": "zip"}, content=exported.content
    )
    assert copied.status_code == 200, copied.text
    assert copied.json()["rows_added"] == 48
    shown = client.get("/api/v1/evaluations/copy").json()
    assert {c["metric"] for c in shown["metrics"]} == {"answer_helpfulness", "policy_compliance"}
    as_csv = client.get(f"/api/v1/evaluations/{EVALUATION}/export", params={"layout": "csv"})
    assert f"{EVALUATION}/rows.csv" in zipfile.ZipFile(io.BytesIO(as_csv.content)).namelist()
    assert client.get("/api/v1/evaluations/nope/export").status_code == 404


def test_unsafe_archives_are_refused(empty_client: TestClient) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil/rows.jsonl", _rows("a"))
    refused = empty_client.post(
        "/api/v1/evaluations/x/import", params={"format": "zip"}, content=buffer.getvalue()
    )
    assert refused.status_code == 422 and "unsafe path" in refused.json()["error"]["message"]
