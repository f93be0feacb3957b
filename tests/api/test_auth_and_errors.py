from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from tests.api.api_support import LOCAL_URL, TOKEN

from rubricate import Rubricate
from rubricate.api import create_app
from rubricate.api.app import tokens_from_env
from rubricate.domain.errors import InvalidInput


def test_a_token_is_required(demo: Rubricate) -> None:
    with TestClient(create_app(demo, tokens={TOKEN: "ana"})) as client:
        missing = client.get("/api/v1/metrics")
        wrong = client.get("/api/v1/metrics", headers={"Authorization": "Bearer nope"})
        right = client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("an API token is required")
    assert wrong.status_code == 401
    assert TOKEN not in wrong.text and "nope" not in wrong.text
    assert right.status_code == 200


def test_no_tokens_means_no_access_unless_single_user(demo: Rubricate) -> None:
    with TestClient(create_app(demo, tokens={})) as client:
        assert client.get("/api/v1/metrics").status_code == 401
    with TestClient(create_app(demo, single_user=True), base_url=LOCAL_URL) as client:
        assert client.get("/api/v1/metrics").status_code == 200


def test_tokens_from_the_environment() -> None:
    assert tokens_from_env("ana:abc, ci:def") == {"abc": "ana", "def": "ci"}
    assert tokens_from_env("") == {}
    try:
        tokens_from_env("just-a-token")
    except InvalidInput as error:
        assert error.field == "RUBRICATE_API_TOKENS"
    else:
        raise AssertionError("a token without a name is refused")


def test_tokens_are_not_kept_in_clear(demo: Rubricate) -> None:
    app = create_app(demo, tokens={TOKEN: "ana"})
    assert TOKEN not in repr(vars(app.state.tokens))


def test_errors_are_json_with_the_field(client: TestClient) -> None:
    missing = client.get("/api/v1/metrics/no-such-metric")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "message": missing.json()["error"]["message"],
            "field": None,
            "file": None,
            "line": None,
        }
    }
    assert "no-such-metric" in missing.json()["error"]["message"]
    bad_limit = client.get("/api/v1/metrics", params={"limit": 501})
    assert bad_limit.status_code == 422
    assert bad_limit.json()["error"]["field"] == "limit"
    bad_body = client.post("/api/v1/metrics", json={"name": "x", "prompt": "p"})
    assert bad_body.status_code == 422
    assert bad_body.json()["error"]["field"] == "scale"


def test_every_error_code_is_declared(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            assert {"401", "422", "503"} <= declared, (method, path)
            if "{" in path:
                assert "404" in declared, (method, path)
            for code in (c for c in declared if not c.startswith("2")):  # errors only
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)


def test_a_database_that_went_away_is_503(demo: Rubricate, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(demo.metrics, "list", broken)
    with TestClient(create_app(demo, single_user=True), base_url=LOCAL_URL) as client:
        answer = client.get("/api/v1/metrics")
    assert answer.status_code == 503
    assert answer.json()["error"]["message"] == "the database cannot be used: connection refused"


def test_unknown_query_parameters_and_nul_characters_are_refused(client: TestClient) -> None:
    typo = client.get("/api/v1/metrics", params={"limt": 5})
    assert typo.status_code == 422 and typo.json()["error"]["field"] == "limt"
    nul_query = client.get("/api/v1/evaluation-runs", params={"evaluation": "a\x00b"})
    assert nul_query.status_code == 422 and nul_query.json()["error"]["field"] == "evaluation"
    nul_body = client.post(
        "/api/v1/metrics",
        json={"name": "t", "scale": {"min": 1, "max": 5}, "prompt": "x\x00"},
    )
    assert nul_body.status_code == 422 and "prompt" in nul_body.json()["error"]["message"]
    not_json = client.post(
        "/api/v1/metrics", content=b"\xff{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
