"""The tables of review queues: a queue on an evaluation and a metric, its reviewers, its
rows (items) with how many counted reviews each needs, and one assignment per row and
reviewer: the lease while it is open, then the review or the skip. One assignment per
(row, reviewer) is what makes "no row twice to one reviewer" a constraint, not a check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rubricate.store.tables import Base, owned_by, utcnow


class ReviewQueueRecord(Base):
    __tablename__ = "review_queues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    evaluation_id: Mapped[int] = owned_by("evaluations")
    metric_id: Mapped[int] = owned_by("metrics")
    selection: Mapped[str] = mapped_column(String(200))  # how its rows were chosen, in words
    selection_kind: Mapped[str] = mapped_column(String(16), server_default="all")  # Selection
    reviews_per_row: Mapped[int] = mapped_column(Integer)
    blind: Mapped[bool] = mapped_column(Boolean)
    lease_seconds: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)  # rows it holds (fixed at creation)
    gold_rate: Mapped[float] = mapped_column(Float, default=0.0)  # share of gold rows handed
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()


class QueueReviewerRecord(Base):
    __tablename__ = "queue_reviewers"

    queue_id: Mapped[int] = owned_by("review_queues", primary_key=True)
    reviewer: Mapped[str] = mapped_column(String(200), primary_key=True)


class QueuePart:
    """A queue's row or assignment: an id of its own, and the queue, deleted with it."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = owned_by("review_queues")


class QueueItemRecord(QueuePart, Base):
    """A row of a queue: ``needed`` counted reviews (the queue's number, plus one for each
    time an admin sent it back), ``counted`` so far; ``done`` once they are equal."""

    __tablename__ = "queue_items"
    __table_args__ = (
        UniqueConstraint("queue_id", "row_id"),
        Index("ix_queue_items_open", "queue_id", "done", "position"),
    )

    row_id: Mapped[int] = owned_by("rows")
    position: Mapped[int] = mapped_column(Integer)
    needed: Mapped[int] = mapped_column(Integer)
    counted: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    # a gold row mixed into reviewers' streams (needed 0, done): its reviews measure the
    # reviewers against the gold score and count toward nothing else
    gold: Mapped[bool] = mapped_column(Boolean, default=False)


class QueueAssignmentRecord(QueuePart, Base):
    """A row given to a reviewer: ``leased`` until ``expires_at`` (after which the row may
    go to someone else), then ``submitted`` (a review: counted, or ``beyond`` the row's
    number when it came after its lease expired and the row had its reviews) or
    ``skipped``."""

    __tablename__ = "queue_assignments"
    __table_args__ = (
        UniqueConstraint("item_id", "reviewer"),
        Index("ix_queue_assignments_reviewer", "queue_id", "reviewer", "state"),
    )

    item_id: Mapped[int] = owned_by("queue_items")
    reviewer: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))  # leased, submitted, skipped
    leased_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    score: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    beyond: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds: Mapped[float | None] = mapped_column(Float)  # from lease to submission
    submitted_at: Mapped[datetime | None] = mapped_column()


class GoldScoreRecord(Base):
    """A row's known right score on a metric, set by an admin (one per row and metric)."""

    __tablename__ = "gold_scores"
    __table_args__ = (UniqueConstraint("row_id", "metric_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_id: Mapped[int] = owned_by("rows")
    metric_id: Mapped[int] = owned_by("metrics")
    score: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
