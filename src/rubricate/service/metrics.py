"""Use cases on metrics: list, show, create by hand, versions, pin, built-in sync."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rubricate.domain.builtins import BUILTIN_METRICS, BuiltinMetric
from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.domain.metrics import (
    Metric,
    MetricKind,
    MetricVersion,
    VersionOrigin,
    active_version,
    check_metric_name,
)
from rubricate.domain.scale import Scale
from rubricate.scoring import check_template
from rubricate.store.database import Database
from rubricate.store.mapping import to_metric, to_version
from rubricate.store.tables import MetricRecord, MetricVersionRecord


@dataclass(frozen=True, slots=True)
class MetricSummary:
    metric: Metric
    active: MetricVersion
    version_count: int


class MetricService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self) -> builtins.list[MetricSummary]:
        with self._db.read() as session:
            records = session.scalars(select(MetricRecord).order_by(MetricRecord.name)).all()
            versions = _versions_by_metric(session)
            summaries = []
            for record in records:
                metric = to_metric(record)
                own = versions.get(record.id, [])
                summaries.append(MetricSummary(metric, active_version(metric, own), len(own)))
            return summaries

    def get(self, name: str) -> Metric:
        with self._db.read() as session:
            return to_metric(find_metric(session, name))

    def versions(self, name: str) -> builtins.list[MetricVersion]:
        with self._db.read() as session:
            record = find_metric(session, name)
            return load_versions(session, record.id)

    def version(self, ref: str) -> MetricVersion:
        """``NAME`` (the active version) or ``NAME@NUMBER``."""
        name, _, number = ref.partition("@")
        with self._db.read() as session:
            metric = to_metric(find_metric(session, name))
            versions = load_versions(session, metric.id)
        if not number:
            return active_version(metric, versions)
        for version in versions:
            if str(version.number) == number:
                return version
        known = ", ".join(str(v.number) for v in versions)
        raise NotFound(f"metric {name!r} has no version {number!r} (versions: {known})")

    def create(
        self,
        name: str,
        *,
        scale: Scale,
        prompt: str,
        description: str = "",
        judge_model: str | None = None,
    ) -> MetricVersion:
        """A custom metric written by hand; its first version is active."""
        check_metric_name(name)
        check_template(prompt)
        with self._db.write() as session:
            if session.scalar(select(MetricRecord.id).where(MetricRecord.name == name)):
                raise Conflict(f"a metric named {name!r} already exists")
            record = MetricRecord(
                name=name,
                description=description,
                kind=MetricKind.CUSTOM,
                judge_model=judge_model,
            )
            session.add(record)
            session.flush()
            return add_version(
                session, record, prompt=prompt, scale=scale, origin=VersionOrigin.MANUAL
            )

    def add_version(self, name: str, *, prompt: str, guidelines: str = "") -> MetricVersion:
        """A new hand-made version of a custom metric, with the active version's scale."""
        check_template(prompt)
        with self._db.write() as session:
            record = find_metric(session, name)
            if record.kind == MetricKind.BUILTIN:
                raise Conflict(f"{name!r} is a built-in metric and is never modified: fork it")
            metric = to_metric(record)
            current = active_version(metric, load_versions(session, record.id))
            return add_version(
                session,
                record,
                prompt=prompt,
                guidelines=guidelines,
                scale=current.scale,
                origin=VersionOrigin.MANUAL,
                parent_version_id=current.id,
            )

    def pin(self, name: str, number: int | None) -> Metric:
        """Make version ``number`` active (a roll-back), or None to follow the newest."""
        with self._db.write() as session:
            record = find_metric(session, name)
            if record.kind == MetricKind.BUILTIN:
                raise Conflict(f"{name!r} is a built-in metric: its newest version is active")
            if number is not None and number not in {
                v.number for v in load_versions(session, record.id)
            }:
                raise InvalidInput(f"metric {name!r} has no version {number}", field="version")
            record.pinned_version = number
            return to_metric(record)


def find_metric(session: Session, name: str) -> MetricRecord:
    record = session.scalar(select(MetricRecord).where(MetricRecord.name == name))
    if record is None:
        raise NotFound(f"no metric named {name!r} (see `rubricate metrics list`)")
    return record


def load_versions(session: Session, metric_id: int) -> list[MetricVersion]:
    records = session.scalars(
        select(MetricVersionRecord)
        .where(MetricVersionRecord.metric_id == metric_id)
        .order_by(MetricVersionRecord.number)
    ).all()
    return [to_version(r) for r in records]


def _versions_by_metric(session: Session) -> dict[int, list[MetricVersion]]:
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


def sync_builtins(db: Database) -> None:
    """Store the shipped built-in metrics; a release that changes one adds a version."""
    with db.write() as session:
        for builtin in BUILTIN_METRICS:
            _sync_builtin(session, builtin)


def _sync_builtin(session: Session, builtin: BuiltinMetric) -> None:
    record = session.scalar(select(MetricRecord).where(MetricRecord.name == builtin.name))
    if record is None:
        record = MetricRecord(
            name=builtin.name, description=builtin.description, kind=MetricKind.BUILTIN
        )
        session.add(record)
        session.flush()
    elif record.kind != MetricKind.BUILTIN:
        return  # a custom metric took the name before this built-in shipped; leave it be
    versions = load_versions(session, record.id)
    newest = versions[-1] if versions else None
    if newest is None or newest.prompt != builtin.prompt or newest.scale != builtin.scale:
        add_version(
            session,
            record,
            prompt=builtin.prompt,
            scale=builtin.scale,
            origin=VersionOrigin.BUILTIN,
        )
    record.description = builtin.description
