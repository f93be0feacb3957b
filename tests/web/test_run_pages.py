"""The Start Alignment dialog and a run in flight in a TestClient: the dialog's sources and
preview, start (idempotent, queued, refused, without a CSRF token, when the queue is down),
and a run's page while Pending, Running, Cancelled or in Error (cancel, retry, unknown runs).

Runs are carried out in this process or given the status a worker would have stored; the
queue records what it was handed (tests/web/run_pages_support.py)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from tests.web.conftest import csrf_of
from tests.web.run_pages_support import (
    BUILTIN,
    BUILTIN_EVALUATION,
    CUSTOM,
    HX,
    START,
    RecordingQueue,
    ended,
    import_builtin,
    started,
    text_of,
)
from tests.web.run_pages_support import queue as queue  # the fixtures, as pytest finds them
from tests.web.run_pages_support import web as web

from rubricate import Rubricate
from rubricate.domain.alignment_runs import RunStatus
from rubricate.web.app import create_server_app

# -- the dialog ------------------------------------------------------------------------------


def test_dialog_lists_only_usable_evaluations(
    web: TestClient, demo: Rubricate, tmp_path: Path
) -> None:
    import_builtin(demo, tmp_path)  # judged and resolved for helpfulness only
    html = web.get(f"/metrics/{CUSTOM}/align").text
    assert 'value="support-bot-demo"' in html
    assert BUILTIN_EVALUATION not in html
    assert "1 other evaluation not listed" in html
    assert re.search(r'name="run_id" value="[0-9a-f]{32}"', html)
    assert "builtin:offline" in html and "offline engine" in html
    for label in ("Source evaluations", "Reflection LM", "Judge model", "Delta threshold"):
        assert label in html
    other = web.get(f"/metrics/{BUILTIN}/align").text
    assert f'value="{BUILTIN_EVALUATION}"' in other and 'value="support-bot-demo"' not in other
    assert web.get("/metrics/nope/align").status_code == 404


def test_dialog_without_usable_evaluations_cannot_start(web: TestClient) -> None:
    html = web.get(f"/metrics/{BUILTIN}/align").text
    assert "No evaluation can be used yet" in html
    assert re.search(r'<button type="submit" class="primary"\s+disabled', html)


def test_preview_follows_the_fields(web: TestClient) -> None:
    def preview(**changes: object) -> str:
        response = web.post(
            f"/metrics/{CUSTOM}/align/preview", data={**START, **changes}, headers=HX
        )
        assert response.status_code == 200
        return text_of(response.text)

    at_one = preview()
    assert "23 disagreements at this threshold" in at_one
    assert "0.888 reviewer agreement" in at_one
    assert "$0 estimated cost" in at_one and "Low confidence" not in at_one
    assert "will not be verified" in at_one
    at_four = preview(delta="4")
    assert "3 disagreements at this threshold" in at_four and "Low confidence" in at_four
    assert "Choose at least one source evaluation" in preview(evaluations=[])
    assert "must be a number" in preview(delta="lots")
    assert "at most 4" in preview(delta="9")
    assert "OPENAI_API_KEY" in preview(reflection_lm="openai:gpt-4.1")
    assert "cannot judge rows" in preview(judge_model="builtin:offline")


def test_start_queues_one_run_per_dialog(
    web: TestClient, demo: Rubricate, queue: RecordingQueue
) -> None:
    first = web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "r1"}, headers=HX)
    assert first.status_code == 200
    assert first.headers["HX-Trigger"] == "close-dialog, runs-changed"
    assert "no worker is alive" in first.text
    again = web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "r1"}, headers=HX)
    assert again.status_code == 200
    assert [r.id for r in demo.alignment_runs.list(CUSTOM)] == ["r1"]
    assert queue.enqueued[0] == ("alignment", "r1", "")
    run = demo.alignment_runs.get("r1")
    assert run.status is RunStatus.PENDING and run.params.reflection_lm == "builtin:offline"
    # without htmx: to the run's page
    plain = web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "r2", "delta": "2"})
    assert plain.status_code == 303 and plain.headers["location"] == "/alignment-runs/r2"


def test_a_refused_start_stays_in_the_dialog(web: TestClient, demo: Rubricate) -> None:
    for changes, said in (
        ({"evaluations": []}, "at least one source evaluation"),
        ({"delta": "0"}, "must be above 0"),
        ({"judge_model": "openai:gpt-4.1-mini"}, "OPENAI_API_KEY"),
    ):
        refused = web.post(
            f"/metrics/{CUSTOM}/align", data={**START, "run_id": "x1", **changes}, headers=HX
        )
        assert refused.status_code == 422
        assert refused.headers["HX-Retarget"] == "#align-problem"
        assert said in refused.text
    assert demo.alignment_runs.list(CUSTOM) == []


def test_start_without_csrf_token_changes_nothing(web: TestClient, demo: Rubricate) -> None:
    del web.headers["X-CSRF-Token"]
    refused = web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "r1"})
    assert refused.status_code == 403
    wrong = web.post(
        f"/metrics/{CUSTOM}/align", data={**START, "run_id": "r1", "csrf_token": "forged"}
    )
    assert wrong.status_code == 403
    assert demo.alignment_runs.list(CUSTOM) == []


def test_a_run_that_cannot_be_queued_says_so(demo: Rubricate) -> None:
    class Broken(RecordingQueue):
        def enqueue(self, kind: str, run_id: str, *, attempt: str = "") -> None:
            raise RuntimeError("the queue is down")

    app = create_server_app(demo, single_user=True, run_queue=Broken(demo))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.headers["X-CSRF-Token"] = csrf_of(client)
        refused = client.post(
            f"/metrics/{CUSTOM}/align", data={**START, "run_id": "q1"}, headers=HX
        )
    assert refused.status_code == 422 and "the queue is down" in refused.text
    assert demo.alignment_runs.get("q1").status is RunStatus.CANCELLED


# -- a run in flight ----------------------------------------------------------------------------


def test_a_pending_run_polls_and_can_be_cancelled(
    web: TestClient, demo: Rubricate, queue: RecordingQueue
) -> None:
    run_id = started(web)
    page = web.get(f"/alignment-runs/{run_id}")
    assert page.status_code == 200
    html = page.text
    assert "Pending" in html and 'hx-trigger="every 1s"' in html
    for phase in (
        "Loading annotations",
        "Building disagreement traces",
        "Distilling guidelines",
        "Finalizing",
    ):
        assert phase in html
    assert "Verifying guidelines" not in html  # no judge model
    assert "No worker is alive" in html
    panel = web.get(f"/alignment-runs/{run_id}/panel", headers=HX)
    assert panel.status_code == 200 and "<html" not in panel.text
    cancelled = web.post(f"/alignment-runs/{run_id}/cancel", headers=HX)
    assert cancelled.status_code == 200 and "runs-changed" in cancelled.headers["HX-Trigger"]
    assert "Cancelled" in cancelled.text and "every 1s" not in cancelled.text
    assert queue.cancelled == [run_id]
    again = web.post(f"/alignment-runs/{run_id}/cancel", headers=HX)
    assert again.status_code == 200 and queue.cancelled == [run_id]  # idempotent
    assert demo.alignment_runs.get(run_id).status is RunStatus.CANCELLED


def test_a_running_run_shows_its_phase_and_progress(web: TestClient, demo: Rubricate) -> None:
    run_id = started(web, judge_model="")
    ended(demo, run_id, RunStatus.RUNNING, phase="distilling", progress_done=0, progress_total=1)
    html = web.get(f"/alignment-runs/{run_id}").text
    assert 'class="current" aria-current="step">Distilling guidelines' in html
    assert html.count('class="done"') == 2
    assert "0 / 1 · Distilling guidelines" in text_of(html)
    history = web.get(f"/metrics/{CUSTOM}/runs").text
    assert "every 1s" in history and "Distilling guidelines" in history


def test_a_cancelled_run_shows_what_it_had_counted(web: TestClient, demo: Rubricate) -> None:
    run_id = started(web)
    ended(
        demo,
        run_id,
        RunStatus.CANCELLED,
        phase="distilling",
        disagreements=23,
        agreeing_skipped=23,
        progress_done=0,
        progress_total=1,
    )
    shown = text_of(web.get(f"/alignment-runs/{run_id}").text)
    assert "Cancelled during distilling guidelines" in shown
    assert "23 disagreements found" in shown and "23 agreeing rows skipped" in shown


def test_an_error_run_shows_its_detail_and_retries(
    web: TestClient, demo: Rubricate, queue: RecordingQueue
) -> None:
    run_id = started(web)
    ended(
        demo,
        run_id,
        RunStatus.ERROR,
        phase="distilling",
        error="openai:gpt-4.1: <api.openai.com> refused the key (HTTP 401)",
    )
    html = web.get(f"/alignment-runs/{run_id}").text
    assert "refused the key" in html and "&lt;api.openai.com&gt;" in html
    assert ">Retry</button>" in html
    retried = web.post(f"/alignment-runs/{run_id}/retry", headers=HX)
    assert retried.status_code == 200 and "Pending" in retried.text
    assert queue.enqueued[-1][:2] == ("alignment", run_id) and queue.enqueued[-1][2]
    assert demo.alignment_runs.get(run_id).status is RunStatus.PENDING
    assert web.post(f"/alignment-runs/{run_id}/retry", headers=HX).status_code == 409


def test_unknown_runs_are_404(web: TestClient) -> None:
    assert web.get("/alignment-runs/nope").status_code == 404
    assert "Not found" in web.get("/alignment-runs/nope").text
    assert web.get("/alignment-runs/nope/panel").status_code == 404
    for action in ("cancel", "retry", "accept", "reject", "guidelines/1/strike"):
        missing = web.post(f"/alignment-runs/nope/{action}", headers=HX)
        assert missing.status_code == 404, action
        assert missing.headers["HX-Retarget"] == "#messages"
