"""Gold rows (issue 15, item 3): an admin's known right score of a row on a metric, with
an optional note. A review queue on the metric mixes the evaluation's gold rows into each
reviewer's stream at its gold rate (service/queue_reviews.py), and each reviewer's
reviews of them measure their accuracy. A gold score is never shown to a reviewer: only
admins read, set and remove them, and each change is in the audit log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rubricate.domain.audit import AuditAction
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.queues import NOTE_MAX_CHARS, GoldScore
from rubricate.domain.users import User
from rubricate.service.annotations import score_on
from rubricate.service.base import Service
from rubricate.service.queues import active_of
from rubricate.store import gold as store
from rubricate.store.audit import record_event
from rubricate.store.evaluations import find_evaluation, row_named
from rubricate.store.metrics import find_metric
from rubricate.store.queue_tables import GoldScoreRecord
from rubricate.store.tables import MetricRecord, RowRecord, utcnow


class GoldService(Service):
    def list(self, evaluation: str, metric: str, *, by: User) -> list[GoldScore]:
        """The evaluation's gold rows on the metric, in row order (admins only)."""
        by.require_admin("see gold scores")
        with self._db.read() as session:
            evaluation_id = find_evaluation(session, evaluation).id
            metric_id = find_metric(session, metric).id
            found = store.gold_scores(session, evaluation_id, metric_id)
        return [_gold(evaluation, metric, row, record) for row, record in found]

    def set(
        self,
        evaluation: str,
        metric: str,
        row_id: str,
        score: float | str,
        *,
        note: str | None = None,
        by: User,
    ) -> GoldScore:
        """Make a row gold on the metric, or change its gold score or note. The score is
        checked against the metric's active scale (a label or a number)."""
        by.require_admin("set a gold score")
        note = (note or "").strip() or None
        if note is not None and len(note) > NOTE_MAX_CHARS:
            raise InvalidInput(f"a note is at most {NOTE_MAX_CHARS} characters", field="note")
        with self._db.write() as session:
            row, metric_record = _row_and_metric(session, evaluation, metric, row_id)
            value = score_on(active_of(session, metric_record).scale, score, "score")
            record = store.gold_of(session, row.id, metric_record.id)
            if record is None:
                record = GoldScoreRecord(row_id=row.id, metric_id=metric_record.id)
                session.add(record)
            record.score, record.note, record.set_by, record.set_at = value, note, by.name, utcnow()
            session.flush()
            record_event(
                session, by.name, AuditAction.GOLD_SET, f"row {row_id}",
                evaluation=evaluation, metric=metric, score=value, note=note,
            )  # fmt: skip
            return _gold(evaluation, metric, row_id, record)

    def remove(self, evaluation: str, metric: str, row_id: str, *, by: User) -> None:
        """The row is gold no more: no queue hands it out as gold from now on, and the
        reviews of it leave reviewers' accuracy. NotFound when it was not gold."""
        by.require_admin("remove a gold score")
        with self._db.write() as session:
            row, metric_record = _row_and_metric(session, evaluation, metric, row_id)
            record = store.gold_of(session, row.id, metric_record.id)
            if record is None:
                raise NotFound(f"row {row_id!r} of {evaluation!r} is not gold on {metric!r}")
            session.delete(record)
            record_event(
                session, by.name, AuditAction.GOLD_REMOVED, f"row {row_id}",
                evaluation=evaluation, metric=metric,
            )  # fmt: skip


def _row_and_metric(
    session: Session, evaluation: str, metric: str, row_id: str
) -> tuple[RowRecord, MetricRecord]:
    evaluation_id = find_evaluation(session, evaluation).id
    row = row_named(session, evaluation_id, row_id)
    if row is None:
        raise NotFound(f"evaluation {evaluation!r} has no row {row_id!r}")
    return row, find_metric(session, metric)


def _gold(evaluation: str, metric: str, row_id: str, record: GoldScoreRecord) -> GoldScore:
    """The domain value: where the row is, and what the record says of it."""
    said = {name: getattr(record, name) for name in ("score", "note", "set_by", "set_at")}
    return GoldScore(evaluation=evaluation, metric=metric, row_id=row_id, **said)
