"""A blind review queue hides the judge's score, other reviewers' scores and comments and
the resolution of its rows from each of its reviewers, on every read path that shows them
(the annotations and judge-results listings, the export), until that reviewer has reviewed
the row there; then, and for everyone else, they show as before."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rubricate import Rubricate
from rubricate.api import create_app
from rubricate.demo import ALIGNED_METRIC, EVALUATION
from rubricate.domain.queues import QueueRequest, Selection
from rubricate.domain.users import Role, User

PASSWORD = "a long enough password 42"
SECRET = "ana-thinks-this-is-off-topic"
ADMIN = User("ada", Role.ADMIN)


@pytest.fixture
def queued(demo: Rubricate) -> tuple[Rubricate, str]:
    """A blind queue of one row, two reviews; rae has reviewed it with a comment."""
    for name in ("rae", "sol"):
        demo.users.add(name, "reviewer", PASSWORD)
    request = QueueRequest(
        "blind", EVALUATION, ALIGNED_METRIC, ("rae", "sol"),
        selection=Selection.RANDOM, sample_size=1, reviews_per_row=2, blind=True,
    )  # fmt: skip
    demo.queues.create(request, by=ADMIN)
    row = demo.queue_reviews.next("blind", User("rae", Role.REVIEWER))
    assert row is not None
    demo.queue_reviews.submit("blind", User("rae", Role.REVIEWER), row.row_id, 2, SECRET)
    return demo, row.row_id


def client_of(rb: Rubricate, name: str) -> Iterator[TestClient]:
    token = rb.users.new_token(name)
    with TestClient(create_app(rb), headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.fixture
def sol(queued: tuple[Rubricate, str]) -> Iterator[TestClient]:
    yield from client_of(queued[0], "sol")


@pytest.fixture
def rae(queued: tuple[Rubricate, str]) -> Iterator[TestClient]:
    yield from client_of(queued[0], "rae")


def listings(client: TestClient, row: str) -> tuple[list[str], list[object]]:
    base = f"/api/v1/evaluations/{EVALUATION}"
    notes = client.get(f"{base}/metrics/{ALIGNED_METRIC}/annotations", params={"row": row})
    judged = client.get(f"{base}/judge-results", params={"row": row, "metric": ALIGNED_METRIC})
    assert notes.status_code == judged.status_code == 200, (notes.text, judged.text)
    return [a["annotator"] for a in notes.json()["items"]], judged.json()["items"]


def exported(client: TestClient) -> str:
    answer = client.get(f"/api/v1/evaluations/{EVALUATION}/export", params={"layout": "jsonl"})
    assert answer.status_code == 200, answer.text
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        return "\n".join(archive.read(name).decode() for name in archive.namelist())


def test_a_reviewer_of_a_blind_queue_sees_nothing_of_others_on_its_rows_until_reviewing(
    queued: tuple[Rubricate, str], sol: TestClient
) -> None:
    rb, row = queued
    annotators, judged = listings(sol, row)
    assert annotators == [] and judged == []  # the demo's three reviewers, rae, the judge: hidden
    text = exported(sol)
    assert SECRET not in text
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    on_row = [r for r in records if r.get("row_id") == row]
    assert on_row  # the row itself is there, and its other metric's scores
    assert not [r for r in on_row if r.get("metric") == ALIGNED_METRIC], on_row
    given = rb.queue_reviews.next("blind", User("sol", Role.REVIEWER))
    assert given is not None and given.row_id == row and given.withheld
    rb.queue_reviews.submit("blind", User("sol", Role.REVIEWER), row, 4)  # reviewed: all shows
    annotators, judged = listings(sol, row)
    assert {"rae", "sol"} <= set(annotators) and judged
    assert SECRET in exported(sol)


def test_the_others_see_everything(queued: tuple[Rubricate, str], rae: TestClient) -> None:
    rb, row = queued
    annotators, judged = listings(rae, row)  # rae has reviewed it
    assert "rae" in annotators and len(annotators) >= 2 and judged
    rb.users.add("cy", "reviewer", PASSWORD)  # not a reviewer of the queue
    for client in client_of(rb, "cy"):
        annotators, judged = listings(client, row)
        assert "rae" in annotators and judged
        assert SECRET in exported(client)


def test_other_rows_of_the_evaluation_stay_visible(
    queued: tuple[Rubricate, str], sol: TestClient
) -> None:
    _, row = queued
    other = "sb-001" if row != "sb-001" else "sb-002"
    annotators, judged = listings(sol, other)
    assert len(annotators) >= 2 and judged
