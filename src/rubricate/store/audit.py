"""The audit log's table and queries: write an event in the caller's transaction, read a
page of them newest first, stream them all for an export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from rubricate.domain.audit import UNKNOWN_ACTOR, AuditAction, AuditEvent
from rubricate.store.column_types import JSONType
from rubricate.store.tables import Base, utcnow

SUBJECT_CHARS = 300


class AuditEventRecord(Base):
    """One change in the audit log (domain/audit.py), written with the change itself."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


def record_event(
    session: Session,
    actor: str | None,
    action: AuditAction,
    subject: str,
    **detail: Any,
) -> None:
    """Add one event to the change being written (it commits or rolls back with it)."""
    session.add(
        AuditEventRecord(
            actor=(actor or UNKNOWN_ACTOR)[:200],
            action=action.value,
            subject=subject[:SUBJECT_CHARS],
            detail=detail,
        )
    )


def event_page(
    session: Session, offset: int, limit: int, action: AuditAction | None = None
) -> tuple[int, list[AuditEvent]]:
    """How many events (of ``action``) there are, and ``limit`` of them from ``offset``,
    newest first."""
    where = [] if action is None else [AuditEventRecord.action == action.value]
    total = session.scalar(select(func.count()).select_from(AuditEventRecord).where(*where))
    found = session.scalars(
        select(AuditEventRecord)
        .where(*where)
        .order_by(AuditEventRecord.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return int(total or 0), [_event(r) for r in found]


def every_event(session: Session) -> Iterator[AuditEvent]:
    """Every event, oldest first, streamed."""
    query = select(AuditEventRecord).order_by(AuditEventRecord.id)
    for record in session.scalars(query.execution_options(yield_per=1000)):
        yield _event(record)


def _event(record: AuditEventRecord) -> AuditEvent:
    # tables.py imports this module: the mapping (and the domain it loads) waits for a read
    from rubricate.store.mapping import from_record

    return from_record(
        AuditEvent, record, action=AuditAction(record.action), detail=dict(record.detail or {})
    )
