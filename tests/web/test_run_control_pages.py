"""The web's run actions go through the same use cases as the CLI and the API
(rubricate.runs.control): the dialog's default reflection model is the one a blank start
takes, and a finished run's cancel touches no workflow."""

from __future__ import annotations

from contextlib import closing

from fastapi.testclient import TestClient
from tests.web.conftest import csrf_of
from tests.web.run_pages_support import CUSTOM, HX, START, RecordingQueue

from rubricate import Rubricate
from rubricate.domain.alignment_runs import RunStatus
from rubricate.models import fake
from rubricate.web.app import create_server_app

REFLECTOR = "fake:control-reflector"


def client(rb: Rubricate, queue: RecordingQueue) -> TestClient:
    app = create_server_app(rb, single_user=True, run_queue=queue)
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


def test_the_dialogs_default_reflection_model_is_the_one_a_blank_start_takes(
    demo: Rubricate,
) -> None:
    # the demo's database, opened with settings that name a default reflection model
    configured = Rubricate(demo.settings.model_copy(update={"reflection_lm": REFLECTOR}))
    queue = RecordingQueue(configured)
    with (
        closing(configured),
        fake.registered("control-reflector", lambda call: "unused"),
        client(configured, queue) as web,
    ):
        web.headers["X-CSRF-Token"] = csrf_of(web)
        dialog = web.get(f"/metrics/{CUSTOM}/align").text
        assert f'placeholder="{REFLECTOR}"' in dialog
        started = web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "d1"}, headers=HX)
        assert started.status_code == 200, started.text
        assert configured.alignment_runs.default_reflection_lm() == REFLECTOR
    assert demo.alignment_runs.get("d1").params.reflection_lm == REFLECTOR
    assert queue.enqueued == [("alignment", "d1", "")]


def test_cancelling_a_finished_run_cancels_no_workflow(demo: Rubricate) -> None:
    queue = RecordingQueue(demo)
    with client(demo, queue) as web:
        web.headers["X-CSRF-Token"] = csrf_of(web)
        web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "f1"}, headers=HX)
        assert demo.alignment_runs.run("f1").status is RunStatus.ALIGNED
        cancelled = web.post("/alignment-runs/f1/cancel", headers=HX)
        assert cancelled.status_code == 200 and "Aligned" in cancelled.text
    assert demo.alignment_runs.get("f1").status is RunStatus.ALIGNED
    assert queue.cancelled == []


def test_strike_and_restore_share_a_route_that_refuses_any_other_mark(
    demo: Rubricate,
) -> None:
    queue = RecordingQueue(demo)
    with client(demo, queue) as web:
        web.headers["X-CSRF-Token"] = csrf_of(web)
        web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "m1"}, headers=HX)
        demo.alignment_runs.run("m1")
        before = demo.alignment_runs.get("m1").result
        assert before is not None
        kept = len(before.effective_guidelines())
        assert kept > 0
        bogus = web.post("/alignment-runs/m1/guidelines/1/erase", headers=HX)
        assert bogus.status_code == 422
        struck = web.post("/alignment-runs/m1/guidelines/1/strike", headers=HX)
        assert struck.status_code == 200
        result = demo.alignment_runs.get("m1").result
        assert result is not None and len(result.effective_guidelines()) == kept - 1
        assert web.post("/alignment-runs/m1/guidelines/1/restore", headers=HX).status_code == 200
        result = demo.alignment_runs.get("m1").result
        assert result is not None and len(result.effective_guidelines()) == kept
