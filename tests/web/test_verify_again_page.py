"""Verify again on a run's page (TestClient): a guideline edited after verification is
marked "not verified" and the page offers Verify again; the button queues the check on the
workers' real queue (no worker here, so it stays queued) and the page then says
"Verifying again…" and polls. Runs without a judge model or with every guideline verified
offer no button."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import single_user
from tests.web.run_pages_support import HX, aligned_with, text_of, verified

from rubricate import Rubricate
from rubricate.api.queueing import RunQueue
from rubricate.runs import queue as run_queue
from rubricate.runs.control import VerifyState
from rubricate.store.tables import AlignmentRunRecord

JUDGE = "fake:judge"
VERIFY_BUTTON = ">Verify again</button>"
MARK = '<span class="tag not-verified"'


@pytest.fixture
def web(demo: Rubricate) -> Iterator[TestClient]:
    """Single-user, on the workers' real queue (DBOS's system database, no worker)."""
    with single_user(demo) as client:
        yield client


def judged_and_verified(rb: Rubricate) -> str:
    """A verified run with a judge model whose two guidelines verification kept."""
    run_id = verified(rb)
    with rb.db.write() as session:
        record = session.get(AlignmentRunRecord, run_id)
        assert record is not None
        record.params = record.params | {"judge_model": JUDGE}
        guidelines = [g | {"verified": True} for g in record.result["guidelines"]]
        record.result = {**record.result, "guidelines": guidelines}
    return run_id


def marked(html: str) -> list[str]:
    """The ids of the guidelines that carry the "not verified" mark."""
    items = re.findall(r'<li class="guideline[^"]*" data-guideline="(\d+)">(.*?)</li>', html, re.S)
    return [number for number, body in items if MARK in body]


def test_an_edit_is_marked_not_verified_and_verify_again_queues_the_check(
    web: TestClient, demo: Rubricate
) -> None:
    run_id = judged_and_verified(demo)
    page = web.get(f"/alignment-runs/{run_id}").text
    assert marked(page) == [] and VERIFY_BUTTON not in page

    edited = web.post(
        f"/alignment-runs/{run_id}/guidelines/2/edit",
        data={"text": "Reward short answers that solve the problem in one step."},
        headers=HX,
    )
    assert edited.status_code == 200, edited.text
    assert marked(edited.text) == ["2"]
    assert VERIFY_BUTTON in edited.text
    assert f'action="/alignment-runs/{run_id}/verify"' in edited.text
    assert "Guidelines marked not verified changed after verification" in text_of(edited.text)
    assert not run_queue.verifying(demo.settings, run_id)

    queued = web.post(f"/alignment-runs/{run_id}/verify", headers=HX)
    assert queued.status_code == 200, queued.text
    assert queued.headers["HX-Trigger"] == "runs-changed"
    assert run_queue.verifying(demo.settings, run_id)  # queued for a worker
    shown = text_of(queued.text)
    assert "Verifying again…" in shown and "No worker is alive" in shown
    assert VERIFY_BUTTON not in queued.text
    assert f'hx-get="/alignment-runs/{run_id}/panel" hx-trigger="every 1s"' in queued.text
    # The page and its poll say so too, until a worker has checked the guidelines.
    assert "Verifying again…" in web.get(f"/alignment-runs/{run_id}").text
    assert "Verifying again…" in web.get(f"/alignment-runs/{run_id}/panel").text
    assert demo.alignment_runs.get(run_id).status.value == "aligned"


def test_no_verify_again_without_a_judge_model(web: TestClient, demo: Rubricate) -> None:
    run_id = aligned_with(demo, "Penalise refunds.")  # the offline engine, no judge
    page = web.get(f"/alignment-runs/{run_id}").text
    assert VERIFY_BUTTON not in page and marked(page) == []  # not a verified run
    refused = web.post(f"/alignment-runs/{run_id}/verify", headers=HX)
    assert refused.status_code == 422 and "without a judge model" in refused.text
    assert not run_queue.verifying(demo.settings, run_id)


def test_verify_again_without_csrf_token_changes_nothing(web: TestClient, demo: Rubricate) -> None:
    run_id = judged_and_verified(demo)
    del web.headers["X-CSRF-Token"]
    refused = web.post(f"/alignment-runs/{run_id}/verify", headers=HX)
    assert refused.status_code == 403
    assert not run_queue.verifying(demo.settings, run_id)


class RefusedQueue(RunQueue):
    """The workers' queue after a worker refused the run's Verify again."""

    def verify_state(self, run_id: str) -> VerifyState:
        return VerifyState(failure=f"run {run_id!r} was edited while it was verified again")


def test_a_verify_again_that_stored_no_check_says_why(demo: Rubricate) -> None:
    run_id = judged_and_verified(demo)
    with single_user(demo, RefusedQueue(demo.settings, demo.db)) as client:
        assert "stored no check" not in client.get(f"/alignment-runs/{run_id}").text
        client.post(
            f"/alignment-runs/{run_id}/guidelines/2/edit", data={"text": "Reward <b>short</b>."}
        )
        shown = text_of(client.get(f"/alignment-runs/{run_id}").text)
    assert "The last Verify again stored no check: run" in shown
    assert "was edited while it was verified again" in shown
    assert "Verify again checks them as they stand" in shown  # and it can be tried again
