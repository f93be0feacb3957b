"""The queries over metrics and their versions: find a metric by name, list them, a
metric's versions in order, and the next version stored under the metric's row lock."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rubricate.domain.errors import NotFound
from rubricate.domain.metrics import MetricVersion, VersionOrigin
from rubricate.domain.scale import Scale
from rubricate.store.lookup import one_named
from rubricate.store.mapping import to_version
from rubricate.store.tables import MetricRecord, MetricVersionRecord


def find_metric(session: Session, name: str, *, lock: bool = False) -> MetricRecord:
    """The metric named ``name``; ``lock``: held until the transaction ends (PostgreSQL's
    FOR UPDATE; a SQLite write transaction holds the whole database already)."""
    query = select(MetricRecord).where(MetricRecord.name == name)
    missing = f"no metric named {name!r} (see `rubricate metrics list`)"
    return one_named(session, query, missing, lock=lock, key_share=True)


def load_versions(session: Session, metric_id: int) -> list[MetricVersion]:
    records = session.scalars(
        select(MetricVersionRecord)
        .where(MetricVersionRecord.metric_id == metric_id)
        .order_by(MetricVersionRecord.number)
    ).all()
    return [to_version(r) for r in records]


def metrics_with_newest_version(
    session: Session, names: Sequence[str]
) -> dict[str, tuple[MetricRecord, MetricVersion | None]]:
    """The metrics named, each with its newest version, in one query (opening a workspace
    checks every built-in this way)."""
    newest = (
        select(MetricVersionRecord.metric_id, func.max(MetricVersionRecord.number).label("number"))
        .group_by(MetricVersionRecord.metric_id)
        .subquery()
    )
    rows = session.execute(
        select(MetricRecord, MetricVersionRecord)
        .where(MetricRecord.name.in_(names))
        .outerjoin(newest, newest.c.metric_id == MetricRecord.id)
        .outerjoin(
            MetricVersionRecord,
            (MetricVersionRecord.metric_id == MetricRecord.id)
            & (MetricVersionRecord.number == newest.c.number),
        )
    ).all()
    return {
        metric.name: (metric, None if version is None else to_version(version))
        for metric, version in rows
    }


def version_by_id(session: Session, version_id: int) -> MetricVersion:
    """The metric version with this id; NotFound when it was deleted (with its metric)
    after a run that uses it was started."""
    record = session.get(MetricVersionRecord, version_id)
    if record is None:
        raise NotFound(f"metric version {version_id} is gone")
    return to_version(record)


def metric_named(session: Session, name: str) -> MetricRecord | None:
    """The metric named ``name``, if there is one."""
    return session.scalar(select(MetricRecord).where(MetricRecord.name == name))


def metric_name(session: Session, metric_id: int) -> str | None:
    """The name of the metric with this id, if there is one."""
    return session.scalar(select(MetricRecord.name).where(MetricRecord.id == metric_id))


def lock_metric(session: Session, metric_id: int) -> MetricRecord | None:
    """The metric with this id, its row held until the transaction ends."""
    query = select(MetricRecord).where(MetricRecord.id == metric_id)
    return session.scalar(query.with_for_update(key_share=True))


def names_starting(session: Session, prefix: str) -> set[str]:
    """The names of the metrics whose name starts with ``prefix``."""
    query = select(MetricRecord.name).where(MetricRecord.name.startswith(prefix))
    return set(session.scalars(query))


def all_metrics(session: Session) -> Sequence[MetricRecord]:
    """Every metric, by name."""
    return session.scalars(select(MetricRecord).order_by(MetricRecord.name)).all()


def versions_by_metric(session: Session) -> dict[int, list[MetricVersion]]:
    """Every version, grouped by metric id."""
    grouped: dict[int, list[MetricVersion]] = {}
    for record in session.scalars(select(MetricVersionRecord)):
        grouped.setdefault(record.metric_id, []).append(to_version(record))
    return grouped


def add_version(
    session: Session,
    metric: MetricRecord,
    *,
    prompt: str,
    scale: Scale,
    origin: VersionOrigin,
    guidelines: str = "",
    parent_version_id: int | None = None,
) -> MetricVersion:
    """Store the next version of ``metric``. Numbering holds the metric's row lock, so
    that concurrent writers on PostgreSQL queue instead of taking the same number."""
    session.execute(
        select(MetricRecord.id).where(MetricRecord.id == metric.id).with_for_update(key_share=True)
    )
    newest = session.scalar(
        select(func.max(MetricVersionRecord.number)).where(
            MetricVersionRecord.metric_id == metric.id
        )
    )
    record = MetricVersionRecord(
        metric_id=metric.id,
        number=(newest or 0) + 1,
        prompt=prompt,
        guidelines=guidelines,
        scale=scale.model_dump(mode="json"),
        origin=origin,
        parent_version_id=parent_version_id,
    )
    session.add(record)
    session.flush()
    return to_version(record)
