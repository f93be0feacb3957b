"""A run read through the API names its rows by the user's ids (``row_refs``; the result's
``row_ids`` stay database ids, for older clients), lists the guidelines verification
dropped with the reason, and says whether an accept would do anything and why it asks."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.service.test_accept_rules import DROPPED, run_with

from rubricate import Rubricate
from rubricate.domain.alignment import Figure, GuidelineItem, Verification
from rubricate.store.tables import RowRecord


def demo_row_ids(rb: Rubricate) -> dict[int, str]:
    with rb.db.read() as session:
        query = select(RowRecord.id, RowRecord.external_id).order_by(RowRecord.position)
        return {row.id: row.external_id for row in session.execute(query)}


def run_on_demo_rows(
    rb: Rubricate, check: Verification, *, supporting: int = 11
) -> tuple[str, dict[int, str]]:
    """A run of the demo's rows with ``check``: guideline 1 kept, supported by the first
    ``supporting`` rows, and guideline 2 (DROPPED) dropped, on the 41st row. The run's id
    and the demo's rows (the user's id by database id)."""
    rows = demo_row_ids(rb)
    ids = list(rows)
    kept = GuidelineItem(id=1, text="Penalise refunds.", row_ids=ids[:supporting], verified=True)
    dropped = DROPPED.model_copy(update={"row_ids": [ids[40]]})
    return run_with(rb, [kept], check, proposed=[kept, dropped]), rows


def test_a_run_names_its_rows_by_the_users_ids(client: TestClient, demo: Rubricate) -> None:
    check = Verification(
        status="verified",
        test_rows=120,
        difference=Figure(value=-0.04, low=-0.09, high=0.01),
        test_drop=True,
    )
    run_id, rows = run_on_demo_rows(demo, check, supporting=10)
    ids = list(rows)
    body = client.get(f"/api/v1/alignment-runs/{run_id}").json()
    assert body["result"]["guidelines"][0]["row_ids"] == ids[:10]  # unchanged, for old clients
    refs = {ref["row_id"]: ref for ref in body["row_refs"]}
    assert set(refs) == {*ids[:10], ids[40]}
    assert {i: ref["external_id"] for i, ref in refs.items()} == {i: rows[i] for i in refs}
    assert {ref["evaluation"] for ref in refs.values()} == {"support-bot-demo"}
    assert body["dropped"] == [
        {"id": 2, "text": DROPPED.text, "reason": "lowered agreement on 9 of 14 rows it acted on"}
    ]
    assert body["nothing_to_accept"] is None
    assert body["unverified"].startswith("the held-out test rows show a drop")
    listed = client.get("/api/v1/alignment-runs", params={"metric": "answer_helpfulness"})
    assert listed.json()["items"][0]["row_refs"] == []  # lists carry no result


def test_a_run_that_kept_nothing_says_so(client: TestClient, demo: Rubricate) -> None:
    run_id = run_with(demo, [], Verification(status="verified"), proposed=[DROPPED])
    body = client.get(f"/api/v1/alignment-runs/{run_id}").json()
    assert body["nothing_to_accept"].startswith("nothing to accept: verification put none")
    refused = client.post(f"/api/v1/alignment-runs/{run_id}/accept", json={})
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == body["nothing_to_accept"]
