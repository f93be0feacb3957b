from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.api.api_support import EVALUATION, HELPFUL, LOCAL, LOCAL_TOKEN
from tests.run_support import ended, offline_result

from rubricate import Rubricate
from rubricate.api import create_app
from rubricate.api.queueing import RunQueue
from rubricate.domain.alignment_runs import RunStatus
from rubricate.models import fake
from rubricate.models.fake import FakeCall, FakeModel, FakeReply
from rubricate.store.tables import (
    AlignmentRunRecord,
    EvaluationRunRecord,
    WorkerRecord,
    utcnow,
)

START = {"metric": HELPFUL, "evaluations": [EVALUATION], "delta": 1}
CONFIRM = {"confirm_unverified": True}  # these runs are not verified (the offline engine)


class BrokenQueue(RunQueue):
    def enqueue(self, kind: str, run_id: str, *, attempt: str = "") -> None:
        raise RuntimeError("the queue is down")


def aligned(rb: Rubricate, run_id: str, *guidelines: str) -> None:
    """End the run as Aligned with these guidelines (ids 1, 2, ...), as a worker would."""
    ended(rb, run_id, RunStatus.ALIGNED, offline_result(guidelines))


def _never(_: FakeCall) -> FakeReply:
    raise AssertionError("no model is called: runs are only queued")


@pytest.fixture
def judge() -> Iterator[FakeModel]:
    with fake.registered("judge", _never) as model:
        yield model


@pytest.fixture
def broken_client(demo: Rubricate) -> Iterator[TestClient]:
    queue = BrokenQueue(demo.settings, demo.db)
    app = create_app(demo, single_user=True, run_queue=queue, local_token=LOCAL_TOKEN)
    with TestClient(app, **LOCAL) as test_client:
        yield test_client


def test_evaluation_run_is_queued_once_per_key(client: TestClient, judge: FakeModel) -> None:
    body = {"metric": HELPFUL, "evaluation": EVALUATION, "model": "fake:judge"}
    first = client.post("/api/v1/evaluation-runs", json=body, headers={"Idempotency-Key": "ev-1"})
    assert first.status_code == 202, first.text
    started = first.json()
    assert started["run"]["id"] == "ev-1" and started["run"]["status"] == "pending"
    assert started["queued"] is True and started["alive_workers"] == 0
    assert "no worker is alive" in started["message"]
    again = client.post("/api/v1/evaluation-runs", json={**body, "run_id": "ev-1"})
    assert again.status_code == 202 and again.json()["run"]["id"] == "ev-1"
    other = client.post(
        "/api/v1/evaluation-runs", json={**body, "seed": 3}, headers={"Idempotency-Key": "ev-1"}
    )
    assert other.status_code == 409
    listed = client.get("/api/v1/evaluation-runs", params={"evaluation": EVALUATION}).json()
    assert [r["id"] for r in listed["items"]] == ["ev-1"]
    assert client.get("/api/v1/evaluation-runs/ev-1").json()["rows_total"] == 48
    # the evaluation is not completed while scoring is under way
    assert client.get(f"/api/v1/evaluations/{EVALUATION}").json()["completed"] is False
    cancelled = client.post("/api/v1/evaluation-runs/ev-1/cancel").json()
    assert cancelled["status"] == "cancelled"
    assert client.post("/api/v1/evaluation-runs/ev-1/cancel").json()["status"] == "cancelled"
    refused = client.post("/api/v1/evaluation-runs/ev-1/retry")
    assert refused.status_code == 409
    assert client.get("/api/v1/evaluation-runs/nope").status_code == 404
    assert not judge.calls


def test_evaluation_run_checks_before_writing(client: TestClient, judge: FakeModel) -> None:
    no_key = client.post(
        "/api/v1/evaluation-runs",
        json={"metric": HELPFUL, "evaluation": EVALUATION, "model": "openai:gpt-4.1-mini"},
    )
    assert no_key.status_code == 503  # a model that cannot be used, as in the CLI
    assert "OPENAI_API_KEY" in no_key.json()["error"]["message"]
    clash = client.post(
        "/api/v1/evaluation-runs",
        json={"metric": HELPFUL, "evaluation": EVALUATION, "model": "fake:judge", "run_id": "a"},
        headers={"Idempotency-Key": "b"},
    )
    assert clash.status_code == 422 and clash.json()["error"]["field"] == "run_id"
    assert client.get("/api/v1/evaluation-runs").json()["total"] == 0


def test_evaluation_cost_estimate_calls_no_model(client: TestClient) -> None:
    estimate = client.post(
        "/api/v1/evaluation-runs/estimate",
        json={"metric": HELPFUL, "evaluation": EVALUATION, "model": "openai:gpt-4.1-mini"},
    ).json()
    assert estimate["rows"] == 48 and estimate["input_tokens"] > 0
    assert estimate["cost_usd"] is not None and estimate["cost_usd"] > 0


