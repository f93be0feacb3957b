"""The audit log: each change a team relies on is one event with who, what and when,
written with the change (a refused change leaves none); only admins read it."""

from __future__ import annotations

import json

import pytest

from rubricate import Rubricate
from rubricate.demo import ALIGNED_METRIC, EVALUATION, align_demo
from rubricate.domain.audit import AuditAction
from rubricate.domain.errors import Forbidden, InvalidInput
from rubricate.domain.queues import QueueRequest, Selection
from rubricate.domain.scale import Scale
from rubricate.domain.users import Role, User

ADMIN = User("ada", Role.ADMIN)


def actions(rb: Rubricate) -> list[tuple[str, str, str]]:
    _, events = rb.audit.events(by=ADMIN, limit=100)
    return [(e.actor, e.action.value, e.subject) for e in reversed(events)]


def test_metric_changes_are_logged_with_who_made_them(demo: Rubricate) -> None:
    before = len(actions(demo))
    scale = Scale(type="ordinal", min=1, max=3)
    demo.metrics.create("tone", scale=scale, prompt="Rate {{ output }}.", by="ada")
    demo.metrics.add_version("tone", prompt="Rate the tone of {{ output }}.", by="ben")
    demo.metrics.pin("tone", 1, by="ada")
    demo.metrics.pin("tone", None)  # through Python, naming no one
    with pytest.raises(InvalidInput):
        demo.metrics.pin("tone", 9, by="ada")  # refused: no event
    assert actions(demo)[before:] == [
        ("ada", "metric.created", "metric tone"),
        ("ben", "version.added", "metric tone"),
        ("ada", "version.pinned", "metric tone"),
        ("python", "version.unpinned", "metric tone"),
    ]


def test_resolutions_and_run_decisions_are_logged(demo: Rubricate) -> None:
    demo.annotations.resolve_row(EVALUATION, "sb-001", ALIGNED_METRIC, value=3, user="ada")
    demo.annotations.resolve(EVALUATION, ALIGNED_METRIC, "mean", replace=True, by="ada")
    run = align_demo(demo)
    edited = run.result.guidelines[0].id if run.result else 0
    demo.reviews.edit(run.id, edited, "Score lower when the answer is padded.", by="ben")
    demo.reviews.strike(run.id, edited, by="ben")
    demo.reviews.restore(run.id, edited, by="ben")
    accepted = demo.reviews.accept(run.id, confirm_unverified=True, by="ada")
    found = actions(demo)
    assert ("ada", "row.resolved", f"row sb-001 of {EVALUATION}") in found
    assert ("ada", "policy.applied", f"evaluation {EVALUATION}") in found
    assert [a for a in found if a[2] == f"run {run.id}"] == [
        ("ben", "guideline.edited", f"run {run.id}"),
        ("ben", "guideline.struck", f"run {run.id}"),
        ("ben", "guideline.restored", f"run {run.id}"),
        ("ada", "run.accepted", f"run {run.id}"),
    ]
    _, events = demo.audit.events(by=ADMIN, action=AuditAction.RUN_ACCEPTED)
    assert events[0].detail["version"] == accepted.version.number


def test_queue_decisions_are_logged_and_only_admins_read_the_log(demo: Rubricate) -> None:
    request = QueueRequest(
        "q", EVALUATION, ALIGNED_METRIC, ("ana",), selection=Selection.RANDOM, sample_size=2
    )
    demo.queues.create(request, by=ADMIN)
    demo.queues.close("q", by=ADMIN)
    demo.queues.close("q", by=ADMIN)  # closed already: nothing changes, nothing logged
    assert [a[1] for a in actions(demo)][-2:] == ["queue.created", "queue.closed"]
    with pytest.raises(Forbidden):
        demo.audit.events(by=User("ana", Role.REVIEWER))
    with pytest.raises(Forbidden):
        demo.audit.export_lines(by=User("ana", Role.REVIEWER))  # refused before any read
    with pytest.raises(InvalidInput) as error:
        demo.audit.events(by=ADMIN, action="queue.exploded")
    assert error.value.field == "action"
    lines = list(demo.audit.export_lines(by=ADMIN))
    exported = [json.loads(line) for line in lines]
    assert exported[-1]["action"] == "queue.closed" and exported[-1]["actor"] == "ada"
    assert [e["id"] for e in exported] == sorted(e["id"] for e in exported)
