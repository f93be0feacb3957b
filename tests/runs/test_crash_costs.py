"""A run's calls, tokens and cost after a crash (issue 12): replies stored before the crash
counted as "from the cache" with no tokens or cost, and the calls in flight were not
counted at all (752 + 48 reported, 808 received). Now each request the provider received
counts once: the run's journal marks a request sent before it goes out, and a reply
replayed on resume counts as the calls it took, with its tokens and cost.

A worker is killed with its third batch half answered (4 replies journaled, their results
not saved yet) and half held in flight at the fake server's gate (4 calls); the same
worker comes back and finishes the run. Then the run's call count equals the fake
server's request count, and its token totals equal the sum over its results."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.runs.multi_worker_support import GATE, ROWS, Workers, alive, start, workers_env
from tests.runs.multi_worker_support import client as client  # the fixtures, as pytest finds them
from tests.runs.multi_worker_support import fake as fake
from tests.runs.multi_worker_support import rb as rb
from tests.runs.multi_worker_support import server as server
from tests.runs.multi_worker_support import workers as workers

from rubricate import Rubricate
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.models.journal import SENT
from rubricate.store.tables import JudgeResultRecord, RunCallRecord
from rubricate.testing.fake_openai import FakeOpenAI, RunningFake

ANSWERED = 20  # two batches of 8 saved, and 4 replies of the third journaled only


def journaled_replies(rb: Rubricate, run_id: str) -> int:
    """The run's calls whose reply is in its journal (not merely marked sent)."""
    with rb.db.read() as session:
        stored = session.scalars(select(RunCallRecord.reply).where(RunCallRecord.run_id == run_id))
        return sum(1 for reply in stored if SENT not in reply)


@pytest.fixture
def env(database_url: str, server: RunningFake) -> dict[str, str]:
    # Never taken for dead on a busy machine: only the kill and the restart explain recovery.
    return workers_env(database_url, server, batch_rows=8, dead_after=60)


def test_a_crashed_run_counts_every_request_the_provider_received_once(
    rb: Rubricate, fake: FakeOpenAI, workers: Workers
) -> None:
    workers.start("w-a")
    workers.wait(lambda: alive(rb, "w-a"), 30, "A up")
    GATE.hold("", after=ANSWERED)
    run_id = start(rb, "crash-costs")
    workers.wait(lambda: GATE.held("") == 4, 60, "the third batch half answered")
    workers.wait(lambda: rb.evaluation_runs.get(run_id).rows_done == 16, 30, "two batches")
    # The journal writes replies in groups, milliseconds after they come in: kill only once
    # the 4 answered are durable (a kill inside that window re-sends them, which is the
    # crash the journal cannot cover, not the one this test is about).
    workers.wait(lambda: journaled_replies(rb, run_id) == ANSWERED, 30, "4 replies journaled")
    workers.kill("w-a")
    GATE.open()
    workers.restart("w-a")
    workers.wait(lambda: rb.evaluation_runs.get(run_id).status.finished, 90, "the resumed run")

    run = rb.evaluation_runs.get(run_id)
    assert run.status is EvaluationRunStatus.COMPLETED, workers.logs()
    assert fake.requests_total == ROWS + 4  # the 4 held were sent again
    assert (run.calls, run.cache_hits) == (fake.requests_total, 0), (run, workers.logs())
    with rb.db.read() as session:
        mine = JudgeResultRecord.evaluation_run_id == run_id
        tokens = session.execute(
            select(
                func.sum(JudgeResultRecord.input_tokens),
                func.sum(JudgeResultRecord.output_tokens),
                func.count().filter(JudgeResultRecord.cached.is_(True)),
            ).where(mine)
        ).one()
    assert (run.input_tokens, run.output_tokens, 0) == tuple(tokens)
