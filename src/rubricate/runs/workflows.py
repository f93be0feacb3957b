"""The workflows. Their only argument is a run id (DBOS stores arguments: never a secret);
each step opens the workspace from the worker's own settings. Steps write with upserts
and model calls are journaled per run, so a step run again after a crash pays only for
the calls that were in flight."""

from __future__ import annotations

import functools

from dbos import DBOS

from rubricate.domain.errors import RubricateError
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.runs.names import ALIGNMENT, EVALUATION, MAX_ATTEMPTS
from rubricate.service.workspace import Rubricate
from rubricate.settings import Settings

_settings: list[Settings] = []  # the worker's, set before it launches


def configure(settings: Settings) -> None:
    _settings[:] = [settings]
    workspace.cache_clear()


@functools.cache
def workspace() -> Rubricate:
    """The worker's workspace, opened once per process from its settings."""
    return Rubricate(_settings[0] if _settings else Settings())


# -- evaluation runs -------------------------------------------------------------------


@DBOS.step()
def score_evaluation_batch(run_id: str) -> int:
    """Score one batch of rows; the rows the run still has to score afterwards."""
    rb = workspace()
    try:
        run = rb.evaluation_runs.run(run_id, max_rows=rb.settings.run_batch_rows)
    except RubricateError:
        return 0  # the run is in Error, with the detail
    if run.status is not EvaluationRunStatus.RUNNING:
        return 0
    return max(0, run.rows_total - run.rows_done)


@DBOS.workflow(name=EVALUATION, max_recovery_attempts=MAX_ATTEMPTS)
def evaluation_workflow(run_id: str) -> str:
    while score_evaluation_batch(run_id) > 0:
        pass
    return finish_evaluation(run_id)


@DBOS.step()
def finish_evaluation(run_id: str) -> str:
    return workspace().evaluation_runs.get(run_id).status.value


# -- alignment runs --------------------------------------------------------------------


@DBOS.step()
def carry_out_alignment(run_id: str) -> str:
    """The engine's phases; each writes its progress, and every model call is journaled,
    so running this step again after a crash replays the finished calls."""
    runs = workspace().alignment_runs
    try:
        return runs.run(run_id).status.value
    except RubricateError:
        return runs.get(run_id).status.value


@DBOS.workflow(name=ALIGNMENT, max_recovery_attempts=MAX_ATTEMPTS)
def alignment_workflow(run_id: str) -> str:
    return carry_out_alignment(run_id)
