"""Starting runs with a run id (the idempotency key): a repeated alignment start returns
its run even while a source evaluation is being scored again, and evaluation and alignment
runs never share an id (a run's journal and its workflow are keyed by the id alone)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.alignment.alignment_support import EVALUATION, METRIC, load

from rubricate import Rubricate
from rubricate.domain.errors import Conflict, InvalidInput
from rubricate.models import fake


@pytest.fixture
def workspace(rb: Rubricate, tmp_path: Path) -> Iterator[Rubricate]:
    load(rb, tmp_path, rows=30)
    with fake.registered("judge", lambda call: {"score": 3, "rationale": "x"}):
        yield rb


def start_alignment(rb: Rubricate, run_id: str | None, delta: float = 1) -> str:
    run = rb.alignment_runs.start(
        metric=METRIC, evaluations=[EVALUATION], delta=delta, run_id=run_id
    )
    return run.id


def start_evaluation(rb: Rubricate, run_id: str | None) -> str:
    run = rb.evaluation_runs.start(
        metric=METRIC, evaluation=EVALUATION, model="fake:judge", run_id=run_id
    )
    return run.id


def test_a_repeated_alignment_start_returns_its_run_while_a_source_is_being_scored(
    workspace: Rubricate,
) -> None:
    workspace.alignment_runs.start(
        metric=METRIC, evaluations=[EVALUATION], delta=1, run_id="align-1"
    )
    first = workspace.alignment_runs.cancel("align-1")  # finished: its sources may be scored
    start_evaluation(workspace, None)  # Pending: the evaluation is being scored again

    again = workspace.alignment_runs.start(
        metric=METRIC, evaluations=[EVALUATION], delta=1, run_id="align-1"
    )
    assert again == first
    assert [r.id for r in workspace.alignment_runs.list(METRIC)] == ["align-1"]
    with pytest.raises(Conflict, match="other parameters"):  # the key still means one request
        start_alignment(workspace, "align-1", delta=2)
    with pytest.raises(InvalidInput, match="scoring is still under way"):  # a new run waits
        start_alignment(workspace, "align-2")
    assert len(workspace.alignment_runs.list(METRIC)) == 1


def test_an_evaluation_run_cannot_take_an_alignment_runs_id(workspace: Rubricate) -> None:
    start_alignment(workspace, "shared-id")
    with pytest.raises(Conflict, match="'shared-id' is already used by an alignment run"):
        start_evaluation(workspace, "shared-id")
    assert workspace.evaluation_runs.list() == []


def test_an_alignment_run_cannot_take_an_evaluation_runs_id(workspace: Rubricate) -> None:
    evaluation_run = start_evaluation(workspace, "shared-id")
    workspace.evaluation_runs.cancel(evaluation_run)  # the source is no longer being scored
    with pytest.raises(Conflict, match="'shared-id' is already used by an evaluation run"):
        start_alignment(workspace, "shared-id")
    assert workspace.alignment_runs.list(METRIC) == []
    # The refusal is about the id: with another one the same start succeeds.
    assert start_alignment(workspace, "other-id") == "other-id"


def test_repeated_starts_of_one_kind_still_return_their_run(workspace: Rubricate) -> None:
    assert start_evaluation(workspace, "eval-3") == start_evaluation(workspace, "eval-3")
    assert [r.id for r in workspace.evaluation_runs.list()] == ["eval-3"]
    workspace.evaluation_runs.cancel("eval-3")  # the source is no longer being scored
    assert start_alignment(workspace, "align-3") == start_alignment(workspace, "align-3")
