"""The Connections page (issue 14, for admins): the connections an admin configured, whether
their key variables are set (never a key), and an Import form per connection through the
REST API's own use case (rubricate.integrations.connections), against the Langfuse contract
fake; and a metric version's Export: every file form, and Send to <connection>."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx2
import pytest
from fastapi.testclient import TestClient
from tests.integrations import connections_support as lf
from tests.web.conftest import PASSWORD, csrf_of
from tests.web.run_pages_support import text_of

from rubricate import Rubricate
from rubricate.domain.errors import NotFound
from rubricate.testing.fake_langfuse import FakeLangfuse, RunningLangfuse
from rubricate.web.app import create_server_app

IMPORT = f"/connections/{lf.LANGFUSE}/import"
SEND = "/metrics/tone/versions/{}/send"


@dataclass
class Site:
    """The web UI over a workspace whose settings name the fake Langfuse and an MLflow
    server that is down; ``signed("ada")`` is a signed-in client; every page it was given."""

    rb: Rubricate
    fake: FakeLangfuse
    server: RunningLangfuse
    signed: Callable[[str], TestClient]
    pages: list[httpx2.Response]

    def post(self, client: TestClient, url: str, **fields: str) -> httpx2.Response:
        answer = client.post(url, data={"csrf_token": csrf_of(client, "/metrics"), **fields})
        self.pages.append(answer)
        return answer

    def get(self, client: TestClient, url: str) -> httpx2.Response:
        answer = client.get(url)
        self.pages.append(answer)
        return answer


@pytest.fixture
def site(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with lf.configured(database_url, monkeypatch) as remote:
        remote.rb.users.add("ada", "admin", PASSWORD)
        remote.rb.users.add("rex", "reviewer", PASSWORD)
        app = create_server_app(remote.rb, single_user=False)
        clients: list[TestClient] = []

        def signed(name: str) -> TestClient:
            client = TestClient(app, follow_redirects=False)
            clients.append(client)
            form = {"name": name, "password": PASSWORD, "csrf_token": csrf_of(client, "/login")}
            assert client.post("/login", data=form).status_code == 303
            return client

        yield Site(remote.rb, remote.fake, remote.server, signed, [])
        for client in clients:
            client.close()


def test_a_reviewer_gets_403_and_no_link(site: Site) -> None:
    rex = site.signed("rex")
    assert 'href="/connections"' not in rex.get("/metrics").text
    assert rex.get("/connections").status_code == 403
    refused = site.post(rex, IMPORT, score="tone")
    assert refused.status_code == 403 and "only an admin" in refused.text
    assert site.fake.requests == [] and site.rb.evaluations.list() == []
    assert 'href="/connections"' in site.signed("ada").get("/metrics").text


def test_the_connections_are_listed_and_keys_never_shown(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = site.signed("ada")
    listed = site.get(ada, "/connections")
    assert listed.status_code == 200
    shown = text_of(listed.text)
    for name in (lf.LANGFUSE, lf.MLFLOW, site.server.host, lf.PUBLIC_VAR, lf.SECRET_VAR,
                 "MLFLOW_TRACKING_TOKEN"):  # fmt: skip
        assert name in shown
    assert f'action="{IMPORT}"' in listed.text and 'name="experiment"' in listed.text
    site.post(ada, IMPORT, score="tone", dry_run="1")
    site.post(ada, IMPORT, score="tone")
    site.post(ada, IMPORT, score="no-such-score")
    monkeypatch.setenv(lf.SECRET_VAR, "sk-lf-wrong-" + lf.SECRET)  # Langfuse refuses it: 401
    refused = site.post(ada, IMPORT, score="tone")
    assert refused.status_code == 503
    said = text_of(refused.text)
    assert "401" in said and lf.PUBLIC_VAR in said and lf.SECRET_VAR in said
    assert "LANGFUSE_SECRET_KEY" not in said  # the variables this connection names
    monkeypatch.delenv(lf.PUBLIC_VAR)
    unset = site.post(ada, IMPORT, score="tone")
    assert unset.status_code == 503 and lf.PUBLIC_VAR in text_of(unset.text)
    assert "not set" in text_of(site.get(ada, "/connections").text)
    for page in site.pages:
        for key in (lf.PUBLIC, lf.SECRET):
            assert key not in page.text


def test_a_dry_run_changes_nothing_then_the_import_makes_the_evaluation(site: Site) -> None:
    ada = site.signed("ada")
    dry = site.post(ada, IMPORT, score="tone", evaluation="from-langfuse", dry_run="1")
    assert dry.status_code == 200, dry.text
    counted = text_of(dry.text)
    assert "Dry run, nothing kept" in counted and "from-langfuse (a new evaluation)" in counted
    assert "2 to add, 0 already there" in counted and "8 scores, 3 traces fetched" in counted
    assert 'value="from-langfuse"' in dry.text  # the form as it was filled in
    with pytest.raises(NotFound):
        site.rb.evaluations.show("from-langfuse")
    done = site.post(ada, IMPORT, score="tone", evaluation="from-langfuse")
    assert done.status_code == 200
    assert 'href="/evaluations/from-langfuse"' in done.text
    assert "Skipped" in text_of(done.text)
    assert site.rb.evaluations.show("from-langfuse").evaluation.row_count == 2
    again = text_of(site.post(ada, IMPORT, score="tone", evaluation="from-langfuse").text)
    assert "Nothing new." in again and "0 added, 2 already there" in again


def test_errors_name_what_to_fix_and_are_escaped(site: Site) -> None:
    ada = site.signed("ada")
    unknown = site.post(ada, IMPORT, score="Tone")
    assert unknown.status_code == 404 and "tone" in text_of(unknown.text)
    window = site.post(ada, IMPORT, score="tone", **{"from": "2025-06-01", "to": "2025-05-01"})
    assert window.status_code == 422 and "from:" in text_of(window.text)
    elsewhere = site.post(ada, IMPORT, score="tone", host="http://elsewhere.example")
    assert elsewhere.status_code == 422 and "not a field" in text_of(elsewhere.text)
    hostile = site.post(ada, IMPORT, score="<img src=x onerror=alert(1)>")
    assert "<img src=x" not in hostile.text and "&lt;img src=x" in hostile.text
    gone = site.post(ada, "/connections/staging/import", score="tone")
    assert gone.status_code == 404 and lf.LANGFUSE in text_of(gone.text)
    assert site.rb.evaluations.list() == []
    without_token = ada.post(IMPORT, data={"score": "tone"})
    assert without_token.status_code == 403


def test_an_unreachable_mlflow_server_is_named(site: Site) -> None:
    pytest.importorskip("mlflow")
    ada = site.signed("ada")
    down = site.post(ada, f"/connections/{lf.MLFLOW}/import", experiment="support-bot", dry_run="1")
    assert down.status_code == 503
    host = site.rb.settings.connections[lf.MLFLOW].location
    assert host in text_of(down.text)
    send = site.post(ada, "/metrics/answer_relevance/versions/1/send", connection=lf.MLFLOW,
                     alias="staging")  # fmt: skip
    assert send.status_code == 503 and host in text_of(send.text)


def test_a_version_exports_in_every_form_and_is_sent(site: Site) -> None:
    ada = site.signed("ada")
    site.post(ada, IMPORT, score="tone")
    site.rb.metrics.add_version("tone", prompt="Rate the tone.\nQ: {{ input }}\nA: {{ output }}")
    metric = ada.get("/metrics/tone").text
    for fmt in ("text", "json", "langfuse", "promptfoo", "mlflow"):
        assert f'href="/metrics/tone/versions/2/export?format={fmt}"' in metric
    judge = json.loads(ada.get("/metrics/tone/versions/2/export?format=mlflow").text)
    assert judge["name"] == "tone" and "{{ inputs }}" in judge["instructions"]
    assert judge["variables"] == ["inputs", "outputs"] and judge["tags"]["rubricate_version"]
    assert f"Send to {lf.LANGFUSE}" in metric and f"Send to {lf.MLFLOW}" in metric
    sent = site.post(ada, SEND.format(2), connection=lf.LANGFUSE, label="staging")
    assert sent.status_code == 303, sent.text
    notice = text_of(ada.get("/metrics/tone").text)
    assert "Sent tone v2 to prod-langfuse: created version 1 of the Langfuse prompt" in notice
    (stored,) = site.fake.prompts["tone"]
    assert stored["labels"][0] == "staging" and stored["type"] == "text"
    site.post(ada, SEND.format(2), connection=lf.LANGFUSE, label="staging")
    assert "Nothing sent to prod-langfuse" in text_of(ada.get("/metrics/tone").text)
    rex = site.signed("rex")
    assert "Send to" not in rex.get("/metrics/tone").text
    assert site.post(rex, SEND.format(2), connection=lf.LANGFUSE).status_code == 403
    unknown = site.post(ada, SEND.format(2), connection="nowhere")
    assert unknown.status_code == 404 and "Not sent to nowhere" in text_of(unknown.text)
    assert len(site.fake.prompts["tone"]) == 1
