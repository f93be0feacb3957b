"""Use cases on metrics: list, show, create by hand, versions, pin, built-in sync."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rubricate.domain.audit import AuditAction
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
from rubricate.service.base import Service
from rubricate.store import metrics as store
from rubricate.store.audit import record_event
from rubricate.store.database import Database
from rubricate.store.mapping import to_metric
from rubricate.store.metrics import add_version as add_version  # for the use cases
from rubricate.store.metrics import find_metric as find_metric
from rubricate.store.metrics import load_versions as load_versions
from rubricate.store.tables import MetricRecord


def check_template(template: str, *, scale: Scale | None = None) -> None:
    """``scoring.check_template``, loaded on first use: listing metrics needs no Jinja2."""
    from rubricate.scoring import check_template as check

    check(template, scale=scale)


@dataclass(frozen=True, slots=True)
class MetricSummary:
    metric: Metric
    active: MetricVersion
    version_count: int


class MetricService(Service):
    def list(self) -> builtins.list[MetricSummary]:
        with self._db.read() as session:
            records = store.all_metrics(session)
            versions = store.versions_by_metric(session)
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
        by: str | None = None,
    ) -> MetricVersion:
        """A custom metric written by hand; its first version is active. ``by``: who, for
        the audit log."""
        check_metric_name(name)
        check_template(prompt, scale=scale)
        taken = Conflict(f"a metric named {name!r} already exists")
        with self._db.write() as session:
            if store.metric_named(session, name) is not None:
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
            record_event(session, by, AuditAction.METRIC_CREATED, f"metric {name}")
            return add_version(
                session, record, prompt=prompt, scale=scale, origin=VersionOrigin.MANUAL
            )

    def add_version(
        self, name: str, *, prompt: str, guidelines: str = "", by: str | None = None
    ) -> MetricVersion:
        """A new hand-made version of a custom metric, with the active version's scale.

        The new version becomes the active one: a pin (roll-back) is lifted.
        """
        with self._db.read() as session:  # checked before the write: no render holds a lock
            found = find_metric(session, name)
            if found.kind == MetricKind.BUILTIN:
                raise Conflict(
                    f"{name!r} is a built-in metric and is never modified: accepting an "
                    f"alignment run of it makes a custom copy ({name}-aligned) to change, "
                    "or create a custom metric from its prompt"
                )
            scale = active_version(to_metric(found), load_versions(session, found.id)).scale
        check_template(prompt, scale=scale)
        with self._db.write() as session:
            record = find_metric(session, name, lock=True)
            metric = to_metric(record)
            current = active_version(metric, load_versions(session, record.id))
            if current.scale != scale:  # changed meanwhile (a version's scale is fixed)
                raise Conflict(f"metric {name!r} changed meanwhile: try again")
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
            record_event(
                session, by, AuditAction.VERSION_ADDED, f"metric {name}", version=version.number
            )
            return version

    def pin(self, name: str, number: int | None, *, by: str | None = None) -> Metric:
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
            action = AuditAction.VERSION_UNPINNED if number is None else AuditAction.VERSION_PINNED
            record_event(session, by, action, f"metric {name}", version=number)
            return to_metric(record)


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


def sync_builtins(db: Database) -> None:
    """Store the shipped built-in metrics; a release that changes one adds a version.

    Reads first (one query) and writes only when something differs, so that opening a
    workspace takes no write lock once the built-ins are stored. Two processes storing them
    at once on PostgreSQL can collide on a name: the loser reads again and finds them there.
    """
    for attempt in range(3):
        with db.read() as session:
            if not _stale_builtins(session):
                return
        try:
            with db.write() as session:
                for builtin in _stale_builtins(session):
                    _sync_builtin(session, builtin)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _stale_builtins(session: Session) -> list[BuiltinMetric]:
    """The built-ins whose stored metric is missing or differs from the shipped one. A
    custom metric that took a built-in's name is left alone (see _sync_builtin)."""
    stored = store.metrics_with_newest_version(session, [b.name for b in BUILTIN_METRICS])
    stale = []
    for builtin in BUILTIN_METRICS:
        record, newest = stored.get(builtin.name, (None, None))
        if record is None or (
            record.kind == MetricKind.BUILTIN
            and (
                newest is None
                or newest.prompt != builtin.prompt
                or newest.scale != builtin.scale
                or record.description != builtin.description
            )
        ):
            stale.append(builtin)
    return stale


def _sync_builtin(session: Session, builtin: BuiltinMetric) -> None:
    record = store.metric_named(session, builtin.name)
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
