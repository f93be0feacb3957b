"""Use cases on reviewers' annotations: add, resolve (by hand or policy), agreement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlalchemy.orm import Session

from rubricate.domain.audit import AuditAction
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.metrics import active_version
from rubricate.domain.resolution import Policy, check_policy, resolve
from rubricate.domain.scale import Scale, ScaleError
from rubricate.service.base import Service
from rubricate.service.evaluations import find_evaluation
from rubricate.service.metrics import find_metric, load_versions
from rubricate.store.annotations import resolvers, scores_by_row
from rubricate.store.audit import record_event
from rubricate.store.evaluations import row_named
from rubricate.store.mapping import to_metric
from rubricate.store.tables import AnnotationRecord, ResolutionRecord, RowRecord, table_of
from rubricate.store.upsert import upsert

if TYPE_CHECKING:
    from rubricate.stats import PairAgreement

NAME_LENGTH = 200  # annotator and user names: the width of their columns


@dataclass(frozen=True, slots=True)
class ResolveReport:
    policy: Policy
    annotated_rows: int
    resolved: int  # resolved now
    unresolved: int  # the policy could not decide: left for an admin
    kept: int  # already resolved before, left as they were
    cleared: int = 0  # replace: an earlier policy's value this policy cannot decide, removed


@dataclass(frozen=True, slots=True)
class ReviewerAgreement:
    rows: int  # rows with at least two reviewers' scores
    reviewers: int
    alpha_ordinal: float
    alpha_interval: float
    pairs: list[PairAgreement]


class AnnotationService(Service):
    def add(
        self,
        evaluation: str,
        row_id: str,
        metric: str,
        *,
        annotator: str,
        score: float | str,
        comment: str | None = None,
    ) -> float:
        """Add or replace one reviewer's score (a label is mapped on the metric's scale)."""
        annotator = _name(annotator, "annotator")
        with self._db.write() as session:
            row, metric_id, scale = _target(session, evaluation, row_id, metric)
            value = score_on(scale, score, "score")
            upsert(
                session,
                AnnotationRecord,
                {
                    "row_id": row.id,
                    "metric_id": metric_id,
                    "annotator": annotator,
                    "score": value,
                    "comment": comment,
                    "source": "inline",
                },
                keys=("row_id", "metric_id", "annotator"),
                update=("score", "comment", "source"),
            )
            return value

    def resolve_row(
        self, evaluation: str, row_id: str, metric: str, *, value: float | str, user: str
    ) -> float:
        """An admin's decision for one row; it replaces whatever resolved it before."""
        resolver = "user:" + _name(user, "user", NAME_LENGTH - len("user:"))
        with self._db.write() as session:
            row, metric_id, scale = _target(session, evaluation, row_id, metric, lock=True)
            number = score_on(scale, value, "value")
            upsert(
                session,
                ResolutionRecord,
                {
                    "row_id": row.id,
                    "metric_id": metric_id,
                    "value": number,
                    "resolved_by": resolver,
                },
                keys=("row_id", "metric_id"),
                update=("value", "resolved_by"),
            )
            record_event(
                session, user, AuditAction.ROW_RESOLVED, f"row {row_id} of {evaluation}",
                metric=metric, value=number,
            )  # fmt: skip
            return number

    def resolve(
        self,
        evaluation: str,
        metric: str,
        policy: Policy | str,
        *,
        replace: bool = False,
        by: str | None = None,
    ) -> ResolveReport:
        """Resolve every annotated row the policy can decide.

        Rows resolved before are kept, unless ``replace`` and a policy resolved them:
        then this policy decides them again, and a row it cannot decide loses the earlier
        policy's value (it is left for an admin). An admin's own decision is never
        overwritten in bulk.
        """
        with self._db.write() as session:
            evaluation_id = find_evaluation(session, evaluation, lock=True).id
            metric_id, scale = _metric_scale(session, metric)
            policy = check_policy(policy, scale)
            existing = resolvers(session, evaluation_id, metric_id)
            annotated = resolved = unresolved = kept = cleared = 0
            new: list[dict[str, object]] = []
            replaced: list[int] = []
            for row_id, scores in scores_by_row(session, evaluation_id, metric_id):
                annotated += 1
                before = existing.get(row_id)
                if before is not None and not (replace and before.startswith("policy:")):
                    kept += 1
                    continue
                if before is not None:
                    replaced.append(row_id)
                value = resolve(policy, [s for _, s in scores], scale)
                if value is None:
                    unresolved += 1
                    if before is not None:
                        cleared += 1
                    continue
                new.append(
                    {
                        "row_id": row_id,
                        "metric_id": metric_id,
                        "value": value,
                        "resolved_by": f"policy:{policy.value}",
                    }
                )
                resolved += 1
            for start in range(0, len(replaced), 1000):
                session.execute(
                    delete(ResolutionRecord).where(
                        ResolutionRecord.metric_id == metric_id,
                        ResolutionRecord.row_id.in_(replaced[start : start + 1000]),
                    )
                )
            if new:
                session.execute(table_of(ResolutionRecord).insert(), new)
            report = ResolveReport(policy, annotated, resolved, unresolved, kept, cleared)
            if resolved or cleared:
                record_event(
                    session, by, AuditAction.POLICY_APPLIED, f"evaluation {evaluation}",
                    metric=metric, policy=policy.value, replace=replace, resolved=resolved,
                    cleared=cleared,
                )  # fmt: skip
            return report

    def agreement(self, evaluation: str, metric: str) -> ReviewerAgreement:
        """Krippendorff's alpha among reviewers, and agreement of each pair of them."""
        # imported here: scipy takes a second to load, and only this use case needs it
        from rubricate.stats import krippendorff_alpha, pairwise_agreement

        with self._db.read() as session:
            evaluation_id = find_evaluation(session, evaluation).id
            metric_id, _ = _metric_scale(session, metric)
            ratings = {
                row_id: dict(scores)
                for row_id, scores in scores_by_row(session, evaluation_id, metric_id)
            }
        units = [list(r.values()) for r in ratings.values() if len(r) >= 2]
        reviewers = {name for r in ratings.values() for name in r}
        return ReviewerAgreement(
            rows=len(units),
            reviewers=len(reviewers),
            alpha_ordinal=krippendorff_alpha(units, level="ordinal"),
            alpha_interval=krippendorff_alpha(units, level="interval"),
            pairs=pairwise_agreement(ratings),
        )


def _metric_scale(session: Session, name: str) -> tuple[int, Scale]:
    record = find_metric(session, name)
    version = active_version(to_metric(record), load_versions(session, record.id))
    return record.id, version.scale


def _target(
    session: Session, evaluation: str, row_id: str, metric: str, *, lock: bool = False
) -> tuple[RowRecord, int, Scale]:
    evaluation_id = find_evaluation(session, evaluation, lock=lock).id
    row = row_named(session, evaluation_id, row_id)
    if row is None:
        raise NotFound(f"evaluation {evaluation!r} has no row {row_id!r}")
    metric_id, scale = _metric_scale(session, metric)
    return row, metric_id, scale


def score_on(scale: Scale, value: float | str, field: str) -> float:
    try:
        if isinstance(value, str):
            number = _as_number(value)
            return scale.value_of(value) if number is None else scale.check(number)
        return scale.check(value)
    except ScaleError as exc:
        raise InvalidInput(str(exc), field=field) from None


def _name(text: str, field: str, limit: int = NAME_LENGTH) -> str:
    name = text.strip()
    if not name:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(name) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    return name


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
