"""The life of alignment and evaluation runs as a Hypothesis state machine: runs are started
(the run id is the idempotency key; keys repeat, and one key is wanted by both kinds),
cancelled (also during a step), carried out by a worker that dies part way, recovered,
retried and accepted, in any order. A plain-Python model of each run sits beside the real
workspace; after every step the two agree and the invariants hold.

The machine and its model are in run_life_machine.py; here, generated runs of it, scenarios
played through it, and one of its rules checked directly: a source of an alignment run in
flight is not scored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from tests.alignment.alignment_support import EVALUATION, METRIC, load, write_dataset
from tests.runs.run_life_machine import ROWS, SCORED, Databases, Env, RunLife

from rubricate import Rubricate
from rubricate.alignment.engine import AlignmentEngine
from rubricate.alignment.stages import Carried, Stage
from rubricate.domain.errors import InvalidInput
from rubricate.models import fake
from rubricate.store.tables import EvaluationRunRecord


@pytest.fixture
def env(_databases: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    for name, rows in ROWS.items():
        write_dataset(tmp_path / name, rows)
    RunLife.env = Env(_databases, tmp_path, monkeypatch)
    return RunLife.env


def test_runs_keep_to_their_life_cycle(env: Env) -> None:
    run_state_machine_as_test(
        RunLife,
        settings=settings(
            derandomize=True, database=None, max_examples=25, stateful_step_count=12, deadline=None
        ),
    )


# Paths that 25 generated examples may miss, played through the same model and invariants:
# (rule, its arguments in order) and, at the end, each run's status and the accepted runs.
SCENARIOS: dict[str, tuple[list[tuple[Any, ...]], dict[str, str], set[str]]] = {
    "an outage, a retry, a torn stage; accepted, then left alone": (
        [("first_alignment", True), ("first_evaluation", SCORED),
         ("crash", "a1", 3, False, "outage"), ("retry", "a1"), ("crash", "a1", 3, True, "none"),
         ("recover", "a1", "none"), ("accept", "a1", False), ("accept", "a1", True),
         ("cancel", "a1", True), ("recover", "a1", "outage"), ("retry", "a1")],
        {"a1": "aligned", "e1": "pending"}, {"a1"},
    ),
    "a run based on a replaced version is accepted only merged": (
        [("first_alignment", False), ("start_alignment", "a2", False), ("recover", "a1", "none"),
         ("recover", "a2", "none"), ("accept", "a1", False), ("accept", "a2", False),
         ("accept", "a2", True)],
        {"a1": "aligned", "a2": "aligned"}, {"a1", "a2"},
    ),
    "an evaluation run stopped, retried, cancelled mid-batch; one id for two kinds": (
        [("first_evaluation", SCORED), ("crash", "e1", 1, False, "none"),
         ("recover", "e1", "outage"), ("retry", "e1"), ("recover", "e1", "cancel"),
         ("retry", "e1"), ("start_evaluation", "e1", SCORED),
         ("start_evaluation", "x", EVALUATION), ("start_alignment", "a2", False),
         ("start_alignment", "x", False), ("recover", "x", "none"), ("accept", "x", False)],
        {"e1": "cancelled", "x": "completed"}, set(),
    ),
    "cancelled while verifying": (
        [("first_alignment", True), ("recover", "a1", "cancel")], {"a1": "cancelled"}, set()
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(env: Env, name: str) -> None:
    steps, statuses, accepted = SCENARIOS[name]
    machine = RunLife()
    try:
        for rule_name, *arguments in steps:
            getattr(machine, rule_name)(*arguments)
            machine.each_run_is_as_the_model_says()
            machine.one_run_per_key_and_one_result_per_row()
            machine.accepted_results_never_change()
        assert {key: run.status for key, run in machine.runs.items()} == statuses
        assert set(machine.accepted) == accepted
    finally:
        machine.teardown()


# -- scoring a source evaluation while an alignment run is part way through -------------


def test_a_source_of_an_alignment_in_flight_is_not_scored(rb: Rubricate, tmp_path: Path) -> None:
    """Every stage of an alignment run re-reads its sources: an evaluation run of one of
    them (a new one, or a retry) waits until the alignment run is finished."""
    load(rb, tmp_path, rows=30)
    with fake.registered("judge", lambda call: {"score": 3, "rationale": "x"}):
        failed = rb.evaluation_runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
        with rb.db.write() as session:  # an Error run, to be retried
            session.get_one(EvaluationRunRecord, failed.id).status = "error"
        rb.alignment_runs.start(metric=METRIC, evaluations=[EVALUATION], delta=1, run_id="a1")
        AlignmentEngine(rb.db, rb.settings).run_stage("a1", Stage.PREPARE, Carried())
        with pytest.raises(InvalidInput, match="source of alignment run a1"):
            rb.evaluation_runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
        with pytest.raises(InvalidInput, match="source of alignment run a1"):
            rb.evaluation_runs.retry(failed.id)
        rb.alignment_runs.cancel("a1")
        assert rb.evaluation_runs.retry(failed.id).status.value == "pending"
        started = rb.evaluation_runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
        assert started.status.value == "pending"
