"""The connectors from the REST API: only to the hosts an admin named in the settings
(``[connections.NAME]``), never to a location a caller gives; keys only from the
environment variables a connection names, and never in an answer or a log line. Langfuse
through the contract fake (rubricate.testing.fake_langfuse); MLflow's settings checks and an
unreachable server (no tracking server can run here)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from pydantic import ValidationError
from tests.api.api_support import TOKEN
from tests.integrations.connections_support import (
    LANGFUSE,
    MLFLOW,
    PUBLIC,
    PUBLIC_VAR,
    SECRET,
    SECRET_VAR,
    configured,
)

from rubricate import Rubricate, Settings
from rubricate.api import create_app
from rubricate.testing import fake_langfuse
from rubricate.testing.fake_langfuse import FakeLangfuse, RunningLangfuse, running

IMPORT, EXPORT = f"/api/v1/connections/{LANGFUSE}/import", f"/api/v1/connections/{LANGFUSE}/export"


@dataclass
class Served:
    """The API over a workspace whose settings name the fake Langfuse and an MLflow server
    that is down; the admin's client, a reviewer's, and every answer they were given."""

    rb: Rubricate
    fake: FakeLangfuse
    server: RunningLangfuse
    admin: TestClient
    reviewer: TestClient
    answers: list[Response]

    def post(self, url: str, body: Any, *, client: TestClient | None = None) -> Response:
        answer = (client or self.admin).post(url, json=body)
        self.answers.append(answer)
        return answer

    def get(self, url: str, *, client: TestClient | None = None) -> Response:
        answer = (client or self.admin).get(url)
        self.answers.append(answer)
        return answer


@pytest.fixture
def served(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    with configured(database_url, monkeypatch) as remote:
        rb = remote.rb
        rb.users.add("rex", "reviewer", "a long enough password")
        token = rb.users.new_token("rex")
        app = create_app(rb, tokens={TOKEN: "ops"})
        with (
            TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as admin,
            TestClient(app, headers={"Authorization": f"Bearer {token}"}) as reviewer,
        ):
            yield Served(rb, remote.fake, remote.server, admin, reviewer, [])


def _echoing(query: dict[str, str]) -> dict[str, Any]:
    raise fake_langfuse._Invalid(f"bad keys {PUBLIC}:{SECRET}")


def _shown(answer: Response) -> str:
    return answer.text + json.dumps(dict(answer.headers))


def test_keys_never_appear_in_an_answer_or_a_log_line(
    served: Served, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    served.get("/api/v1/connections")
    served.post(IMPORT, {"score": "tone", "dry_run": True})
    served.post(IMPORT, {"score": "tone"})
    served.post(IMPORT, {"score": "no-such-score"})
    served.post(EXPORT, {"metric": "tone", "label": "staging"})
    served.post(EXPORT, {"metric": "tone", "scores": "langfuse-tone"})
    served.post(IMPORT, {"score": "tone", "host": "http://elsewhere.example"})
    with pytest.MonkeyPatch.context() as patch:  # a server that repeats the keys it got
        patch.setattr(served.fake, "list_scores", _echoing)
        echoed = served.post(IMPORT, {"score": "tone"})
    assert echoed.status_code == 503 and "400" in echoed.json()["error"]["message"]
    monkeypatch.setenv(SECRET_VAR, "sk-lf-wrong-" + SECRET)  # the server refuses it: 401
    refused = served.post(IMPORT, {"score": "tone"})
    assert refused.status_code == 503, refused.text
    message = refused.json()["error"]["message"]
    assert "401" in message and SECRET_VAR in message and PUBLIC_VAR in message
    assert "LANGFUSE_SECRET_KEY" not in message  # the variables this connection names
    monkeypatch.delenv(PUBLIC_VAR)
    unset = served.post(IMPORT, {"score": "tone"})
    assert unset.status_code == 503 and PUBLIC_VAR in unset.json()["error"]["message"]
    assert len(served.answers) == 10
    for key in (PUBLIC, SECRET):
        for answer in served.answers:
            assert key not in _shown(answer), answer.text
        assert key not in caplog.text
        assert all(key not in str(record.args) for record in caplog.records)


def test_a_reviewer_may_not_use_a_connection(served: Served) -> None:
    calls = [
        served.get("/api/v1/connections", client=served.reviewer),
        served.post(IMPORT, {"score": "tone"}, client=served.reviewer),
        served.post(EXPORT, {"metric": "tone"}, client=served.reviewer),
        served.post(
            f"/api/v1/connections/{MLFLOW}/import", {"experiment": "x"}, client=served.reviewer
        ),
    ]
    assert [answer.status_code for answer in calls] == [403] * 4
    assert "only an admin" in calls[1].json()["error"]["message"]
    assert served.fake.requests == []  # nothing reached Langfuse


def test_the_connections_are_listed_without_keys(served: Served) -> None:
    listed = served.get("/api/v1/connections")
    assert listed.status_code == 200, listed.text
    items = {item["name"]: item for item in listed.json()["items"]}
    assert list(items) == [LANGFUSE, MLFLOW]
    lf = items[LANGFUSE]
    assert (lf["kind"], lf["host"], lf["ready"]) == ("langfuse", served.server.host, True)
    assert lf["keys"] == [
        {"variable": PUBLIC_VAR, "set": True, "required": True},
        {"variable": SECRET_VAR, "set": True, "required": True},
    ]
    assert items[MLFLOW]["kind"] == "mlflow" and items[MLFLOW]["host"].startswith("http://")
    assert {k["variable"] for k in items[MLFLOW]["keys"]} >= {"MLFLOW_TRACKING_TOKEN"}


def test_an_unknown_connection_lists_the_configured_ones(served: Served) -> None:
    for name in ("staging-langfuse", "evil.example:80"):
        answer = served.post(f"/api/v1/connections/{name}/import", {"score": "tone"})
        assert answer.status_code == 404, answer.text
        message = answer.json()["error"]["message"]
        assert LANGFUSE in message and MLFLOW in message
    assert served.fake.requests == []


@pytest.mark.parametrize(
    "field", ["host", "url", "base_url", "tracking_uri", "connection", "endpoint", "headers"]
)
def test_a_caller_cannot_name_a_location(served: Served, field: str) -> None:
    with running(FakeLangfuse(public_key=PUBLIC, secret_key=SECRET)) as elsewhere:
        mlflow = f"/api/v1/connections/{MLFLOW}/import"
        asked = [(IMPORT, {"score": "tone"}), (EXPORT, {"metric": "tone"}),
                 (mlflow, {"experiment": "x"})]  # fmt: skip
        for url, body in asked:
            answer = served.post(url, body | {field: elsewhere.host})
            assert answer.status_code == 422, answer.text
            assert answer.json()["error"]["field"] == field
            assert "not a field" in answer.json()["error"]["message"]
        assert elsewhere.fake.requests == [] and served.fake.requests == []
    assert served.rb.evaluations.list() == []


def test_an_import_from_langfuse_after_a_dry_run(served: Served) -> None:
    dry = served.post(IMPORT, {"score": "tone", "dry_run": True})
    assert dry.status_code == 200, dry.text
    counted = dry.json()
    assert (counted["dry_run"], counted["rows_added"], counted["annotations_added"]) == (True, 2, 4)
    assert counted["host"] == served.server.host and counted["scores_read"] == 8
    assert served.rb.evaluations.list() == []  # nothing kept
    done = served.post(IMPORT, {"score": "tone", "evaluation": "from-langfuse"}).json()
    assert (done["evaluation"], done["rows_added"], done["judge_results_added"]) == (
        "from-langfuse", 2, 2,
    )  # fmt: skip
    again = served.post(IMPORT, {"score": "tone", "evaluation": "from-langfuse"}).json()
    assert again["changed"] is False and again["rows_unchanged"] == 2


def test_langfuse_errors_name_what_to_fix(served: Served) -> None:
    unknown = served.post(IMPORT, {"score": "Tone"})
    assert unknown.status_code == 404
    assert "tone" in unknown.json()["error"]["message"]  # the names Langfuse has
    window = served.post(IMPORT, {"score": "tone", "from": "2025-06-01", "to": "2025-05-01"})
    assert window.status_code == 422 and window.json()["error"]["field"] == "from"
    bad_time = served.post(IMPORT, {"score": "tone", "to": "yesterday"})
    assert bad_time.status_code == 422 and bad_time.json()["error"]["field"] == "to"
    wrong_kind = served.post(IMPORT, {"experiment": "support-bot"})
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["error"]["field"] == "experiment"
    assert "score" in wrong_kind.json()["error"]["message"]  # what a Langfuse import takes
    missing = served.post(IMPORT, {})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "score"
    not_object = served.admin.post(IMPORT, json=["score"])
    assert not_object.status_code == 422


def test_an_export_to_langfuse(served: Served) -> None:
    served.post(IMPORT, {"score": "tone"})
    served.rb.metrics.add_version("tone", prompt="Rate the tone.\nQ: {{ input }}\nA: {{ output }}")
    answer = served.post(EXPORT, {"metric": "tone", "label": "staging", "prompt_type": "chat"})
    assert answer.status_code == 200, answer.text
    prompt = answer.json()["prompt"]
    assert (prompt["created"], prompt["version"], prompt["label"]) == (True, 2, "staging")
    assert prompt["host"] == served.server.host and answer.json()["scores"] is None
    (stored,) = served.fake.prompts["tone"]
    assert stored["labels"][0] == "staging" and stored["type"] == "chat"
    again = served.post(EXPORT, {"metric": "tone", "label": "staging", "prompt_type": "chat"})
    assert again.json()["prompt"]["created"] is False
    unscored = served.post(EXPORT, {"metric": "tone", "scores": "langfuse-tone"})
    assert unscored.status_code == 404  # no judge scores of version 2 yet: the message says how
    assert "rubricate evaluate" in unscored.json()["error"]["message"]
    orphan = served.post(EXPORT, {"metric": "tone", "score_name": "x"})
    assert orphan.status_code == 422 and orphan.json()["error"]["field"] == "score_name"
    assert served.post(EXPORT, {"metric": "nope"}).status_code == 404


def test_mlflow_connections_take_http_only(database_url: str) -> None:
    for uri in ("sqlite:///mlflow.db", "file:///srv/mlruns", "./mlruns", "databricks"):
        with pytest.raises(ValidationError) as refused:
            Settings(database_url=database_url,
                     connections={"team": {"kind": "mlflow", "tracking_uri": uri}})  # fmt: skip
        message = str(refused.value)
        assert "connections.team.tracking_uri" in message and "http(s)" in message
        assert "command line" in message  # where such a store may still be used
    with pytest.raises(ValidationError) as carried:
        Settings(connections={"team": {"kind": "mlflow", "tracking_uri": "http://u:hunter2@h"}})
    assert "user or password" in str(carried.value) and "hunter2" not in str(carried.value)
    with pytest.raises(ValidationError) as keyed:
        Settings(connections={"lf": {"kind": "langfuse", "host": "https://h",
                                     "secret_key": "sk-lf-written-down"}})  # fmt: skip
    assert "secret_key_env" in str(keyed.value) and "sk-lf-written" not in str(keyed.value)
    with pytest.raises(ValidationError, match="connection name 'Prod LF'"):
        Settings(connections={"Prod LF": {"kind": "langfuse", "host": "https://h"}})
    with pytest.raises(ValidationError, match="public_key_env"):
        Settings(connections={"lf": {"kind": "langfuse", "host": "https://h",
                                     "public_key_env": "not a variable"}})  # fmt: skip
    fine = Settings(connections={"team": {"kind": "mlflow", "tracking_uri": "https://m.example/"}})
    assert fine.connections["team"].location == "https://m.example"


def test_an_unreachable_mlflow_server_is_named(served: Served) -> None:
    pytest.importorskip("mlflow")
    url = f"/api/v1/connections/{MLFLOW}"
    down = served.post(f"{url}/import", {"experiment": "support-bot", "dry_run": True})
    assert down.status_code == 503, down.text
    host = served.rb.settings.connections[MLFLOW].location
    assert host in down.json()["error"]["message"]
    export = served.post(f"{url}/export", {"metric": "answer_relevance", "alias": "staging"})
    assert export.status_code == 503 and host in export.json()["error"]["message"]
    wrong = served.post(f"{url}/import", {"score": "tone"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "score"
    dry_alone = served.post(f"{url}/export", {"metric": "answer_relevance", "dry_run": True})
    assert dry_alone.status_code == 422 and dry_alone.json()["error"]["field"] == "dry_run"
