"""Reviewing an Aligned run (strike, edit or restore single guidelines; reject), accepting
it into a metric version, and exporting a metric version's prompt (prompt_export.py).

Accept is one write transaction that holds the run's row and the metric's row, so two
concurrent accepts queue: the second finds the first one's version (the same run: nothing
new) or a newer active version (another run: refused as stale unless merged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from rubricate.domain.acceptance import UnverifiedRun, nothing_to_accept, unverified_reason
from rubricate.domain.alignment import AlignmentResult, ReviewEdit, parse_guidelines_text
from rubricate.domain.alignment_runs import AlignmentRun, RunStatus
from rubricate.domain.audit import GUIDELINE_ACTIONS, AuditAction
from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.domain.metrics import (
    MetricKind,
    MetricVersion,
    VersionOrigin,
    active_version,
    check_metric_name,
)
from rubricate.service.alignment_runs import find_run, load_run
from rubricate.service.base import ConfiguredService
from rubricate.service.metrics import MetricService, add_version, load_versions
from rubricate.service.prompt_export import export_prompt
from rubricate.store.audit import record_event
from rubricate.store.mapping import to_metric, to_version
from rubricate.store.metrics import lock_metric, metric_name, names_starting
from rubricate.store.runs import store_result
from rubricate.store.tables import (
    AlignmentRunRecord,
    MetricRecord,
    MetricVersionRecord,
    utcnow,
)

MAX_GUIDELINE_CHARS = 1_000
FORK_SUFFIX = "-aligned"


@dataclass(frozen=True, slots=True)
class AcceptResult:
    """What an accept did: ``version`` is the version the run became (also when it was
    accepted before: then ``created`` is False); ``metric`` its metric's name, a new one
    when the run's metric is built-in (``forked``); ``merged``: combined with a version
    made after the run started."""

    run: AlignmentRun
    metric: str
    version: MetricVersion
    created: bool
    forked: bool
    merged: bool


class ReviewService(ConfiguredService):
    # -- reviewing -------------------------------------------------------------------

    def edit(
        self, run_id: str, guideline_id: int, text: str, *, by: str | None = None
    ) -> AlignmentRun:
        """Replace one guideline's text (the last edit wins); an edit to the text it has
        already changes nothing."""
        new_text = _guideline_text(text)
        return self._review(run_id, guideline_id, "edit", new_text, by)

    def strike(self, run_id: str, guideline_id: int, *, by: str | None = None) -> AlignmentRun:
        """Leave one guideline out of what an accept keeps; striking it again changes
        nothing."""
        return self._review(run_id, guideline_id, "strike", None, by)

    def restore(self, run_id: str, guideline_id: int, *, by: str | None = None) -> AlignmentRun:
        """Undo a strike (an edited text stays edited); a guideline that is not struck
        is left as it is."""
        return self._review(run_id, guideline_id, "restore", None, by)

    def reject(self, run_id: str, *, by: str | None = None) -> AlignmentRun:
        """Record that the run's guidelines are not wanted; the run stays Aligned, as
        history. Rejecting it again changes nothing."""
        with self._db.write() as session:
            record = find_run(session, run_id, lock=True)
            result = _aligned_result(record, "rejected")
            review = result.review
            if record.accepted_version_id is not None or review.decision == "accepted":
                raise Conflict(f"run {run_id!r} was accepted already: it cannot be rejected")
            if review.decision != "rejected":
                review.decision = "rejected"
                review.at = utcnow()
                review.by = by
                store_result(record, result)
                record_event(session, by, AuditAction.RUN_REJECTED, f"run {run_id}")
                session.flush()
            return load_run(session, record)

    def _review(
        self,
        run_id: str,
        guideline_id: int,
        action: Literal["strike", "edit", "restore"],
        text: str | None,
        by: str | None,
    ) -> AlignmentRun:
        with self._db.write() as session:
            record = find_run(session, run_id, lock=True)
            result = _aligned_result(record, "reviewed")
            _check_open(run_id, record, result)
            known = {g.id: g for g in result.guidelines}
            if guideline_id not in known:
                ids = ", ".join(str(i) for i in sorted(known)) or "none"
                raise InvalidInput(
                    f"run {run_id!r} has no guideline {guideline_id} (its guidelines: {ids})",
                    field="guideline",
                )
            if _changes(result, guideline_id, action, text):
                edit = ReviewEdit(
                    guideline_id=guideline_id, action=action, text=text, at=utcnow(), by=by
                )
                result.review.edits.append(edit)
                store_result(record, result)
                record_event(
                    session, by, GUIDELINE_ACTIONS[action], f"run {run_id}",
                    guideline=guideline_id, text=text,
                )  # fmt: skip
                session.flush()
            return load_run(session, record)

    # -- accepting -------------------------------------------------------------------

    def accept(
        self,
        run_id: str,
        *,
        merge: bool = False,
        confirm_unverified: bool = False,
        by: str | None = None,
    ) -> AcceptResult:
        """Turn an Aligned run's guidelines into a metric version: the next version of a
        custom metric (made active), or a fork of a built-in one. Accepting again returns
        the same version. A run whose base version is no longer active is refused unless
        ``merge``: then the active version's guidelines and the run's are combined. A run
        that is not verified (or whose test rows show a drop) is refused with the reason
        (``UnverifiedRun``) unless ``confirm_unverified``."""
        with self._db.write() as session:
            # The run's row first, then the metric's: every accept takes them in this order.
            record = find_run(session, run_id, lock=True)
            if record.accepted_version_id is not None:
                return _accepted_before(session, record)
            result = _aligned_result(record, "accepted")
            if result.review.decision == "rejected":
                raise Conflict(f"run {run_id!r} was rejected: it cannot be accepted")
            nothing = nothing_to_accept(run_id, result)
            if nothing is not None:
                raise Conflict(nothing)
            unverified = unverified_reason(result)
            if unverified is not None and not confirm_unverified:
                raise UnverifiedRun(run_id, unverified)
            metric_record = _lock_metric(session, record.metric_id)
            metric = to_metric(metric_record)
            versions = load_versions(session, metric.id)
            base = next((v for v in versions if v.id == record.base_version_id), None)
            if base is None:  # versions are never deleted; a broken database, not a user
                raise NotFound(f"the base version of run {run_id!r} does not exist")
            active = active_version(metric, versions)
            merged = active.id != base.id
            if merged and not merge:
                raise Conflict(
                    f"run {run_id!r} cannot be accepted as it is: version {active.number} of "
                    f"{metric.name!r} is active now, this run was based on version "
                    f"{base.number} (another run was accepted or a version was added "
                    "meanwhile); accept with merge to combine them"
                )
            source = active if merged else base
            guidelines = (
                merge_guidelines(active.guidelines, base.guidelines, result)
                if merged
                else result.guidelines_text()
            )
            if metric.kind is MetricKind.BUILTIN:
                target = _fork(session, metric_record)
                origin = VersionOrigin.FORK
            else:
                target = metric_record
                origin = VersionOrigin.ALIGNMENT
            version = add_version(
                session,
                target,
                prompt=source.prompt,
                scale=source.scale,
                origin=origin,
                guidelines=guidelines,
                parent_version_id=source.id,
            )
            version = _set_source_run(session, version, record.id)
            target.pinned_version = None  # an accepted version is the active one
            review = result.review
            review.decision = "accepted"
            review.at = utcnow()
            review.by = by
            review.version_id = version.id
            review.metric = target.name
            review.merged = merged
            review.unverified = unverified
            store_result(record, result)
            record.accepted_version_id = version.id
            record_event(
                session, by, AuditAction.RUN_ACCEPTED, f"run {run_id}",
                metric=target.name, version=version.number, forked=target is not metric_record,
                merged=merged, unverified=unverified,
            )  # fmt: skip
            session.flush()
            return AcceptResult(
                run=load_run(session, record),
                metric=target.name,
                version=version,
                created=True,
                forked=target is not metric_record,
                merged=merged,
            )

    # -- exporting -------------------------------------------------------------------

    def export_prompt(
        self, ref: str, fmt: str = "text", *, fields: Sequence[str] | None = None
    ) -> str:
        """A metric version's prompt (``NAME`` for the active version, ``NAME@N``) for
        another tool: ``text`` (the template, guidelines and scale filled in, row
        variables kept), ``json``, ``langfuse`` (a chat prompt for Langfuse prompt
        management) or ``promptfoo`` (a chat prompt file).

        A chat prompt has no conditions, so it is written for rows that have the optional
        ``fields`` (context, expected, metadata); None: every one the template uses."""
        metrics = MetricService(self._db)
        version = metrics.version(ref)
        metric = metrics.get(ref.partition("@")[0])
        return export_prompt(metric, version, fmt, fields=fields)


# -- review helpers ------------------------------------------------------------------


def _aligned_result(record: AlignmentRunRecord, doing: str) -> AlignmentResult:
    status = RunStatus(record.status)
    if status is not RunStatus.ALIGNED:
        in_flight = "cancel it instead" if doing == "rejected" else "wait until it is Aligned"
        hint = {
            RunStatus.PENDING: in_flight,
            RunStatus.RUNNING: in_flight,
            RunStatus.ERROR: "retry it, or start another run",
            RunStatus.CANCELLED: "start another run",
        }[status]
        raise Conflict(
            f"run {record.id!r} is {status.label}: only an Aligned run can be {doing} ({hint})"
        )
    if not record.result:
        raise Conflict(f"run {record.id!r} is Aligned but holds no result")
    return AlignmentResult.model_validate(record.result)


def _check_open(run_id: str, record: AlignmentRunRecord, result: AlignmentResult) -> None:
    if record.accepted_version_id is not None or result.review.decision == "accepted":
        raise Conflict(f"run {run_id!r} was accepted already: its guidelines cannot change")
    if result.review.decision == "rejected":
        raise Conflict(f"run {run_id!r} was rejected: its guidelines cannot change")


def _guideline_text(text: str) -> str:
    """One line of plain text: whitespace runs (newlines too) become one space, and a
    bullet typed in front is dropped (the guidelines section adds its own)."""
    cleaned = " ".join(str(text).split())
    if cleaned.startswith(("- ", "* ")):
        cleaned = cleaned[2:].lstrip()
    if not cleaned:
        raise InvalidInput("a guideline's text must not be empty", field="text")
    if len(cleaned) > MAX_GUIDELINE_CHARS:
        raise InvalidInput(
            f"a guideline's text is at most {MAX_GUIDELINE_CHARS:,} characters, "
            f"not {len(cleaned):,}",
            field="text",
        )
    return cleaned


def _changes(result: AlignmentResult, guideline_id: int, action: str, text: str | None) -> bool:
    """Whether an edit would change the effective guidelines (repeats are not recorded)."""
    current = {g.id: g for g in result.effective_guidelines()}
    if action == "strike":
        return guideline_id in current
    if action == "restore":
        return guideline_id not in current
    if guideline_id in current:
        return current[guideline_id].text != text
    # struck: an edit is kept for when it is restored, unless it is the text it has
    texts = {g.id: g.text for g in result.guidelines}
    for edit in result.review.edits:
        if edit.action == "edit" and edit.text is not None:
            texts[edit.guideline_id] = edit.text
    return texts.get(guideline_id) != text


def _accepted_before(session: Session, record: AlignmentRunRecord) -> AcceptResult:
    version_record = session.get(MetricVersionRecord, record.accepted_version_id)
    if version_record is None:
        raise NotFound(f"the version that run {record.id!r} was accepted as does not exist")
    version = to_version(version_record)
    name = metric_name(session, version.metric_id)
    result = AlignmentResult.model_validate(record.result) if record.result else None
    return AcceptResult(
        run=load_run(session, record),
        metric=name or "",
        version=version,
        created=False,
        forked=version.metric_id != record.metric_id,
        merged=bool(result and result.review.merged),
    )


def _lock_metric(session: Session, metric_id: int) -> MetricRecord:
    """The metric's row, held until the transaction ends (as ``find_metric(lock=True)``)."""
    record = lock_metric(session, metric_id)
    if record is None:
        raise NotFound(f"the metric of this run (id {metric_id}) does not exist")
    return record


