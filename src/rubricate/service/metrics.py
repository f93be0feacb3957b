"""Use cases on metrics: list, show, create by hand, versions, pin, built-in sync."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
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
        name, at, number = ref.partition("@")
        wanted = _version_number(ref, number) if at else None
        with self._db.read() as session:
            metric = to_metric(find_metric(session, name))
            versions = load_versions(session, metric.id)
        if wanted is None:
            return active_version(metric, versions)
        for version in versions:
            if version.number == wanted:
                return version
        known = ", ".join(str(v.number) for v in versions)
        raise NotFound(f"metric {name!r} has no version {wanted} (versions: {known})")

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
        check_template(prompt, scale=scale)
        taken = Conflict(f"a metric named {name!r} already exists")
        with self._db.write() as session:
            if session.scalar(select(MetricRecord.id).where(MetricRecord.name == name)):
                raise taken
            record = MetricRecord(
                name=name,
                description=description,
                kind=MetricKind.CUSTOM,
                judge_model=judge_model,
            )
            session.add(record)
            try:
                session.flush()
            except IntegrityError:  # PostgreSQL: created meanwhile by a concurrent writer
                raise taken from None
            return add_version(
                session, record, prompt=prompt, scale=scale, origin=VersionOrigin.MANUAL
            )

    def add_version(self, name: str, *, prompt: str, guidelines: str = "") -> MetricVersion:
        """A new hand-made version of a custom metric, with the active version's scale.

        The new version becomes the active one: a pin (roll-back) is lifted.
        """
        with self._db.write() as session:
            record = find_metric(session, name, lock=True)
            if record.kind == MetricKind.BUILTIN:
                raise Conflict(f"{name!r} is a built-in metric and is never modified: fork it")
            metric = to_metric(record)
            current = active_version(metric, load_versions(session, record.id))
            check_template(prompt, scale=current.scale)
            version = add_version(
                session,
                record,
                prompt=prompt,
                guidelines=guidelines,
                scale=current.scale,
                origin=VersionOrigin.MANUAL,
                parent_version_id=current.id,
            )
            record.pinned_version = None
            return version

    def pin(self, name: str, number: int | None) -> Metric:
        """Make version ``number`` active (a roll-back), or None to follow the newest."""
        with self._db.write() as session:
            record = find_metric(session, name, lock=True)
            if record.kind == MetricKind.BUILTIN:
                raise Conflict(f"{name!r} is a built-in metric: its newest version is active")
            if number is not None and number not in {
                v.number for v in load_versions(session, record.id)
            }:
                raise InvalidInput(f"metric {name!r} has no version {number}", field="version")
            record.pinned_version = number
            return to_metric(record)


def find_metric(session: Session, name: str, *, lock: bool = False) -> MetricRecord:
    """The metric named ``name``; ``lock``: held until the transaction ends (PostgreSQL's
    FOR UPDATE; a SQLite write transaction holds the whole database already)."""
    query = select(MetricRecord).where(MetricRecord.name == name)
    record = session.scalar(query.with_for_update(key_share=True) if lock else query)
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


def _version_number(ref: str, text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise InvalidInput(
            f"{ref!r}: a version is NAME@NUMBER, the number a whole number from 1",
            field="version",
        )
    return number


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


def sync_builtins(db: Database) -> None:
    """Store the shipped built-in metrics; a release that changes one adds a version.

    Reads first and writes only when something differs, so that opening a workspace takes
    no write lock once the built-ins are stored. Two processes storing them at once on
    PostgreSQL can collide on a name: the loser reads again and finds them there.
    """
    for attempt in range(3):
        with db.read() as session:
            if not any(_builtin_differs(session, builtin) for builtin in BUILTIN_METRICS):
                return
        try:
            with db.write() as session:
                for builtin in BUILTIN_METRICS:
                    _sync_builtin(session, builtin)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _builtin_differs(session: Session, builtin: BuiltinMetric) -> bool:
    record = session.scalar(select(MetricRecord).where(MetricRecord.name == builtin.name))
    if record is None:
        return True
    if record.kind != MetricKind.BUILTIN:
        return False  # see _sync_builtin
    versions = load_versions(session, record.id)
    return (
        not versions
        or versions[-1].prompt != builtin.prompt
        or versions[-1].scale != builtin.scale
        or record.description != builtin.description
    )


def _sync_builtin(session: Session, builtin: BuiltinMetric) -> None:
    if not _builtin_differs(session, builtin):
        return
    record = session.scalar(select(MetricRecord).where(MetricRecord.name == builtin.name))
    if record is None:
        record = MetricRecord(
            name=builtin.name, description=builtin.description, kind=MetricKind.BUILTIN
        )
        session.add(record)
        session.flush()
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
