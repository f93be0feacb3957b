"""POST /api/v1/alignment-runs/{id}/verify: queued for a worker when the run can be
verified again, refused with the reason otherwise; reviewers may ask for it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.api.api_support import EVALUATION, HELPFUL
from tests.run_support import ended, offline_result

from rubricate import Rubricate
from rubricate.domain.alignment import GuidelineItem
from rubricate.domain.alignment_runs import RunStatus

START = {"metric": HELPFUL, "evaluations": [EVALUATION], "delta": 1}


def _aligned(rb: Rubricate, run_id: str, *, judge_model: str | None) -> None:
    item = GuidelineItem(id=1, text="Reward answers that name the next step.", verified=True)
    params = {"judge_model": judge_model} if judge_model is not None else None
    ended(rb, run_id, RunStatus.ALIGNED, offline_result([item]), params=params)


def test_an_aligned_run_with_a_judge_is_queued_to_verify_again(
    client: TestClient, demo: Rubricate
) -> None:
    run_id = client.post("/api/v1/alignment-runs", json=START).json()["run"]["id"]
    pending = client.post(f"/api/v1/alignment-runs/{run_id}/verify")
    assert pending.status_code == 409 and "only an Aligned run" in pending.text

    _aligned(demo, run_id, judge_model=None)
    unjudged = client.post(f"/api/v1/alignment-runs/{run_id}/verify")
    assert unjudged.status_code == 422 and "without a judge model" in unjudged.text

    _aligned(demo, run_id, judge_model="fake:judge")
    queued = client.post(f"/api/v1/alignment-runs/{run_id}/verify")
    assert queued.status_code == 202, queued.text
    body = queued.json()
    assert body["run_id"] == run_id and body["queued"] is True
    assert body["alive_workers"] == 0 and "no worker is alive" in body["message"]
    # The run stays Aligned while a worker checks it.
    assert client.get(f"/api/v1/alignment-runs/{run_id}").json()["status"] == "aligned"

    missing = client.post("/api/v1/alignment-runs/nope/verify")
    assert missing.status_code == 404
