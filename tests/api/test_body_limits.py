"""Body size limits per route (rubricate.limits): a JSON write, a web form and an upload
each have their own; a larger body is refused with 413 before it is read past the limit,
whether it declares its Content-Length or streams in chunks (a 200 MB prompt was once
read whole)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import FastAPI
from tests.api.api_support import EVALUATION, TOKEN

from rubricate import Rubricate
from rubricate.api import create_app
from rubricate.api.bodies import body_limit
from rubricate.limits import BODY_MAX_FORM, BODY_MAX_JSON, BODY_MAX_UPLOAD, KIB, MIB
from rubricate.web.app import create_server_app

CHUNK = 64 * KIB


def call(
    app: FastAPI,
    method: str,
    path: str,
    size: int,
    *,
    declared: bool,
    query: str = "",
    kind: bytes = b"application/json",
) -> tuple[int, dict[str, Any], int]:
    """Send ``size`` bytes (of a JSON string) in chunks; the status, the JSON answer and
    how many bytes the server pulled."""
    pulled = 0
    sent: list[dict[str, Any]] = []
    chunk = b"a" * CHUNK

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= size:
            return {"type": "http.request", "body": b"", "more_body": False}
        body = chunk[: min(CHUNK, size - pulled)]
        pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": pulled < size}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"host", b"testserver"), (b"authorization", f"Bearer {TOKEN}".encode())]
    headers.append((b"content-type", kind))
    if declared:
        headers.append((b"content-length", str(size).encode()))
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    answer = json.loads(body) if body.startswith(b"{") else {"page": body.decode()}
    return start["status"], answer, pulled


@pytest.fixture
def app(demo: Rubricate) -> FastAPI:
    return create_app(demo, tokens={TOKEN: "ops"})


def test_the_limits_per_route() -> None:
    assert body_limit("/api/v1/metrics") == BODY_MAX_JSON
    assert body_limit(f"/api/v1/evaluations/{EVALUATION}/import") == BODY_MAX_UPLOAD
    assert body_limit("/metrics/x/versions") == BODY_MAX_FORM
    assert BODY_MAX_FORM < BODY_MAX_JSON < BODY_MAX_UPLOAD


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_huge_prompt_is_refused_before_it_is_read(app: FastAPI, declared: bool) -> None:
    size = BODY_MAX_JSON + 4 * MIB
    status, answer, pulled = call(app, "POST", "/api/v1/metrics", size, declared=declared)
    assert status == 413
    assert answer["error"]["field"] == "body"
    assert f"({BODY_MAX_JSON} bytes)" in answer["error"]["message"]
    assert pulled == 0 if declared else pulled <= BODY_MAX_JSON + CHUNK


def test_an_upload_may_be_larger_than_a_json_body(app: FastAPI) -> None:
    path = "/api/v1/evaluations/big/import"
    size = BODY_MAX_JSON + MIB  # not JSON lines: refused for its content, not its size
    status, answer, pulled = call(app, "POST", path, size, declared=False, query="kind=rows")
    assert status == 422, answer
    assert pulled == size
    status, _, pulled = call(app, "POST", path, BODY_MAX_UPLOAD + 1, declared=True)
    assert (status, pulled) == (413, 0)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_huge_web_form_is_refused(demo: Rubricate, declared: bool) -> None:
    web = create_server_app(demo, tokens={})
    size = BODY_MAX_FORM + MIB
    form = b"application/x-www-form-urlencoded"
    status, answer, pulled = call(
        web, "POST", "/metrics/x/versions", size, declared=declared, kind=form
    )
    assert status == 413
    assert "larger than this route accepts" in str(answer)
    assert pulled <= BODY_MAX_FORM + CHUNK
