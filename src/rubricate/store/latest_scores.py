"""An evaluation's rows beside each one's newest scored result of one metric version (the
rule of store.version_comparison.latest_scored: a re-score replaces an earlier score, a
failed call never hides one), a page at a time in file order, for sending scores back to
where the rows came from. Rows the version has not scored come with no score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rubricate.store.tables import JudgeResultRecord, RowRecord
from rubricate.store.version_comparison import latest_scored


@dataclass(frozen=True, slots=True)
class RowScore:
    position: int  # with row_id, where the next page starts
    row_id: int
    row: str  # the row's id in the user's files
    metadata: dict[str, Any]
    score: float | None  # None: the version has no scored result on the row
    rationale: str | None
    model: str | None
    run_id: str | None  # the evaluation run that scored it (None: imported)


def row_scores(
    session: Session,
    evaluation_id: int,
    version_id: int,
    after: tuple[int, int] | None,
    limit: int,
) -> list[RowScore]:
    """Up to ``limit`` rows after ``after`` (a row's position and id), in file order."""
    latest = latest_scored(evaluation_id, version_id)
    query = (
        select(
            RowRecord.position,
            RowRecord.id,
            RowRecord.external_id,
            RowRecord.row_metadata,
            JudgeResultRecord.score,
            JudgeResultRecord.rationale,
            JudgeResultRecord.judge_model,
            JudgeResultRecord.evaluation_run_id,
        )
        .outerjoin(latest, latest.c.row_id == RowRecord.id)
        .outerjoin(JudgeResultRecord, JudgeResultRecord.id == latest.c.result_id)
        .where(RowRecord.evaluation_id == evaluation_id)
        .order_by(RowRecord.position, RowRecord.id)
        .limit(limit)
    )
    if after is not None:
        position, row_id = after
        query = query.where(
            or_(
                RowRecord.position > position,
                (RowRecord.position == position) & (RowRecord.id > row_id),
            )
        )
    return [RowScore(*found) for found in session.execute(query)]
