"""The web UI's and the API's defences: roles (a reviewer cannot resolve, apply a policy or
accept a run, and nothing changes), CSRF tokens, escaping of row text, sign-in (wrong
password, open redirects, a removed user), and the security headers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, SignIn, csrf_of

from rubricate import Rubricate
from rubricate.demo import EVALUATION, align_demo
from rubricate.domain.alignment_runs import RunStatus
from rubricate.testing.datasets import write_dataset_folder
from rubricate.web.app import create_server_app

METRIC = "answer_helpfulness"
PAGE = f"/evaluations/{EVALUATION}"
SCRIPT = "<script>alert(1)</script>"
Snapshot = list[tuple[str, float | None, str | None, list[tuple[str, float, str | None]]]]


def snapshot(rb: Rubricate, metric: str = METRIC) -> Snapshot:
    """Every row's resolution and annotations for ``metric``."""
    return [
        (
            v.row.external_id,
            v.resolved,
            v.resolved_by,
            [(r.annotator, r.score, r.comment) for r in v.reviews],
        )
        for v in rb.evaluation_reads.rows(EVALUATION, metric, limit=500)
    ]


# -- roles -------------------------------------------------------------------------------


def test_a_reviewer_cannot_resolve_a_row(sign_in: SignIn, accounts: Rubricate) -> None:
    rex = sign_in("rex")
    before = snapshot(accounts)
    response = rex.post(
        f"{PAGE}/resolutions",
        data={"row": "sb-003", "metric": METRIC, "value": "1", "csrf_token": csrf_of(rex, PAGE)},
    )
    assert response.status_code == 403
    assert "only an admin can do this" in response.text
    htmx = rex.post(
        f"{PAGE}/resolutions",
        data={"row": "sb-003", "metric": METRIC, "value": "1"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(rex, PAGE)},
    )
    assert htmx.status_code == 403 and htmx.headers["HX-Retarget"] == "#messages"
    assert snapshot(accounts) == before


def test_a_reviewer_cannot_apply_a_policy(sign_in: SignIn, accounts: Rubricate) -> None:
    rex = sign_in("rex")
    before = snapshot(accounts)
    response = rex.post(
        f"{PAGE}/resolve",
        data={
            "metric": METRIC,
            "policy": "unanimous",
            "replace": "true",
            "csrf_token": csrf_of(rex, PAGE),
        },
    )
    assert response.status_code == 403
    assert snapshot(accounts) == before


