"""The workflows. Their only argument is a run id (DBOS stores arguments: never a secret);
each step opens the workspace from the worker's own settings. Steps write with upserts
and model calls are journaled per run, so a step run again after a crash pays only for
the calls that were in flight."""

from __future__ import annotations

import functools
from typing import Any

from dbos import DBOS

from rubricate.alignment.engine import AlignmentEngine
from rubricate.alignment.stages import STAGES, Carried, Stage
from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.errors import RubricateError
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.domain.run_status import RunState
from rubricate.runs.cancel_log import report_cancelled
from rubricate.runs.names import ALIGNMENT, EVALUATION, MAX_ATTEMPTS, NOT_VERIFIED_AGAIN, VERIFY
from rubricate.service.workspace import Rubricate
from rubricate.settings import Settings

RECOVERIES = MAX_ATTEMPTS - 1  # DBOS counts recoveries after the first run

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


@DBOS.workflow(name=EVALUATION, max_recovery_attempts=RECOVERIES)
def evaluation_workflow(run_id: str) -> str:
    while score_evaluation_batch(run_id) > 0:
        pass
    return finish_evaluation(run_id)


@DBOS.step()
def finish_evaluation(run_id: str) -> str:
    return _ended(run_id, workspace().evaluation_runs.get(run_id).status)


# -- alignment runs --------------------------------------------------------------------


@DBOS.step()
def alignment_stage(run_id: str, stage: str, carried: dict[str, Any]) -> dict[str, Any]:
    """One stage of the engine (prepare: loading and traces; distill; verify; finish). What
    goes in and out is plain JSON, what DBOS records: ``Carried``'s stored form, read in
    any format an earlier version wrote (a run in flight across an upgrade). Its model
    calls are journaled, so a stage run again after a crash replays the calls it had
    finished."""
    rb = workspace()
    given = Carried.from_stored(carried)
    try:
        done = AlignmentEngine(rb.db, rb.settings).run_stage(run_id, Stage(stage), given)
    except RubricateError:
        done = given.stop()  # the run is in Error, with the detail
    return done.to_stored()


@DBOS.workflow(name=ALIGNMENT, max_recovery_attempts=RECOVERIES)
def alignment_workflow(run_id: str) -> str:
    carried = Carried().to_stored()
    for stage in STAGES:
        carried = alignment_stage(run_id, stage.value, carried)
        if Carried.from_stored(carried).stopped:
            break
    return finish_alignment(run_id)


@DBOS.step()
def finish_alignment(run_id: str) -> str:
    return _ended(run_id, workspace().alignment_runs.get(run_id).status)


def _ended(run_id: str, status: RunState) -> str:
    """A run's last step, of either kind: its status, and a cancel it ended by before its
    workflow's cancel arrived, reported."""
    if status in (RunStatus.CANCELLED, EvaluationRunStatus.CANCELLED):
        report_cancelled(run_id)
    return status.value


# -- verify again ----------------------------------------------------------------------


@DBOS.step()
def verify_again_step(run_id: str) -> str:
    """Verify an Aligned run's current guidelines again (one step: the run stays Aligned,
    and only a finished check is stored; after a crash it is made again, from the start)."""
    rb = workspace()
    try:
        rb.verifying.run(run_id)
    except RubricateError as error:
        return f"{NOT_VERIFIED_AGAIN}{error}"
    return "verified again"


@DBOS.workflow(name=VERIFY, max_recovery_attempts=RECOVERIES)
def verify_workflow(run_id: str) -> str:
    return verify_again_step(run_id)