def test_a_run_id_names_one_run_of_either_kind(client: TestClient, judge: FakeModel) -> None:
    """The service's rule, the API's too: an id an alignment run holds is refused to an
    evaluation run, and nothing is written or queued."""
    assert client.post("/api/v1/alignment-runs", json={**START, "run_id": "shared"}).is_success
    body = {"metric": HELPFUL, "evaluation": EVALUATION, "model": "fake:judge", "run_id": "shared"}
    refused = client.post("/api/v1/evaluation-runs", json=body)
    assert refused.status_code == 409
    assert "already used by an alignment run" in refused.json()["error"]["message"]
    assert client.get("/api/v1/evaluation-runs").json()["items"] == []


def test_a_run_that_cannot_be_queued_is_cancelled(broken_client: TestClient) -> None:
    refused = broken_client.post("/api/v1/alignment-runs", json={**START, "run_id": "al-x"})
    assert refused.status_code == 503
    assert "the queue is down" in refused.json()["error"]["message"]
    assert broken_client.get("/api/v1/alignment-runs/al-x").json()["status"] == "cancelled"


def test_alignment_preview_and_start(client: TestClient) -> None:
    preview = client.post("/api/v1/alignment-runs/preview", json=START)
    assert preview.status_code == 200, preview.text
    figures = preview.json()
    assert figures["disagreements"] > 0 and figures["reflection_lm"] == "builtin:offline"
    assert figures["reflection_calls"] == 0
    started = client.post("/api/v1/alignment-runs", json=START, headers={"Idempotency-Key": "al-1"})
    assert started.status_code == 202, started.text
    assert started.json()["run"]["status"] == "pending"
    assert started.json()["run"]["evaluations"] == [EVALUATION]
    again = client.post("/api/v1/alignment-runs", json={**START, "run_id": "al-1"})
    assert again.json()["run"]["id"] == "al-1"
    changed = client.post("/api/v1/alignment-runs", json={**START, "delta": 2, "run_id": "al-1"})
    assert changed.status_code == 409
    listed = client.get("/api/v1/alignment-runs", params={"metric": HELPFUL}).json()
    assert [r["id"] for r in listed["items"]] == ["al-1"]
    bad_delta = client.post("/api/v1/alignment-runs", json={**START, "delta": 9})
    assert bad_delta.status_code == 422 and bad_delta.json()["error"]["field"] == "delta"
    no_sources = client.post("/api/v1/alignment-runs", json={**START, "evaluations": []})
    assert no_sources.status_code == 422 and no_sources.json()["error"]["field"] == "evaluations"
    assert client.get("/api/v1/alignment-runs", params={"metric": HELPFUL}).json()["total"] == 1
    cancelled = client.post("/api/v1/alignment-runs/al-1/cancel").json()
    assert cancelled["status"] == "cancelled"


def test_review_and_accept(client: TestClient, demo: Rubricate) -> None:
    client.post("/api/v1/alignment-runs", json={**START, "run_id": "al-2"})
    aligned(demo, "al-2", "Penalise answers that break the refund policy.", "Be terse.")
    run = client.get("/api/v1/alignment-runs/al-2").json()
    assert run["status"] == "aligned"
    guidelines = run["result"]["guidelines"]
    assert guidelines
    first = guidelines[0]["id"]
    url = f"/api/v1/alignment-runs/al-2/guidelines/{first}"
    edited = client.put(url, json={"text": "Do not reward length for its own sake."}).json()
    assert edited["result"]["review"]["edits"][-1]["by"] == "ana"
    struck = client.post(f"{url}/strike").json()
    assert struck["result"]["review"]["edits"][-1]["action"] == "strike"
    restored = client.post(f"{url}/restore").json()
    assert restored["result"]["review"]["edits"][-1]["action"] == "restore"
    struck_second = client.post("/api/v1/alignment-runs/al-2/guidelines/2/strike")
    assert struck_second.status_code == 200
    client.post("/api/v1/alignment-runs/al-2/guidelines/2/restore")
    missing = client.post("/api/v1/alignment-runs/al-2/guidelines/999/strike")
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "guideline"
    accepted = client.post("/api/v1/alignment-runs/al-2/accept", json=CONFIRM)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["created"] is True and body["forked"] is False
    assert "Do not reward length" in body["version"]["guidelines"]
    assert "Be terse." in body["version"]["guidelines"]
    twice = client.post("/api/v1/alignment-runs/al-2/accept", json=CONFIRM).json()
    assert twice["created"] is False and twice["version"]["id"] == body["version"]["id"]
    assert client.post("/api/v1/alignment-runs/al-2/reject").status_code == 409
    metric = client.get(f"/api/v1/metrics/{HELPFUL}").json()
    assert metric["active_version"] == body["version"]["number"]


def test_accept_on_a_stale_base_needs_merge(client: TestClient, demo: Rubricate) -> None:
    for run_id in ("al-3", "al-4"):
        client.post("/api/v1/alignment-runs", json={**START, "run_id": run_id})
        aligned(demo, run_id, f"A guideline of {run_id}.")
    assert client.post("/api/v1/alignment-runs/al-3/accept", json=CONFIRM).status_code == 200
    stale = client.post("/api/v1/alignment-runs/al-4/accept", json=CONFIRM)
    assert stale.status_code == 409 and "merge" in stale.json()["error"]["message"]
    merged = client.post(
        "/api/v1/alignment-runs/al-4/accept", json={**CONFIRM, "merge": True}
    ).json()
    assert merged["merged"] is True


