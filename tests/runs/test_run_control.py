"""The run use cases of rubricate.runs.control, on the real workers' queue (DBOS's tables
beside the test database): both halves, the run's status and its workflow, by one rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dbos import DBOSClient

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.errors import Unavailable
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.models import fake
from rubricate.models.fake import FakeCall, FakeReply
from rubricate.runs.control import RunControl, WorkerQueue
from rubricate.runs.system import SYSTEM_SCHEMA, system_database_url
from rubricate.store.tables import AlignmentRunRecord

METRIC = "answer_helpfulness"


@pytest.fixture
def control(demo: Rubricate) -> RunControl:
    return RunControl(demo)


@pytest.fixture
def judge() -> Iterator[None]:
    def never(_: FakeCall) -> FakeReply:
        raise AssertionError("no model is called: runs are only queued")

    with fake.registered("control-judge", never):
        yield


def workflows(rb: Rubricate, run_id: str) -> dict[str, str]:
    """The run's workflows in the workers' queue, by id, with their DBOS status."""
    client = DBOSClient(
        system_database_url=system_database_url(rb.settings.database_url),
        dbos_system_schema=SYSTEM_SCHEMA,
    )
    try:
        found = client.list_workflows(
            workflow_id_prefix=run_id, load_input=False, load_output=False
        )
    finally:
        client.destroy()
    return {w.workflow_id: w.status for w in found}


def start_alignment(control: RunControl, rb: Rubricate, run_id: str) -> bool:
    """Started by the service, queued by the facade, as every interface does it."""
    run = rb.alignment_runs.start(metric=METRIC, evaluations=[EVALUATION], delta=1, run_id=run_id)
    return control.alignment.queue(run)


def test_cancelling_a_queued_run_cancels_its_workflow(
    control: RunControl, demo: Rubricate, judge: None
) -> None:
    run = demo.evaluation_runs.start(
        metric=METRIC, evaluation=EVALUATION, model="fake:control-judge", run_id="ev-c"
    )
    assert run.status is EvaluationRunStatus.PENDING and control.evaluation.queue(run)
    assert workflows(demo, "ev-c") == {"ev-c": "ENQUEUED"}
    assert control.evaluation.cancel("ev-c").status is EvaluationRunStatus.CANCELLED
    assert workflows(demo, "ev-c") == {"ev-c": "CANCELLED"}
    assert control.evaluation.cancel("ev-c").status is EvaluationRunStatus.CANCELLED


def test_cancelling_a_finished_run_changes_nothing_anywhere(
    control: RunControl, demo: Rubricate
) -> None:
    assert start_alignment(control, demo, "al-done")
    assert demo.alignment_runs.run("al-done").status is RunStatus.ALIGNED  # carried out here
    assert control.alignment.cancel("al-done").status is RunStatus.ALIGNED
    # the workflow it had been queued as is left alone (the CLI used to cancel it)
    assert workflows(demo, "al-done") == {"al-done": "ENQUEUED"}


def test_a_repeated_start_of_a_finished_run_queues_nothing(
    control: RunControl, demo: Rubricate
) -> None:
    assert start_alignment(control, demo, "al-again")
    demo.alignment_runs.run("al-again")
    assert not start_alignment(control, demo, "al-again")
    assert workflows(demo, "al-again") == {"al-again": "ENQUEUED"}


def test_a_retry_is_queued_as_a_new_attempt(control: RunControl, demo: Rubricate) -> None:
    assert start_alignment(control, demo, "al-r")
    with demo.db.write() as session:  # as a worker leaves a run that failed
        record = session.get_one(AlignmentRunRecord, "al-r")
        record.status, record.error = RunStatus.ERROR.value, "the provider was down"
    assert control.alignment.retry("al-r").status is RunStatus.PENDING
    found = workflows(demo, "al-r")
    assert len(found) == 2 and found.pop("al-r") == "ENQUEUED"
    [(attempt, status)] = found.items()
    assert attempt.startswith("al-r.attempt-") and status == "ENQUEUED"


def test_cancelling_a_retried_run_cancels_every_attempt_and_no_other_run(
    control: RunControl, demo: Rubricate
) -> None:
    assert start_alignment(control, demo, "al-q")
    assert start_alignment(control, demo, "al-q2")  # an id that starts with the other
    with demo.db.write() as session:
        session.get_one(AlignmentRunRecord, "al-q").status = RunStatus.ERROR.value
    control.alignment.retry("al-q")
    assert control.alignment.cancel("al-q").status is RunStatus.CANCELLED
    ours = {i: status for i, status in workflows(demo, "al-q").items() if i != "al-q2"}
    assert len(ours) == 2 and set(ours.values()) == {"CANCELLED"}  # the first and the retry
    assert workflows(demo, "al-q2") == {"al-q2": "ENQUEUED"}


class DownQueue(WorkerQueue):
    """The workers' database refuses every enqueue."""

    def enqueue(self, kind: str, run_id: str, *, attempt: str = "") -> None:
        raise RuntimeError("the queue is down\nsecond line")


def test_a_run_that_cannot_be_queued_is_cancelled_and_says_why(demo: Rubricate) -> None:
    control = RunControl(demo, DownQueue(demo.settings, demo.db))
    with pytest.raises(
        Unavailable, match=r"could not queue run al-x for a worker: the queue is down$"
    ):
        start_alignment(control, demo, "al-x")
    assert demo.alignment_runs.get("al-x").status is RunStatus.CANCELLED
