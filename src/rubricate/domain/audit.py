"""The audit log: who changed what a team relies on, and when. Every resolution, accept,
reject, guideline edit, metric version, pin and queue decision is one event, written in
the same transaction as the change it records (so neither exists without the other)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AuditAction(StrEnum):
    ROW_RESOLVED = "row.resolved"  # an admin's value for one row
    POLICY_APPLIED = "policy.applied"  # a resolution policy over an evaluation
    RUN_ACCEPTED = "run.accepted"
    RUN_REJECTED = "run.rejected"
    GUIDELINE_EDITED = "guideline.edited"
    GUIDELINE_STRUCK = "guideline.struck"
    GUIDELINE_RESTORED = "guideline.restored"
    METRIC_CREATED = "metric.created"
    VERSION_ADDED = "version.added"  # a prompt edit: a new version, made active
    VERSION_PINNED = "version.pinned"
    VERSION_UNPINNED = "version.unpinned"
    QUEUE_CREATED = "queue.created"
    QUEUE_CLOSED = "queue.closed"
    ROW_SENT_BACK = "row.sent_back"
    GOLD_SET = "gold.set"  # an admin's known right score of a row (a gold row)
    GOLD_REMOVED = "gold.removed"


# A reviewer's edit of a run's guideline (alignment.ReviewEdit.action) as it is logged.
GUIDELINE_ACTIONS = {
    "edit": AuditAction.GUIDELINE_EDITED,
    "strike": AuditAction.GUIDELINE_STRUCK,
    "restore": AuditAction.GUIDELINE_RESTORED,
}

UNKNOWN_ACTOR = "python"  # a change made through the Python API without naming anyone


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    at: datetime
    actor: str
    action: AuditAction
    subject: str  # what changed, as the user names it ("metric tone", "run r-12")
    detail: dict[str, Any] = field(default_factory=dict)
