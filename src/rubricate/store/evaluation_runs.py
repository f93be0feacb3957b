"""Evaluation runs in the database: finding one, the rows it has left to score, its failed
rows and its counts (its id is claimed in store/run_ids.py)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import and_, exists, func, select, tuple_
from sqlalchemy.orm import Session

from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.evaluation_runs import RowError
from rubricate.store.tables import (
    AlignmentRunEvaluationRecord,
    AlignmentRunRecord,
    EvaluationRunRecord,
    JudgeResultRecord,
    RowRecord,
)


def failed_rows(session: Session, run_id: str, *, limit: int) -> tuple[list[RowError], int]:
    """The first ``limit`` rows the run could not score, in the evaluation's order, with
    their errors; and how many there are in all."""
    failed = (JudgeResultRecord.evaluation_run_id == run_id) & JudgeResultRecord.error.is_not(None)
    total = session.scalar(select(func.count()).select_from(JudgeResultRecord).where(failed))
    query = (
        select(RowRecord.external_id, JudgeResultRecord.error)
        .join(RowRecord, RowRecord.id == JudgeResultRecord.row_id)
        .where(failed)
        .order_by(RowRecord.position, RowRecord.id)
        .limit(limit)
    )
    return [RowError(row, error or "") for row, error in session.execute(query)], total or 0


def result_counts(session: Session, run_id: str) -> tuple[int, int]:
    """Rows the run has a result for, and of those the ones that failed: counted from the
    results themselves, so a batch written twice (two workers, one paused mid-write)
    never counts twice."""
    done, failed = session.execute(
        select(func.count(), func.count(JudgeResultRecord.error)).where(
            JudgeResultRecord.evaluation_run_id == run_id
        )
    ).one()
    return int(done), int(failed)


def evaluation_runs(session: Session, evaluation_id: int | None) -> list[EvaluationRunRecord]:
    """Runs, newest first; of one evaluation when its id is given."""
    query = select(EvaluationRunRecord).order_by(
        EvaluationRunRecord.created_at.desc(), EvaluationRunRecord.id
    )
    if evaluation_id is not None:
        query = query.where(EvaluationRunRecord.evaluation_id == evaluation_id)
    return list(session.scalars(query))


def find_evaluation_run(session: Session, run_id: str) -> EvaluationRunRecord:
    record = session.get(EvaluationRunRecord, run_id)
    if record is None:
        raise NotFound(f"no evaluation run {run_id!r} (see `rubricate evaluate list`)")
    return record


def row_batches(
    session: Session, evaluation_id: int, run_id: str | None, size: int
) -> Iterator[list[RowRecord]]:
    """Rows in file order, ``size`` at a time; with ``run_id``, only rows that run has not
    scored yet. Keyset paging keeps memory flat whatever the evaluation's size."""
    after: tuple[int, int] | None = None
    while batch := rows_after(session, evaluation_id, run_id, after, size):
        yield batch
        after = (batch[-1].position, batch[-1].id)


def rows_after(
    session: Session,
    evaluation_id: int,
    run_id: str | None,
    after: tuple[int, int] | None,
    size: int,
) -> list[RowRecord]:
    """Up to ``size`` rows after ``after`` (position, id) in file order; with ``run_id``,
    only rows that run has not scored yet."""
    query = select(RowRecord).where(RowRecord.evaluation_id == evaluation_id)
    if run_id is not None:
        scored = exists().where(
            and_(
                JudgeResultRecord.evaluation_run_id == run_id,
                JudgeResultRecord.row_id == RowRecord.id,
            )
        )
        query = query.where(~scored)
    if after is not None:
        query = query.where(tuple_(RowRecord.position, RowRecord.id) > tuple_(*after))
    return list(session.scalars(query.order_by(RowRecord.position, RowRecord.id).limit(size)))


def check_not_being_aligned(
    session: Session, evaluation_id: int, name: str, metric_id: int
) -> None:
    """An alignment run in flight reads the evaluation's judge results for the metric at
    every stage: scoring it meanwhile would change what its later stages read."""
    aligning = session.scalar(
        select(AlignmentRunRecord.id)
        .join(
            AlignmentRunEvaluationRecord,
            AlignmentRunEvaluationRecord.run_id == AlignmentRunRecord.id,
        )
        .where(
            AlignmentRunEvaluationRecord.evaluation_id == evaluation_id,
            AlignmentRunRecord.metric_id == metric_id,
            AlignmentRunRecord.status.in_(["pending", "running"]),
        )
        .limit(1)
    )
    if aligning is not None:
        raise InvalidInput(
            f"evaluation {name!r} is a source of alignment run {aligning}, which "
            "is under way: wait for it to finish or cancel it first",
            field="evaluation",
        )
