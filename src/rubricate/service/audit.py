"""Reading the audit log: a page of events for an admin, or all of them as JSON lines
(an export). Events are written by the use cases that make the changes (store.audit)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from rubricate.domain.audit import AuditAction, AuditEvent
from rubricate.domain.errors import InvalidInput
from rubricate.domain.users import User
from rubricate.service.base import Service
from rubricate.store.audit import event_page, every_event


class AuditService(Service):
    def events(
        self,
        *,
        by: User,
        offset: int = 0,
        limit: int = 50,
        action: AuditAction | str | None = None,
    ) -> tuple[int, list[AuditEvent]]:
        """How many events there are (of ``action``), and a page of them, newest first."""
        by.require_admin("read the audit log")
        chosen = _action(action) if action is not None else None
        with self._db.read() as session:
            return event_page(session, offset, limit, chosen)

    def export_lines(self, *, by: User) -> Iterator[str]:
        """Every event, oldest first, as JSON lines (refused at the call, not at the first
        line read, for a user who is not an admin)."""
        by.require_admin("export the audit log")
        return self._lines()

    def _lines(self) -> Iterator[str]:
        with self._db.read() as session:
            for event in every_event(session):
                yield json.dumps(as_json(event), ensure_ascii=False) + "\n"


def _action(text: AuditAction | str) -> AuditAction:
    try:
        return AuditAction(text)
    except ValueError:
        known = ", ".join(a.value for a in AuditAction)
        raise InvalidInput(f"unknown action {text!r}: use one of {known}", field="action") from None


def as_json(event: AuditEvent) -> dict[str, object]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action.value,
        "subject": event.subject,
        "detail": event.detail,
    }
