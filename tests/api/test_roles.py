"""Roles, route by route: every route of the API and of the web UI declares who may call
it (a route without a declaration fails here), docs/api.md's roles table is the routes'
own, and a reviewer's token cannot do what only admins may, nor write as someone else.

``RUBRICATE_UPDATE_DOCS=1 pytest tests/api/test_roles.py`` rewrites the table."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.api_support import EVALUATION, HELPFUL, TOKEN

from rubricate import Rubricate
from rubricate.api import create_app
from rubricate.api.roles import roles_table, routes
from rubricate.web.app import create_server_app

DOC = Path(__file__).parents[2] / "docs" / "api.md"
TABLE = re.compile(r"(<!-- roles:begin -->\n)(.*?)(<!-- roles:end -->)", re.S)
PASSWORD = "a long enough password"


def test_every_route_declares_who_may_call_it(rb: Rubricate) -> None:
    app = create_server_app(rb, tokens={})
    undeclared = [f"{method} {path}" for method, path, access in routes(app) if access is None]
    assert undeclared == [], "declare requires(Access.X) on these routes"
    paths = {path for _, path, _ in routes(app)}
    assert "/api/v1/metrics/{name}/versions" in paths and "/metrics/{name}/pin" in paths


def test_a_new_route_without_a_role_is_caught(rb: Rubricate) -> None:
    app = create_server_app(rb, tokens={})

    @app.get("/forgotten")
    def forgotten() -> None:  # declares no role
        return None

    assert ("GET", "/forgotten", None) in list(routes(app))


def test_the_roles_table_in_the_docs_is_generated_from_the_routes(rb: Rubricate) -> None:
    table = roles_table(create_server_app(rb, tokens={}))
    text = DOC.read_text(encoding="utf-8")
    found = TABLE.search(text)
    assert found is not None, "docs/api.md lost its <!-- roles:begin/end --> markers"
    if os.environ.get("RUBRICATE_UPDATE_DOCS"):
        DOC.write_text(TABLE.sub(lambda m: m[1] + table + m[3], text), encoding="utf-8")
        return
    assert found[2] == table, "run RUBRICATE_UPDATE_DOCS=1 pytest tests/api/test_roles.py"


@pytest.fixture
def rex(demo: Rubricate) -> Iterator[TestClient]:
    """The API with a reviewer's own token (and an operator's, TOKEN)."""
    demo.users.add("rex", "reviewer", PASSWORD)
    token = demo.users.new_token("rex")
    app = create_app(demo, tokens={TOKEN: "ops"})
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def test_a_reviewer_cannot_change_what_a_metric_scores(rex: TestClient, demo: Rubricate) -> None:
    before = [(v.number, v.prompt) for v in demo.metrics.versions(HELPFUL)]
    metric = demo.metrics.get(HELPFUL)
    attacks = [
        rex.post(f"/api/v1/metrics/{HELPFUL}/versions", json={"prompt": "Always answer 5"}),
        rex.put(f"/api/v1/metrics/{HELPFUL}/pin", json={"version": 1}),
        rex.delete(f"/api/v1/metrics/{HELPFUL}/pin"),
        rex.post(
            "/api/v1/metrics", json={"name": "m2", "scale": {"min": 1, "max": 5}, "prompt": "x"}
        ),
        rex.post(f"/api/v1/evaluations/{EVALUATION}/import?kind=rows", content=b"{}\n"),
    ]
    for answer in attacks:
        assert answer.status_code == 403, answer.text
        assert "only an admin can do this" in answer.json()["error"]["message"]
        assert "rex is a reviewer" in answer.json()["error"]["message"]
    assert [(v.number, v.prompt) for v in demo.metrics.versions(HELPFUL)] == before
    assert demo.metrics.get(HELPFUL) == metric
    assert rex.get(f"/api/v1/metrics/{HELPFUL}").status_code == 200  # reading is fine


def _scores(demo: Rubricate, row: str) -> dict[str, float]:
    page = demo.evaluation_reads.annotations(EVALUATION, HELPFUL, limit=500, row=row)
    return {a.annotator: a.score for a in page.items}


def test_a_reviewer_cannot_annotate_as_someone_else(rex: TestClient, demo: Rubricate) -> None:
    row = "sb-001"
    before = _scores(demo, row)
    assert before, "the demo row has reviewers' scores"
    other = next(iter(before))
    url = f"/api/v1/evaluations/{EVALUATION}/metrics/{HELPFUL}/annotations"
    forged = rex.post(url, json={"row": row, "annotator": other, "score": 5})
    assert forged.status_code == 403, forged.text
    assert f"annotator must be you ('rex'), not '{other}'" in forged.json()["error"]["message"]
    assert _scores(demo, row) == before
    # as oneself: named or left out
    assert rex.post(url, json={"row": row, "score": 2}).json()["annotator"] == "rex"
    assert rex.post(url, json={"row": row, "annotator": "rex", "score": 3}).status_code == 201
    assert _scores(demo, row) == {**before, "rex": 3}


def test_an_operator_token_may_name_the_annotator(demo: Rubricate) -> None:
    url = f"/api/v1/evaluations/{EVALUATION}/metrics/{HELPFUL}/annotations"
    with TestClient(create_app(demo, tokens={TOKEN: "ops"})) as ops:
        made = ops.post(
            url,
            json={"row": "sb-001", "annotator": "imported-reviewer", "score": 4},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert made.status_code == 201 and made.json()["annotator"] == "imported-reviewer"


def test_an_admin_user_resolves_only_as_themself(demo: Rubricate) -> None:
    demo.users.add("ada", "admin", PASSWORD)
    token = demo.users.new_token("ada")
    url = f"/api/v1/evaluations/{EVALUATION}/metrics/{HELPFUL}/resolutions"
    with TestClient(create_app(demo, tokens={})) as api:
        auth = {"Authorization": f"Bearer {token}"}
        forged = api.post(url, json={"row": "sb-001", "value": 1, "user": "bob"}, headers=auth)
        assert forged.status_code == 403
        own = api.post(url, json={"row": "sb-001", "value": 1}, headers=auth)
    assert own.status_code == 200 and own.json()["resolved_by"] == "user:ada"
