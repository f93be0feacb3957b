"""A worker stopped on purpose (Ctrl-C, SIGTERM) while it carries a run: it takes no more
runs, lets the step in flight end, and hands the run over; another worker finishes it at
once, without waiting for the stopped worker's heartbeat to grow old, and without paying
again for a call the stopped worker finished. A worker stopped with nothing in flight is
simply stopped. The workers are those of test_multi_worker (same fake server and gate),
but here a worker is taken for dead only after a minute, so that only the hand-over can
explain a quick recovery."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOSClient
from tests.runs.multi_worker_support import (
    CALLS_AT_ONCE,
    GATE,
    ROWS,
    Workers,
    alive,
    leaders,
    record,
    running_on,
    scores,
    start,
    workflow,
)
from tests.runs.multi_worker_support import client as client  # the fixtures, as pytest finds them
from tests.runs.multi_worker_support import fake as fake
from tests.runs.multi_worker_support import rb as rb
from tests.runs.multi_worker_support import server as server
from tests.runs.workers import worker_env

from rubricate import Rubricate
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.runs.names import HEARTBEAT_SECONDS
from rubricate.testing.fake_openai import FakeOpenAI, RunningFake

KEY = "sk-multi-worker-key-3"  # the key test_multi_worker's fake server expects
DEAD_AFTER = 60.0  # far longer than any wait below
# Gate opened to completion: the step in flight ends and the worker exits (a few seconds on
# a busy machine), the survivor's next look (< one beat; on PostgreSQL one more to take the
# leader's lock), a queue poll and the rest of the run; far below DEAD_AFTER.
HANDOVER_BOUND = 3 * HEARTBEAT_SECONDS + 10.0


@pytest.fixture
def workers(database_url: str, server: RunningFake, tmp_path: Path) -> Iterator[Workers]:
    env = worker_env(
        database_url,
        server.base_url,
        KEY,
        RUBRICATE_RUN_BATCH_ROWS="8",
        RUBRICATE_WORKER_DEAD_AFTER=f"{DEAD_AFTER:g}",
    )
    pool = Workers(env, tmp_path)
    try:
        yield pool
    finally:
        pool.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_worker_stopped_mid_run_hands_it_to_the_other_at_once(
    rb: Rubricate, fake: FakeOpenAI, workers: Workers, client: DBOSClient, signum: int
) -> None:
    """A leads and takes the run; B starts; A is stopped with calls held in flight. A keeps
    beating while the step in flight ends (the run stays A's meanwhile), then exits; B
    takes the lead if it must, recovers the run and finishes it, long before A's
    heartbeat would have looked dead."""
    fake.latency = 0.1
    workers.start("w-a")
    workers.wait(lambda: alive(rb, "w-a") and leaders(rb) == 1, 30, "A up and leading")
    GATE.hold("", after=16)  # two batches answered, the third held in flight
    run_id = start(rb, f"stopped-{signum}")
    workers.wait(lambda: GATE.held("") == CALLS_AT_ONCE, 30, "A at the run's third batch")
    workers.start("w-b")
    workers.wait(lambda: alive(rb, "w-b"), 30, "B up")

    workers.signal("w-a", signum)
    time.sleep(2 * HEARTBEAT_SECONDS)
    assert workers.processes["w-a"].poll() is None  # draining the step in flight
    assert running_on(client, run_id) == "w-a"  # not taken from it meanwhile
    assert alive(rb, "w-a")  # still beating
    GATE.open()
    stopped = time.monotonic()
    workers.wait(lambda: workers.processes["w-a"].poll() is not None, 30, "A to exit")
    workers.wait(lambda: rb.evaluation_runs.get(run_id).status.finished, 60, "the run")
    handover = time.monotonic() - stopped
    print(f"\nworker stopped mid-run: run finished {handover:.1f} s after its calls returned")

    assert workers.processes["w-a"].returncode == 0, workers.logs()
    assert rb.evaluation_runs.get(run_id).status is EvaluationRunStatus.COMPLETED, workers.logs()
    workers.wait(lambda: workflow(client, run_id).status == "SUCCESS", 10, "the workflow's end")
    assert workflow(client, run_id).executor_id == "w-b"
    assert handover <= HANDOVER_BOUND, handover
    assert "w-a stopped: recovering its runs" in workers.logs()
    stopped_a = record(rb, "w-a")
    assert stopped_a is not None and stopped_a.stopped_at is not None  # marked by the leader
    # A finished the calls it had in flight; B found them done and paid for none again.
    assert fake.duplicate_requests == 0
    assert fake.requests_total == ROWS
    assert len(scores(rb, run_id)) == ROWS


def test_a_worker_stopped_with_nothing_in_flight_is_stopped(
    rb: Rubricate, fake: FakeOpenAI, workers: Workers
) -> None:
    workers.start("w-a")
    workers.wait(lambda: alive(rb, "w-a"), 30, "A up")
    workers.signal("w-a", signal.SIGINT)
    workers.wait(lambda: workers.processes["w-a"].poll() is not None, 30, "A to exit")
    assert workers.processes["w-a"].returncode == 0, workers.logs()
    found = record(rb, "w-a")
    assert found is not None and found.stopped_at is not None
    assert found.heartbeat_at > found.started_at  # not handed over: nothing to hand
