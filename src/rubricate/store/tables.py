"""The schema, as SQLAlchemy tables. Alembic migrations in migrations/ must match it
(a test compares them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column
from sqlalchemy.sql.expression import false

from rubricate.store.column_types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(record: type[Base]) -> Table:
    """The Core table behind a mapped class, for bulk statements."""
    return cast(Table, record.__table__)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType}  # noqa: RUF012


RunKind = Literal["alignment", "evaluation"]
RUN_KINDS: tuple[RunKind, ...] = get_args(RunKind)


class RunIdRecord(Base):
    """The one namespace of run ids, since a run's journal (run_calls) and its workflow
    are keyed by the id alone: a run's id is claimed here with its kind, in the
    transaction that writes the run, and each kind's table points at (id, kind), so the
    database itself refuses a run of another kind under a claimed id."""

    __tablename__ = "run_ids"
    __table_args__ = (
        UniqueConstraint("id", "kind"),  # what the run tables' foreign keys point at
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in RUN_KINDS)})", name="kind"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def run_kind_column(kind: RunKind) -> Mapped[str]:
    """A run table's kind: one value per table, with the id its key in run_ids."""
    return mapped_column(String(16), default=kind, server_default=kind)


def run_id_claim(kind: RunKind) -> tuple[ForeignKeyConstraint, CheckConstraint]:
    """A run table's rows are runs of ``kind`` whose id run_ids holds for that kind."""
    return (
        ForeignKeyConstraint(["id", "kind"], ["run_ids.id", "run_ids.kind"]),
        CheckConstraint(f"kind = '{kind}'", name="kind"),
    )


def owned_by(owner: str, **column: Any) -> MappedColumn[Any]:
    """A key to a row of ``owner`` (its id) that is deleted with that row."""
    return mapped_column(ForeignKey(f"{owner}.id", ondelete="CASCADE"), **column)


class RunColumns:
    """What both kinds of run keep: the id (also the idempotency key), status, parameters,
    the error that ended the run, and when it was created, started and finished."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class MetricRecord(Base):
    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    judge_model: Mapped[str | None] = mapped_column(String(200))
    pinned_version: Mapped[int | None] = mapped_column(Integer)  # a version number
    forked_from_id: Mapped[int | None] = mapped_column(ForeignKey("metrics.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricVersionRecord(Base):
    __tablename__ = "metric_versions"
    __table_args__ = (UniqueConstraint("metric_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[int] = owned_by("metrics")
    number: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    guidelines: Mapped[str] = mapped_column(Text, default="")
    scale: Mapped[dict[str, Any]] = mapped_column(JSONType)
    origin: Mapped[str] = mapped_column(String(16))
    parent_version_id: Mapped[int | None] = mapped_column(ForeignKey("metric_versions.id"))
    # use_alter: runs point at versions and versions at runs; break the cycle for sorting
    source_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("alignment_runs.id", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationRecord(Base):
    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RowRecord(Base):
    __tablename__ = "rows"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "external_id"),
        Index("ix_rows_evaluation_position", "evaluation_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = owned_by("evaluations")
    external_id: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)  # order in the source file, for export
    input: Mapped[str] = mapped_column(Text)
    output: Mapped[str] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(Text)
    expected: Mapped[str | None] = mapped_column(Text)
    row_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)


class EvaluationRunRecord(RunColumns, Base):
    """One scoring of an evaluation's rows with a metric version and a judge model."""

    __tablename__ = "evaluation_runs"
    __table_args__ = (
        Index("ix_evaluation_runs_evaluation_created", "evaluation_id", "created_at"),
        *run_id_claim("evaluation"),
    )

    kind: Mapped[str] = run_kind_column("evaluation")
    evaluation_id: Mapped[int] = owned_by("evaluations")
    metric_version_id: Mapped[int] = mapped_column(ForeignKey("metric_versions.id"))
    model: Mapped[str] = mapped_column(String(200))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    cache_hits: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float)  # None: unknown