def test_an_unverified_run_needs_confirm_unverified(client: TestClient, demo: Rubricate) -> None:
    client.post("/api/v1/alignment-runs", json={**START, "run_id": "al-6"})
    aligned(demo, "al-6", "Penalise answers that break the refund policy.")
    refused = client.post("/api/v1/alignment-runs/al-6/accept", json={"merge": False})
    assert refused.status_code == 409
    message = refused.json()["error"]["message"]
    assert "is not verified: no judge model was given" in message
    assert "confirm_unverified" in message
    assert client.get(f"/api/v1/metrics/{HELPFUL}").json()["active_version"] == 1
    accepted = client.post("/api/v1/alignment-runs/al-6/accept", json=CONFIRM)
    assert accepted.status_code == 200, accepted.text
    assert "no judge model" in accepted.json()["run"]["result"]["review"]["unverified"]


def test_nothing_to_accept_is_a_clear_409(client: TestClient, demo: Rubricate) -> None:
    client.post("/api/v1/alignment-runs", json={**START, "run_id": "al-7"})
    aligned(demo, "al-7")
    refused = client.post("/api/v1/alignment-runs/al-7/accept", json=CONFIRM)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "nothing to accept: run 'al-7' found none (no guideline to propose)"
    )


def test_reject_and_pending_runs_cannot_be_reviewed(client: TestClient, demo: Rubricate) -> None:
    client.post("/api/v1/alignment-runs", json={**START, "run_id": "al-5"})
    pending = client.post("/api/v1/alignment-runs/al-5/accept", json=CONFIRM)
    assert pending.status_code == 409
    aligned(demo, "al-5", "Anything.")
    rejected = client.post("/api/v1/alignment-runs/al-5/reject").json()
    assert rejected["result"]["review"]["decision"] == "rejected"
    assert client.post("/api/v1/alignment-runs/al-5/accept", json=CONFIRM).status_code == 409


def test_the_offline_engine_run_can_be_read(client: TestClient, demo: Rubricate) -> None:
    client.post("/api/v1/alignment-runs", json={**START, "run_id": "al-6"})
    demo.alignment_runs.run("al-6")  # carried out here by builtin:offline: no model
    run = client.get("/api/v1/alignment-runs/al-6").json()
    assert run["status"] == "aligned" and run["disagreements"] > 0
    assert run["result"]["engine"] == "builtin:offline"
    assert run["result"]["verification"]["status"] == "not run"


def _fail(rb: Rubricate, kind: str, run_id: str) -> None:
    with rb.db.write() as session:
        record: AlignmentRunRecord | EvaluationRunRecord | None = (
            session.get(AlignmentRunRecord, run_id)
            if kind == "alignment"
            else session.get(EvaluationRunRecord, run_id)
        )
        assert record is not None
        record.status = "error"
        record.error = "the model server went away"
        record.finished_at = utcnow()


def test_error_runs_are_retried_through_the_queue(
    client: TestClient, demo: Rubricate, judge: FakeModel
) -> None:
    client.post("/api/v1/alignment-runs", json={**START, "run_id": "al-7"})
    _fail(demo, "alignment", "al-7")
    assert client.get("/api/v1/alignment-runs/al-7").json()["error"]
    retried = client.post("/api/v1/alignment-runs/al-7/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["run"]["status"] == "pending" and retried.json()["queued"] is True
    assert retried.json()["run"]["error"] is None
    assert client.post("/api/v1/alignment-runs/al-7/retry").status_code == 409
    client.post("/api/v1/alignment-runs/al-7/cancel")  # its source may be scored again

    body = {"metric": HELPFUL, "evaluation": EVALUATION, "model": "fake:judge", "run_id": "ev-7"}
    client.post("/api/v1/evaluation-runs", json=body)
    _fail(demo, "evaluation", "ev-7")
    again = client.post("/api/v1/evaluation-runs/ev-7/retry")
    assert again.status_code == 202 and again.json()["run"]["status"] == "pending"
    assert not judge.calls


def test_the_answer_says_when_a_worker_is_alive(client: TestClient, demo: Rubricate) -> None:
    with demo.db.write() as session:
        session.add(WorkerRecord(executor_id="w-1", hostname="here", pid=1))
    started = client.post("/api/v1/alignment-runs", json=START).json()
    assert started["alive_workers"] == 1
    assert "1 worker(s) alive" in started["message"]


def test_a_run_id_names_one_run_of_one_kind(client: TestClient, judge: FakeModel) -> None:
    client.post("/api/v1/alignment-runs", json={**START, "run_id": "shared"})
    body = {"metric": HELPFUL, "evaluation": EVALUATION, "model": "fake:judge"}
    taken = client.post("/api/v1/evaluation-runs", json=body, headers={"Idempotency-Key": "shared"})
    assert taken.status_code == 409 and "alignment run" in taken.json()["error"]["message"]
    assert client.get("/api/v1/evaluation-runs").json()["total"] == 0
