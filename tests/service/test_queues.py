"""Review queues through the workspace on the demo evaluation: selections, exactly N
counted reviews a row and none twice to a reviewer, leases that lapse, late reviews kept,
skips, blindness, conflicts and sending a row back."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from rubricate import Rubricate
from rubricate.demo import ALIGNED_METRIC, EVALUATION
from rubricate.domain.errors import Conflict, Forbidden, InvalidInput
from rubricate.domain.queues import QueueRequest, Selection
from rubricate.domain.users import Role, User
from rubricate.store.queue_tables import QueueAssignmentRecord
from rubricate.store.tables import AnnotationRecord, utcnow

ADMIN = User("ada", Role.ADMIN)
ANA, BEN, CY = (User(n, Role.REVIEWER) for n in ("ana", "ben", "cy"))


def make(rb: Rubricate, name: str = "q", **options: object) -> None:
    fields: dict[str, object] = {"reviewers": ("ana", "ben", "cy")} | options
    request = QueueRequest(name=name, evaluation=EVALUATION, metric=ALIGNED_METRIC, **fields)  # type: ignore[arg-type]
    rb.queues.create(request, by=ADMIN)


def lapse(rb: Rubricate, reviewer: str) -> None:
    """The reviewer's leases expire (a closed tab, fifteen minutes on)."""
    with rb.db.write() as session:
        session.execute(
            update(QueueAssignmentRecord)
            .where(QueueAssignmentRecord.reviewer == reviewer)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def test_only_an_admin_creates_a_queue_and_selections_pick_their_rows(demo: Rubricate) -> None:
    with pytest.raises(Forbidden):
        demo.queues.create(QueueRequest("q", EVALUATION, ALIGNED_METRIC, ("ana",)), by=ANA)
    make(demo, "every")
    make(demo, "open", selection=Selection.UNRESOLVED)
    make(demo, "some", selection=Selection.RANDOM, sample_size=10, seed=3)
    make(demo, "spread", selection=Selection.STRATIFIED, sample_size=12)
    make(demo, "apart", selection=Selection.DISAGREEING)
    found = {q.name: q for q in demo.queues.list()}
    assert found["every"].rows == 48 and found["some"].rows == 10 and found["spread"].rows == 12
    covered = demo.evaluations.show(EVALUATION).metrics[0]
    assert found["open"].rows == covered.annotated_rows - covered.resolved_rows + 0 == 2
    assert 0 < found["apart"].rows < 48
    with pytest.raises(Conflict, match="exists already"):
        make(demo, "every")
    with pytest.raises(InvalidInput) as error:
        make(demo, "x", reviews_per_row=4)
    assert error.value.field == "reviews_per_row"


def test_every_row_gets_exactly_its_reviews_and_none_twice_from_one_reviewer(
    demo: Rubricate,
) -> None:
    make(demo, reviews_per_row=2, selection=Selection.RANDOM, sample_size=9)
    given: list[tuple[str, str]] = []
    active = [ANA, BEN, CY]
    while active:
        for reviewer in list(active):
            row = demo.queue_reviews.next("q", reviewer)
            if row is None:
                active.remove(reviewer)
                continue
            given.append((row.row_id, reviewer.name))
            assert demo.queue_reviews.submit("q", reviewer, row.row_id, 4).counted
    assert len(given) == len(set(given)) == 18  # 9 rows x 2, no (row, reviewer) twice
    assert set(Counter(row for row, _ in given).values()) == {2}
    queue = demo.queues.get("q")
    assert (queue.rows_done, queue.reviews_counted, queue.finished) == (9, 18, True)
    with demo.db.read() as session:
        sources = set(session.scalars(select(AnnotationRecord.source)))
    assert "queue:q" in sources


def test_a_held_row_comes_back_and_a_lapsed_lease_frees_it_for_another(demo: Rubricate) -> None:
    make(demo, selection=Selection.RANDOM, sample_size=1)
    first = demo.queue_reviews.next("q", ANA)
    assert first is not None
    again = demo.queue_reviews.next("q", ANA)  # the tab reloaded: the same row
    assert again is not None and again.row_id == first.row_id
    assert demo.queue_reviews.next("q", BEN) is None  # leased to ana
    lapse(demo, "ana")
    taken = demo.queue_reviews.next("q", BEN)
    assert taken is not None and taken.row_id == first.row_id
    late = demo.queue_reviews.submit("q", ANA, first.row_id, 2)  # after her lease: still counts
    assert late.counted
    beyond = demo.queue_reviews.submit("q", BEN, first.row_id, 5)  # the row had its one review
    assert not beyond.counted
    reviews = demo.queues.reviews("q", by=ADMIN)
    assert [(r.reviewer, r.beyond) for _, r in reviews] == [("ana", False), ("ben", True)]


def test_a_lapsed_lease_returns_to_its_reviewer_when_no_one_took_the_row(demo: Rubricate) -> None:
    make(demo, selection=Selection.RANDOM, sample_size=1, reviewers=("ana",))
    first = demo.queue_reviews.next("q", ANA)
    lapse(demo, "ana")
    back = demo.queue_reviews.next("q", ANA)
    assert first is not None and back is not None and back.row_id == first.row_id
    assert back.expires_at > utcnow()


def test_a_skipped_row_goes_to_another_reviewer_never_back(demo: Rubricate) -> None:
    make(demo, selection=Selection.RANDOM, sample_size=2)
    row = demo.queue_reviews.next("q", ANA)
    assert row is not None
    demo.queue_reviews.skip("q", ANA, row.row_id)
    following = demo.queue_reviews.next("q", ANA)
    assert following is not None and following.row_id != row.row_id
    taken = demo.queue_reviews.next("q", BEN)
    assert taken is not None and taken.row_id == row.row_id
    assert [p.skipped for p in demo.queues.progress("q")] == [1, 0, 0]


def test_reviews_are_refused_from_strangers_twice_or_off_the_scale(demo: Rubricate) -> None:
    make(demo, selection=Selection.RANDOM, sample_size=2)
    stranger = User("dee", Role.REVIEWER)
    with pytest.raises(Forbidden, match="not a reviewer"):
        demo.queue_reviews.next("q", stranger)
    row = demo.queue_reviews.next("q", ANA)
    assert row is not None
    with pytest.raises(Forbidden, match="not given to you"):
        demo.queue_reviews.submit("q", BEN, row.row_id, 3)
    with pytest.raises(InvalidInput) as error:
        demo.queue_reviews.submit("q", ANA, row.row_id, 99)
    assert error.value.field == "score"
    demo.queue_reviews.submit("q", ANA, row.row_id, 3)
    with pytest.raises(Conflict, match="already"):
        demo.queue_reviews.submit("q", ANA, row.row_id, 4)


def test_a_blind_queue_withholds_the_judge_and_others_until_one_has_reviewed(
    demo: Rubricate,
) -> None:
    make(demo, "seen", selection=Selection.RANDOM, sample_size=3, reviews_per_row=2)
    make(demo, "blind", selection=Selection.RANDOM, sample_size=3, reviews_per_row=2, blind=True)
    seen = demo.queue_reviews.next("seen", ANA)
    assert seen is not None and seen.judge_score is not None and not seen.withheld
    demo.queue_reviews.submit("seen", ANA, seen.row_id, 3, "short")
    other = demo.queue_reviews.next("seen", BEN)
    assert other is not None and other.row_id == seen.row_id
    assert [(r.reviewer, r.comment) for r in other.others] == [("ana", "short")]

    blind = demo.queue_reviews.next("blind", ANA)
    assert blind is not None
    demo.queue_reviews.submit("blind", ANA, blind.row_id, 3, "mine")
    hidden = demo.queue_reviews.next("blind", BEN)
    assert hidden is not None and hidden.row_id == blind.row_id
    assert hidden.withheld and hidden.judge_score is None and hidden.others == ()
    withheld = demo.queues.withheld_rows(BEN, EVALUATION, ALIGNED_METRIC)
    assert len(withheld) == 3  # every row of the blind queue, until ben reviews it
    assert len(demo.queues.withheld_rows(ANA, EVALUATION, ALIGNED_METRIC)) == 2
    assert demo.queues.withheld_rows(ADMIN, EVALUATION, ALIGNED_METRIC) == set()
    demo.queues.close("blind", by=ADMIN)
    assert demo.queues.withheld_rows(BEN, EVALUATION, ALIGNED_METRIC) == set()


def test_conflicts_are_listed_and_a_row_sent_back_gets_one_more_review(demo: Rubricate) -> None:
    make(demo, selection=Selection.RANDOM, sample_size=1, reviews_per_row=2)
    for reviewer, score in ((ANA, 1), (BEN, 5)):
        row = demo.queue_reviews.next("q", reviewer)
        assert row is not None
        demo.queue_reviews.submit("q", reviewer, row.row_id, score)
    [conflict] = demo.queues.conflicts("q", by=ADMIN)
    assert conflict.spread == 4 and [r.reviewer for r in conflict.reviews] == ["ana", "ben"]
    with pytest.raises(Forbidden):
        demo.queues.conflicts("q", by=ANA)
    demo.queues.send_back("q", conflict.row_id, by=ADMIN)
    assert demo.queues.conflicts("q", by=ADMIN) == []  # open again, so not yet a conflict
    assert demo.queue_reviews.next("q", ANA) is None  # had it already
    third = demo.queue_reviews.next("q", CY)
    assert third is not None and third.row_id == conflict.row_id
    demo.queue_reviews.submit("q", CY, third.row_id, 3)
    assert demo.queues.get("q").reviews_counted == 3
    with pytest.raises(Conflict, match="every reviewer"):
        demo.queues.send_back("q", conflict.row_id, by=ADMIN)
