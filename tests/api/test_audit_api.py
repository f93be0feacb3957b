"""/api/v1/audit over HTTP on the demo workspace: changes made through the API are in the
log under the caller's name, newest first and filtered by action; only admins read it;
the export is the whole log as JSON lines in order; annotations say where they came from."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.api.api_support import EVALUATION, HELPFUL, TOKEN

from rubricate import Rubricate
from rubricate.api import create_app
from rubricate.api.audit import LINES_PER_CHUNK
from rubricate.domain.audit import AuditAction
from rubricate.store.audit import record_event

PASSWORD = "a long enough password"
AUDIT = "/api/v1/audit"


@pytest.fixture
def rex(demo: Rubricate) -> Iterator[TestClient]:
    """A reviewer's own token on the same app as ``client``'s operator (admin) token."""
    demo.users.add("rex", "reviewer", PASSWORD)
    token = demo.users.new_token("rex")
    with TestClient(create_app(demo, tokens={TOKEN: "ops"})) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_an_admin_sees_changes_made_through_the_api_under_the_callers_name(
    client: TestClient,
) -> None:
    before = client.get(AUDIT).json()["total"]
    pinned = client.put(f"/api/v1/metrics/{HELPFUL}/pin", json={"version": 1})
    assert pinned.status_code == 200, pinned.text
    resolutions = f"/api/v1/evaluations/{EVALUATION}/metrics/{HELPFUL}/resolutions"
    resolved = client.post(resolutions, json={"row": "sb-001", "value": 2})
    assert resolved.status_code == 200, resolved.text

    page = client.get(AUDIT).json()
    assert page["total"] == before + 2 and page["offset"] == 0 and page["limit"] == 50
    newest, second = page["items"][:2]  # newest first
    assert (newest["actor"], newest["action"], newest["subject"]) == (
        "ana",
        "row.resolved",
        f"row sb-001 of {EVALUATION}",
    )
    assert newest["detail"] == {"metric": HELPFUL, "value": 2.0}
    assert (second["actor"], second["action"]) == ("ana", "version.pinned")
    assert second["detail"] == {"version": 1} and newest["id"] > second["id"]
    assert set(newest) == {"id", "at", "actor", "action", "subject", "detail"}

    pins = client.get(AUDIT, params={"action": "version.pinned"}).json()
    assert pins["total"] == 1 and [e["id"] for e in pins["items"]] == [second["id"]]
    one = client.get(AUDIT, params={"offset": 1, "limit": 1}).json()
    assert [e["id"] for e in one["items"]] == [second["id"]]


def test_an_unknown_action_is_refused_naming_action(client: TestClient) -> None:
    answer = client.get(AUDIT, params={"action": "bogus"})
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "action"


def test_a_reviewer_may_not_read_or_export_the_log(rex: TestClient) -> None:
    for path in (AUDIT, f"{AUDIT}/export"):
        answer = rex.get(path)
        assert answer.status_code == 403, answer.text
        assert "only an admin" in answer.json()["error"]["message"]


def test_the_export_is_every_event_as_json_lines_in_order(
    client: TestClient, demo: Rubricate
) -> None:
    with demo.db.write() as session:  # more events than one chunk of the stream holds
        for number in range(2 * LINES_PER_CHUNK + 7):
            record_event(session, "bulk", AuditAction.ROW_SENT_BACK, "queue q", row=number)
    client.put(f"/api/v1/metrics/{HELPFUL}/pin", json={"version": 1})
    client.delete(f"/api/v1/metrics/{HELPFUL}/pin")
    answer = client.get(f"{AUDIT}/export")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;") and ".jsonl" in disposition
    events = [json.loads(line) for line in answer.text.splitlines()]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len(events) == client.get(AUDIT).json()["total"]
    bulk = [e["detail"]["row"] for e in events if e["actor"] == "bulk"]
    assert bulk == list(range(2 * LINES_PER_CHUNK + 7))
    assert [(e["actor"], e["action"]) for e in events[-2:]] == [
        ("ana", "version.pinned"),
        ("ana", "version.unpinned"),
    ]
    assert events[-1]["detail"] == {"version": None}


def test_annotations_say_where_they_came_from(client: TestClient) -> None:
    url = f"/api/v1/evaluations/{EVALUATION}/metrics/{HELPFUL}/annotations"
    imported = client.get(url, params={"row": "sb-002"}).json()["items"]
    assert imported and {a["source"] for a in imported} == {"import"}
    added = client.post(url, json={"row": "sb-002", "score": 3})
    assert added.status_code == 201, added.text
    assert added.json()["source"] == "inline" and added.json()["annotator"] == "ana"
    listed = client.get(url, params={"row": "sb-002"}).json()["items"]
    assert {a["annotator"]: a["source"] for a in listed}["ana"] == "inline"