def _fork(session: Session, builtin: MetricRecord) -> MetricRecord:
    """A new custom metric from a built-in: ``NAME-aligned``, ``NAME-aligned-2``, ..."""
    taken = names_starting(session, builtin.name + "-")
    name = builtin.name + FORK_SUFFIX
    number = 1
    while name in taken:
        number += 1
        name = f"{builtin.name}{FORK_SUFFIX}-{number}"
    check_metric_name(name)
    fork = MetricRecord(
        name=name,
        description=builtin.description,
        kind=MetricKind.CUSTOM,
        judge_model=builtin.judge_model,
        forked_from_id=builtin.id,
    )
    session.add(fork)
    session.flush()
    return fork


def _set_source_run(session: Session, version: MetricVersion, run_id: str) -> MetricVersion:
    record = session.get(MetricVersionRecord, version.id)
    assert record is not None  # just added in this session
    record.source_run_id = run_id
    session.flush()
    return to_version(record)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def merge_guidelines(active: str, base: str, result: AlignmentResult) -> str:
    """The guidelines of a merged accept: the active version's, in their order, then the
    run's that are not among them (compared without regard to case and spacing).

    Changes on both sides count: a guideline carried over from the base version that the
    reviewer struck or reworded leaves the active list too, and one of the base version
    that the active version no longer has (taken out meanwhile) is not brought back.
    """
    effective = result.effective_guidelines()
    kept = {_key(g.text) for g in effective}
    changed = {_key(g.text) for g in result.guidelines if g.existing} - kept
    dropped = {_key(t) for t in _parse_items(base)} - {_key(t) for t in _parse_items(active)}
    merged: list[str] = []
    seen: set[str] = set()
    for text in _parse_items(active):
        if _key(text) not in seen and _key(text) not in changed:
            merged.append(text)
            seen.add(_key(text))
    for item in effective:
        key = _key(item.text)
        if key not in seen and key not in dropped:
            merged.append(item.text)
            seen.add(key)
    return "\n".join(f"- {text}" for text in merged)


def _parse_items(text: str) -> list[str]:
    """A version's guidelines section as single guidelines."""
    return [item for item in parse_guidelines_text(text) if item.strip()]
