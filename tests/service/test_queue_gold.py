"""Gold rows in review queues through the workspace on the demo evaluation: only admins
set them, a queue mixes them into each reviewer's stream at exactly its rate and never
twice to one reviewer, their reviews count toward nothing but each reviewer's accuracy,
and a reviewer's row looks the same whether it is gold or not."""

from __future__ import annotations

from dataclasses import fields

import pytest
from sqlalchemy import select
from tests.service.test_queues import lapse

from rubricate import Rubricate
from rubricate.demo import ALIGNED_METRIC, EVALUATION
from rubricate.domain.audit import AuditAction
from rubricate.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from rubricate.domain.queues import Assignment, QueueRequest, Selection, gold_due
from rubricate.domain.users import Role, User
from rubricate.store.queue_tables import QueueItemRecord
from rubricate.store.tables import AnnotationRecord, RowRecord

ADMIN = User("ada", Role.ADMIN)
ANA, BEN = User("ana", Role.REVIEWER), User("ben", Role.REVIEWER)


def queued_and_free(rb: Rubricate) -> tuple[set[str], list[str]]:
    """The rows of the (one) queue, and the evaluation's other rows in order."""
    with rb.db.read() as session:
        every = list(session.scalars(select(RowRecord.external_id).order_by(RowRecord.position)))
        own = set(
            session.scalars(
                select(RowRecord.external_id)
                .join(QueueItemRecord, QueueItemRecord.row_id == RowRecord.id)
                .where(QueueItemRecord.gold.is_(False))
            )
        )
    return own, [row for row in every if row not in own]


def gold_queue(
    rb: Rubricate, *, rate: float, gold: int, size: int = 12, **options: object
) -> list[str]:
    """A queue "g" of ``size`` random rows with ``gold`` gold rows (scored 3) beside it."""
    request = QueueRequest(
        "g", EVALUATION, ALIGNED_METRIC, ("ana", "ben"), selection=Selection.RANDOM,
        sample_size=size, seed=5, gold_rate=rate, **options,  # type: ignore[arg-type]
    )  # fmt: skip
    rb.queues.create(request, by=ADMIN)
    _, free = queued_and_free(rb)
    for row in free[:gold]:
        rb.gold.set(EVALUATION, ALIGNED_METRIC, row, 3, note="a clear 3", by=ADMIN)
    return free[:gold]


def work(rb: Rubricate, reviewer: User, score: int = 4) -> list[str]:
    """Every row the queue hands ``reviewer``, each reviewed, in order."""
    handed: list[str] = []
    while (row := rb.queue_reviews.next("g", reviewer)) is not None:
        handed.append(row.row_id)
        assert rb.queue_reviews.submit("g", reviewer, row.row_id, score).counted
    return handed


