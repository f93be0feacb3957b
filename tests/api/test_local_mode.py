"""A single-user server (``rubricate serve``/``demo`` on localhost, no accounts) against
other web sites open in the same browser: a cross-origin ``text/plain`` import, a form
POST that rejects a run, and DNS rebinding (``Host: attacker.example``) are refused and
change nothing; the server's own pages and a script with its token still work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.api.api_support import HELPFUL, LOCAL_TOKEN
from tests.web.conftest import csrf_of

from rubricate import Rubricate
from rubricate.web.app import create_server_app

BASE = "http://127.0.0.1:8000"
ATTACKER = "http://attacker.example"
ROW = b'{"id": "r1", "input": "q", "output": "a"}\n'
IMPORT = "/api/v1/evaluations/planted/import?kind=rows&format=jsonl"


@pytest.fixture
def local(demo: Rubricate) -> Iterator[TestClient]:
    app = create_server_app(demo, single_user=True, local_token=LOCAL_TOKEN, port=8000)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        yield client


def _evaluations(demo: Rubricate) -> list[str]:
    return [e.name for e in demo.evaluations.list()]


def test_a_cross_origin_text_plain_import_is_refused(local: TestClient, demo: Rubricate) -> None:
    before = _evaluations(demo)
    plain = {"Content-Type": "text/plain"}
    cross = local.post(IMPORT, content=ROW, headers={**plain, "Origin": ATTACKER})
    assert cross.status_code == 403, cross.text
    assert "another site" in cross.json()["error"]["message"]
    null_origin = local.post(IMPORT, content=ROW, headers={**plain, "Origin": "null"})
    assert null_origin.status_code == 403
    referer = local.post(IMPORT, content=ROW, headers={**plain, "Referer": f"{ATTACKER}/x"})
    assert referer.status_code == 403
    # no Origin at all (an old browser, a careless script): the token is still needed
    tokenless = local.post(IMPORT, content=ROW, headers=plain)
    assert tokenless.status_code == 401
    assert "needs its token" in tokenless.json()["error"]["message"]
    assert _evaluations(demo) == before


def test_a_cross_origin_form_cannot_reject_a_run(local: TestClient) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    url = "/api/v1/alignment-runs/some-run/reject"
    assert local.post(url, content=b"a=1", headers={**form, "Origin": ATTACKER}).status_code == 403
    assert local.post(url, content=b"a=1", headers=form).status_code == 401
    # with the token the request reaches the route (which knows no such run)
    auth = {"Authorization": f"Bearer {LOCAL_TOKEN}"}
    assert local.post(url, headers=auth).status_code == 404
    # the web form needs its CSRF token, and a cross-origin one is refused before that
    page = local.post("/alignment-runs/some-run/reject", data={}, headers={"Origin": ATTACKER})
    assert page.status_code == 403


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:8000", "127.0.0.1:9999", "localhost.evil:8000"]
)
def test_dns_rebinding_is_refused(local: TestClient, host: str) -> None:
    for path in ("/api/v1/metrics", "/metrics"):
        answer = local.get(path, headers={"Host": host})
        assert answer.status_code == 403, (host, path)
        assert "loopback names" in answer.json()["error"]["message"]


def test_the_servers_own_pages_and_scripts_still_work(local: TestClient, demo: Rubricate) -> None:
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
        assert local.get("/api/v1/metrics", headers={"Host": host}).status_code == 200
    auth = {"Authorization": f"Bearer {LOCAL_TOKEN}"}
    made = local.post(IMPORT, content=ROW, headers={**auth, "Origin": BASE})
    assert made.status_code == 200, made.text
    assert "planted" in _evaluations(demo)
    # the pages' JavaScript sends the session's CSRF token as a header
    token = csrf_of(local, f"/metrics/{HELPFUL}")
    pinned = local.put(
        f"/api/v1/metrics/{HELPFUL}/pin",
        json={"version": 1},
        headers={"X-CSRF-Token": token, "Origin": BASE},
    )
    assert pinned.status_code == 200, pinned.text
    wrong = local.delete(f"/api/v1/metrics/{HELPFUL}/pin", headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 401
