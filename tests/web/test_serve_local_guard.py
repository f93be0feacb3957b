"""`rubricate serve` on loopback with no accounts, probed over real HTTP as another web
site would: a rebound Host and a cross-origin write are refused, a write needs the token
the server printed at start, and a chunked body past the JSON limit is cut off with 413."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.web.browser_support import serving

from rubricate import Rubricate
from rubricate.limits import BODY_MAX_JSON, MIB

METRIC = "answer_helpfulness"


@pytest.fixture
def served(demo: Rubricate, database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "serve.log"
    with serving(database_url, log) as url:
        yield url, log


def _request(
    url: str, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, object]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        # the server may answer and close while the body is still being sent
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
    finally:
        connection.close()
    return answer.status, json.loads(data) if data.startswith(b"{") else {}


def test_a_local_server_refuses_other_sites(served: tuple[str, Path]) -> None:
    url, log = served
    found = re.search(r"API token of this local server \(for writes\): (\S+)", log.read_text())
    assert found, log.read_text()
    token = found[1]
    pin = f"/api/v1/metrics/{METRIC}/pin"
    body = json.dumps({"version": 1}).encode()
    json_type = "application/json"
    status, _ = _request(url, "GET", "/api/v1/metrics", Host="attacker.example")
    assert status == 403
    status, _ = _request(url, "PUT", pin, body, **{"Content-Type": json_type})
    assert status == 401
    status, _ = _request(
        url, "PUT", pin, body, Origin="http://attacker.example", Authorization=f"Bearer {token}"
    )
    assert status == 403
    status, _ = _request(
        url, "PUT", pin, body, **{"Content-Type": json_type, "Authorization": f"Bearer {token}"}
    )
    assert status == 200


def test_a_chunked_body_past_the_limit_is_cut_off(served: tuple[str, Path]) -> None:
    url, log = served
    found = re.search(r"API token of this local server \(for writes\): (\S+)", log.read_text())
    assert found
    chunks = (b"a" * MIB for _ in range(BODY_MAX_JSON // MIB + 8))  # streamed, no length
    status, answer = _request(
        url,
        "POST",
        "/api/v1/metrics",
        chunks,  # type: ignore[arg-type]
        **{"Content-Type": "application/json", "Authorization": f"Bearer {found[1]}"},
    )
    assert status == 413, answer