class JudgeResultRecord(Base):
    __tablename__ = "judge_results"
    __table_args__ = (
        Index("ix_judge_results_row_version", "row_id", "metric_version_id"),
        UniqueConstraint("evaluation_run_id", "row_id"),  # imported results have no run
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_id: Mapped[int] = owned_by("rows")
    metric_version_id: Mapped[int] = mapped_column(ForeignKey("metric_versions.id"))
    score: Mapped[float | None] = mapped_column(Float)
    rationale: Mapped[str | None] = mapped_column(Text)
    judge_model: Mapped[str | None] = mapped_column(String(200))
    raw_output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    evaluation_run_id: Mapped[str | None] = owned_by("evaluation_runs")
    temperature: Mapped[float | None] = mapped_column(Float)
    seed: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    cached: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResponseCacheRecord(Base):
    """Model replies keyed by a hash of model, messages, parameters and output schema."""

    __tablename__ = "response_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    reply: Mapped[dict[str, Any]] = mapped_column(JSONType)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnnotationRecord(Base):
    __tablename__ = "annotations"
    __table_args__ = (UniqueConstraint("row_id", "metric_id", "annotator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_id: Mapped[int] = owned_by("rows")
    metric_id: Mapped[int] = owned_by("metrics")
    annotator: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    # Where the score came from: "import" (files, connectors), "inline" (one row on the
    # evaluation page or the API), "queue:NAME" (a review queue); created_at says when.
    source: Mapped[str] = mapped_column(String(80), server_default="import")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResolutionRecord(Base):
    __tablename__ = "resolutions"
    __table_args__ = (UniqueConstraint("row_id", "metric_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_id: Mapped[int] = owned_by("rows")
    metric_id: Mapped[int] = owned_by("metrics")
    value: Mapped[float] = mapped_column(Float)
    resolved_by: Mapped[str] = mapped_column(String(200))  # "policy:majority", "user:ana"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlignmentRunRecord(RunColumns, Base):
    __tablename__ = "alignment_runs"
    __table_args__ = (
        Index("ix_alignment_runs_metric_created", "metric_id", "created_at"),
        *run_id_claim("alignment"),
    )

    kind: Mapped[str] = run_kind_column("alignment")
    metric_id: Mapped[int] = owned_by("metrics")
    base_version_id: Mapped[int] = mapped_column(ForeignKey("metric_versions.id"))
    phase: Mapped[str | None] = mapped_column(String(32))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    disagreements: Mapped[int | None] = mapped_column(Integer)
    agreeing_skipped: Mapped[int | None] = mapped_column(Integer)
    missing_skipped: Mapped[int | None] = mapped_column(Integer)
    low_confidence: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # ResultSummary
    accepted_version_id: Mapped[int | None] = mapped_column(ForeignKey("metric_versions.id"))


class AlignmentRunEvaluationRecord(Base):
    """The source evaluations of a run (a run reads from one or more)."""

    __tablename__ = "alignment_run_evaluations"

    run_id: Mapped[str] = owned_by("alignment_runs", primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), primary_key=True)


class RunCallRecord(Base):
    """Every finished model call of a run, by request: a run that resumes after a crash
    finds its finished calls here instead of paying for them again. Kept whether or not
    the shared response cache is on."""

    __tablename__ = "run_calls"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    reply: Mapped[dict[str, Any]] = mapped_column(JSONType)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerRecord(Base):
    """A worker process and its heartbeat: a worker whose heartbeat stopped is dead, and
    the recovery leader hands its runs to a live one."""

    __tablename__ = "workers"

    executor_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column()


class ProviderWindowRecord(Base):
    """Requests and tokens sent to a provider in one window of its rate limit, by every
    worker on the database."""

    __tablename__ = "provider_windows"

    provider: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[int] = mapped_column(Integer)


class ProviderLeaseRecord(Base):
    """A model call in flight at a provider, held by one worker: the rows of a provider
    are its calls in flight across every worker, so its concurrency is global. A lease
    expires on its own, so a dead worker's calls stop counting."""

    __tablename__ = "provider_leases"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(100), index=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column()


class UserRecord(Base):
    """A person who signs in to the web UI (or a script with an API token). ``role`` is
    reviewer or admin; only admins resolve and accept. Passwords and tokens are kept as
    hashes only."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInAttemptRecord(Base):
    """A failed sign-in, by user name and client address, kept for the throttle's window
    (store/sign_ins.py) so that every server process on the database counts them all."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    attempted_at: Mapped[datetime] = mapped_column(index=True)


# The review queues' and the audit log's tables live with their own code, on this Base
# (imported here so that Alembic and the migration test see them).
from rubricate.store import audit as _audit  # noqa: E402, F401
from rubricate.store import queue_tables as _queue_tables  # noqa: E402, F401