def test_the_gold_rate_is_kept_exactly_and_no_gold_row_twice(demo: Rubricate) -> None:
    golds = set(gold_queue(demo, rate=0.25, gold=6))
    handed = work(demo, ANA)
    assert len(handed) == 15  # 12 rows and one gold row after every three
    assert [n for n, row in enumerate(handed, start=1) if row in golds] == [4, 8, 12]
    assert len(set(handed)) == len(handed)
    assert [n for n in range(1, 17) if gold_due(n - 1, (n - 1) // 4, 0.25)] == [4, 8, 12, 16]
    assert work(demo, BEN) == []  # the queue's rows had their one review; gold alone is not work


def test_gold_rows_run_out_and_never_come_back_to_a_reviewer(demo: Rubricate) -> None:
    golds = gold_queue(demo, rate=0.5, gold=2, size=6, reviews_per_row=2)
    ana = work(demo, ANA)
    assert [row for row in ana if row in golds] == golds  # 2nd and 4th, then none left
    assert len(ana) == 8 and len(set(ana)) == 8
    ben = work(demo, BEN)  # ben gets the same gold rows: each reviewer is measured on them
    assert [row for row in ben if row in golds] == golds


def test_gold_reviews_count_toward_nothing_but_accuracy(demo: Rubricate) -> None:
    golds = gold_queue(demo, rate=0.5, gold=2, size=4)
    before = demo.evaluations.show(EVALUATION).metrics[0]
    while (row := demo.queue_reviews.next("g", ANA)) is not None:
        score = 1 if row.row_id == golds[1] else 3  # right on the first gold row, 2 off the other
        demo.queue_reviews.submit("g", ANA, row.row_id, score)
    queue = demo.queues.get("g")
    assert (queue.rows, queue.rows_done, queue.reviews_counted, queue.gold_rate) == (4, 4, 4, 0.5)
    with demo.db.read() as session:
        query = select(AnnotationRecord.row_id).where(AnnotationRecord.source == "queue:g")
        annotated = set(session.scalars(query))
    assert len(annotated) == 4  # the queue's rows: the gold reviews are no annotations
    assert demo.evaluations.show(EVALUATION).metrics[0].resolved_rows == before.resolved_rows
    reviews = demo.queues.reviews("g", by=ADMIN)
    assert sorted(row for row, r in reviews if r.gold) == sorted(golds)
    assert demo.queues.conflicts("g", by=ADMIN) == []
    ana = {p.reviewer: p for p in demo.queues.progress("g")}["ana"]
    assert ana.reviewed == 4 and ana.gold is not None
    assert (ana.gold.reviews, ana.gold.exact, ana.gold.mean_error) == (2, 0.5, 1.0)
    assert {p.reviewer: p.gold for p in demo.queues.progress("g")}["ben"] is None
    calibration = demo.calibration.reviewers(EVALUATION, ALIGNED_METRIC)
    assert [(g.reviewer, g.reviews, g.exact) for g in calibration.gold] == [("ana", 2, 0.5)]
    with pytest.raises(Conflict, match="gold row"):
        demo.queues.send_back("g", golds[0], by=ADMIN)
    demo.gold.remove(EVALUATION, ALIGNED_METRIC, golds[1], by=ADMIN)  # leaves the accuracy
    ana = {p.reviewer: p for p in demo.queues.progress("g")}["ana"]
    assert ana.gold is not None and (ana.gold.reviews, ana.gold.exact) == (1, 1.0)


def test_a_gold_row_looks_like_any_row_to_its_reviewer(demo: Rubricate) -> None:
    golds = gold_queue(demo, rate=0.5, gold=1, size=2, blind=True)
    first = demo.queue_reviews.next("g", ANA)
    assert first is not None and first.row_id not in golds
    demo.queue_reviews.submit("g", ANA, first.row_id, 4)
    gold = demo.queue_reviews.next("g", ANA)
    assert gold is not None and gold.row_id == golds[0]
    assert gold.withheld and gold.judge_score is None and gold.others == ()
    assert gold.position == 2 and gold.rows == 2  # the place of the row it stands in for
    assert "gold" not in {f.name for f in fields(Assignment)}
    lapse(demo, "ana")  # a lapsed gold lease comes back to its reviewer
    again = demo.queue_reviews.next("g", ANA)
    assert again is not None and again.row_id == gold.row_id


def test_only_admins_set_gold_on_the_scale_and_each_change_is_audited(demo: Rubricate) -> None:
    with demo.db.read() as session:
        row = session.scalars(select(RowRecord.external_id).order_by(RowRecord.position)).first()
    assert row is not None
    with pytest.raises(Forbidden):
        demo.gold.set(EVALUATION, ALIGNED_METRIC, row, 3, by=ANA)
    with pytest.raises(Forbidden):
        demo.gold.list(EVALUATION, ALIGNED_METRIC, by=ANA)
    with pytest.raises(InvalidInput) as error:
        demo.gold.set(EVALUATION, ALIGNED_METRIC, row, 99, by=ADMIN)
    assert error.value.field == "score"
    with pytest.raises(NotFound):
        demo.gold.set(EVALUATION, ALIGNED_METRIC, "no-such-row", 3, by=ADMIN)
    demo.gold.set(EVALUATION, ALIGNED_METRIC, row, 3, by=ADMIN)
    made = demo.gold.set(EVALUATION, ALIGNED_METRIC, row, 4, note=" plainly 4 ", by=ADMIN)
    assert (made.score, made.note, made.set_by) == (4, "plainly 4", "ada")
    assert [(g.row_id, g.score) for g in demo.gold.list(EVALUATION, ALIGNED_METRIC, by=ADMIN)] == [
        (row, 4)
    ]
    demo.gold.remove(EVALUATION, ALIGNED_METRIC, row, by=ADMIN)
    with pytest.raises(NotFound):
        demo.gold.remove(EVALUATION, ALIGNED_METRIC, row, by=ADMIN)
    assert demo.gold.list(EVALUATION, ALIGNED_METRIC, by=ADMIN) == []
    for action, count in ((AuditAction.GOLD_SET, 2), (AuditAction.GOLD_REMOVED, 1)):
        assert demo.audit.events(by=ADMIN, action=action)[0] == count


def test_the_gold_rate_is_checked(demo: Rubricate) -> None:
    with pytest.raises(InvalidInput) as error:
        gold_queue(demo, rate=0.6, gold=0)
    assert error.value.field == "gold_rate"


def test_the_sampler_is_on_the_workspace_and_says_why_it_holds_no_row(demo: Rubricate) -> None:
    import rubricate
    from rubricate.service.label_sampling import LabelSamplingService

    assert isinstance(demo.label_sampling, LabelSamplingService)
    assert rubricate.Proposal.__name__ == "Proposal"
    assert demo.label_sampling.propose(EVALUATION, ALIGNED_METRIC, 5) == []  # all reviewed
    with pytest.raises(InvalidInput, match="48 of those are reviewed or queued already"):
        demo.queues.create(
            QueueRequest("s", EVALUATION, ALIGNED_METRIC, ("ana",), Selection.SAMPLER, 5),
            by=ADMIN,
        )