@pytest.fixture
def aligned(accounts: Rubricate) -> str:
    """The demo's Aligned run of answer_helpfulness (offline engine). It runs in a thread of
    its own: the engine calls asyncio.run(), which refuses to run in a thread with an event
    loop (the browser tests' Playwright keeps one in the main thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        run = pool.submit(align_demo, accounts).result()
    assert run.status is RunStatus.ALIGNED
    return run.id


def test_a_reviewer_cannot_accept_an_alignment_run(
    sign_in: SignIn, accounts: Rubricate, aligned: str
) -> None:
    versions = len(accounts.metrics.versions(METRIC))
    rex = sign_in("rex")
    response = rex.post(
        f"/alignment-runs/{aligned}/accept", data={"csrf_token": csrf_of(rex, PAGE)}
    )
    assert response.status_code == 403
    # and through the API with the reviewer's own token
    token = accounts.users.new_token("rex")
    with TestClient(create_server_app(accounts, tokens={})) as api:
        refused = api.post(
            f"/api/v1/alignment-runs/{aligned}/accept",
            json={},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert refused.status_code == 403
    assert "only an admin can do this" in refused.json()["error"]["message"]
    run = accounts.alignment_runs.get(aligned)
    assert run.status is RunStatus.ALIGNED and run.accepted_version_id is None
    assert len(accounts.metrics.versions(METRIC)) == versions


def test_the_api_lets_only_admins_resolve(accounts: Rubricate) -> None:
    rex, ada = accounts.users.new_token("rex"), accounts.users.new_token("ada")
    base = f"/api/v1/evaluations/{EVALUATION}/metrics/{METRIC}"
    before = snapshot(accounts)
    with TestClient(create_server_app(accounts, tokens={})) as api:

        def post(path: str, token: str, body: dict[str, object]) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return api.post(f"{base}/{path}", json=body, headers=headers).status_code

        assert post("resolutions", rex, {"row": "sb-003", "value": 1}) == 403
        assert post("resolve", rex, {"policy": "unanimous", "replace": True}) == 403
        assert snapshot(accounts) == before
        assert post("resolutions", ada, {"row": "sb-003", "value": 1}) == 200
        assert post("resolve", ada, {"policy": "median"}) == 200
        assert api.post(f"{base}/resolve", json={"policy": "median"}).status_code == 401
    after = {row: (value, by) for row, value, by, _ in snapshot(accounts)}
    assert after["sb-003"] == (1.0, "user:ada")


# -- CSRF --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("annotations", {"row": "sb-003", "metric": METRIC, "score": "1", "comment": "x"}),
        ("resolutions", {"row": "sb-003", "metric": METRIC, "value": "1"}),
        ("resolve", {"metric": METRIC, "policy": "unanimous", "replace": "true"}),
    ],
)
def test_a_form_without_its_csrf_token_is_refused(
    sign_in: SignIn, accounts: Rubricate, path: str, data: dict[str, str]
) -> None:
    ada = sign_in("ada")
    before = snapshot(accounts)
    missing = ada.post(f"{PAGE}/{path}", data=data)
    wrong = ada.post(f"{PAGE}/{path}", data={**data, "csrf_token": "not-the-token"})
    wrong_header = ada.post(
        f"{PAGE}/{path}", data=data, headers={"HX-Request": "true", "X-CSRF-Token": "nope"}
    )
    for response in (missing, wrong, wrong_header):
        assert response.status_code == 403, response.text
        assert "CSRF token is missing or stale" in response.text
    # another session's token is no better
    rex_token = csrf_of(sign_in("rex"), PAGE)
    assert ada.post(f"{PAGE}/{path}", data={**data, "csrf_token": rex_token}).status_code == 403
    assert snapshot(accounts) == before


def test_a_single_user_server_checks_csrf_too(local: TestClient, demo: Rubricate) -> None:
    before = snapshot(demo)
    data = {"row": "sb-003", "metric": METRIC, "value": "1"}
    assert local.post(f"{PAGE}/resolutions", data=data).status_code == 403
    assert snapshot(demo) == before


# -- escaping ----------------------------------------------------------------------------


@pytest.fixture
def hostile(demo: Rubricate, tmp_path: Path) -> str:
    """An evaluation whose row text and comment hold a script."""
    manifest = {
        "name": "hostile",
        "task": f"Task {SCRIPT}",
        "criteria": [{"name": METRIC, "scale": {"type": "ordinal", "min": 1, "max": 5}}],
    }
    row = {
        "id": "x1",
        "input": f"input {SCRIPT}",
        "output": f'output {SCRIPT} "><img src=x onerror=alert(2)>',
        "context": f"context {SCRIPT}",
        "annotations": {METRIC: [{"annotator": "ana", "score": 2, "comment": f"note {SCRIPT}"}]},
        "judge": {METRIC: {"score": 5, "rationale": f"why {SCRIPT}", "model": "fake:judge"}},
    }
    folder = write_dataset_folder(tmp_path / "hostile", manifest, [row])
    demo.import_path(folder, "hostile", description=f"about {SCRIPT}")
    demo.annotations.resolve("hostile", METRIC, "majority")
    return "hostile"


def assert_inert(html: str) -> None:
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html


def test_row_text_is_escaped(local: TestClient, hostile: str) -> None:
    html = local.get(f"/evaluations/{hostile}").text
    assert_inert(html)
    for text in ("input", "output", "context", "note", "why"):
        assert f"{text} &lt;script&gt;" in html
    assert "about &lt;script&gt;" in html
    assert "<script>alert" not in local.get("/evaluations").text
    # the row htmx swaps in after an annotation, with a comment holding a script
    row = local.post(
        f"/evaluations/{hostile}/annotations",
        data={"row": "x1", "metric": METRIC, "score": "3", "comment": SCRIPT},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(local)},
    )
    assert row.status_code == 200
    assert_inert(row.text)
    assert "<script>alert" not in local.get(f"/evaluations/{hostile}").text


# -- signing in --------------------------------------------------------------------------


@pytest.fixture
def server(accounts: Rubricate) -> TestClient:
    return TestClient(create_server_app(accounts, single_user=False), follow_redirects=False)


def test_a_wrong_password_is_refused_with_no_session(server: TestClient) -> None:
    token = csrf_of(server, "/login")
    response = server.post(
        "/login", data={"name": "ada", "password": "wrong password", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Unknown user name or wrong password" in response.text
    unknown = server.post(
        "/login", data={"name": "nobody", "password": PASSWORD, "csrf_token": token}
    )
    assert unknown.status_code == 401
    after = server.get("/metrics")
    assert after.status_code == 303 and after.headers["location"].startswith("/login")


def test_pages_need_signing_in_on_a_server_with_accounts(server: TestClient) -> None:
    for path in ("/metrics", "/evaluations", PAGE):
        response = server.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"
    htmx = server.get(PAGE, headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == "/login"


def test_security_headers_are_on_every_page(server: TestClient, sign_in: SignIn) -> None:
    ada = sign_in("ada")
    for response in (server.get("/login"), ada.get(PAGE), ada.get("/evaluations")):
        headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in policy
            and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        )
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/", "//evil.example/metrics"]
)
def test_sign_in_never_redirects_off_the_server(server: TestClient, target: str) -> None:
    form = server.get("/login", params={"next": target}).text
    assert "evil.example" not in form
    token = csrf_of(server, "/login")
    response = server.post(
        "/login", data={"name": "ada", "password": PASSWORD, "csrf_token": token, "next": target}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_sign_in_goes_back_to_the_page_asked_for(server: TestClient) -> None:
    token = csrf_of(server, "/login")
    response = server.post(
        "/login", data={"name": "rex", "password": PASSWORD, "csrf_token": token, "next": PAGE}
    )
    assert response.headers["location"] == PAGE
    assert server.get(PAGE).status_code == 200


def test_a_removed_users_session_stops_working(sign_in: SignIn, accounts: Rubricate) -> None:
    rex = sign_in("rex")
    token = csrf_of(rex, PAGE)
    assert rex.get(PAGE).status_code == 200
    accounts.users.remove("rex")
    gone = rex.get(PAGE)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    before = snapshot(accounts)
    response = rex.post(
        f"{PAGE}/annotations",
        data={"row": "sb-003", "metric": METRIC, "score": "1", "csrf_token": token},
    )
    assert response.status_code in (303, 403)
    assert snapshot(accounts) == before
