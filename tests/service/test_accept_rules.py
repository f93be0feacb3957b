"""What an accept asks of an Aligned run (issue 11, item 5): nothing to accept is refused
with the reason, and an unverified run (no judge, too few rows, a budget cut, a drop on the
test rows, a guideline edited after verification) is refused with the reason until the
user confirms. The rule lives in the service, so the CLI, API and web share it."""

from __future__ import annotations

import pytest
from tests.run_support import ended

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.domain.acceptance import UnverifiedRun, dropped_guidelines
from rubricate.domain.alignment import (
    AlignmentResult,
    Figure,
    GuidelineItem,
    Verification,
    VerificationStatus,
)
from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.errors import Conflict

CUSTOM = "answer_helpfulness"
KEPT = GuidelineItem(id=1, text="Penalise refunds the policy does not allow.", verified=True)
DROPPED = GuidelineItem(
    id=2,
    text="Be stricter overall.",
    dropped_reason="lowered agreement on 9 of 14 rows it acted on",
)


def run_with(
    rb: Rubricate,
    guidelines: list[GuidelineItem],
    check: Verification,
    proposed: list[GuidelineItem] | None = None,
) -> str:
    run = rb.alignment_runs.start(metric=CUSTOM, evaluations=[EVALUATION], delta=1)
    result = AlignmentResult(
        engine="builtin:offline",
        guidelines=guidelines,
        proposed=proposed if proposed is not None else guidelines,
        disagreements=12,
        verification=check,
    )
    ended(rb, run.id, RunStatus.ALIGNED, result)
    return run.id


def verified(**changes: object) -> Verification:
    difference = Figure(value=0.08, low=0.02, high=0.14)
    return Verification(
        status="verified", test_rows=120, difference=difference, raised=True
    ).model_copy(update=changes)


def versions(rb: Rubricate) -> int:
    return len(rb.metrics.versions(CUSTOM))


def test_a_verified_run_is_accepted_without_asking(demo: Rubricate) -> None:
    run_id = run_with(demo, [KEPT], verified(), proposed=[KEPT, DROPPED])
    done = demo.reviews.accept(run_id)
    assert done.created and done.version.guidelines == f"- {KEPT.text}"
    assert done.run.result is not None and done.run.result.review.unverified is None


def test_a_run_without_a_judge_asks_for_confirmation(demo: Rubricate) -> None:
    run_id = run_with(demo, [KEPT.model_copy(update={"verified": False})], Verification())
    with pytest.raises(UnverifiedRun, match="no judge model was given") as refused:
        demo.reviews.accept(run_id)
    assert "confirm_unverified" in str(refused.value)
    assert versions(demo) == 1 and demo.alignment_runs.get(run_id).accepted_version_id is None
    done = demo.reviews.accept(run_id, confirm_unverified=True, by="ana")
    assert done.created and versions(demo) == 2
    assert done.run.result is not None
    assert done.run.result.review.unverified is not None
    assert "no judge model" in done.run.result.review.unverified


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        ("unverified: too few rows", "Only 12 test rows (at least 30 are needed).", "12 test rows"),
        (
            "unverified: budget exhausted",
            "The budget cut the search short: guideline(s) 1 were not checked.",
            "guideline(s) 1 were not checked",
        ),
    ],
)
def test_an_unverified_status_gives_its_reason(
    demo: Rubricate, status: VerificationStatus, message: str, expected: str
) -> None:
    run_id = run_with(demo, [KEPT], Verification(status=status, message=message))
    with pytest.raises(UnverifiedRun) as refused:
        demo.reviews.accept(run_id)
    assert status in refused.value.reason and expected in refused.value.reason
    assert versions(demo) == 1


def test_a_drop_on_the_test_rows_asks_for_confirmation(demo: Rubricate) -> None:
    drop = Figure(value=-0.041, low=-0.09, high=0.01)
    run_id = run_with(demo, [KEPT], verified(difference=drop, raised=False, test_drop=True))
    with pytest.raises(UnverifiedRun) as refused:
        demo.reviews.accept(run_id)
    reason = refused.value.reason
    assert "show a drop" in reason and "-0.041" in reason and "-0.090 to +0.010" in reason
    assert demo.reviews.accept(run_id, confirm_unverified=True).created


def test_an_edit_after_verification_asks_for_confirmation(demo: Rubricate) -> None:
    run_id = run_with(demo, [KEPT], verified())
    demo.reviews.edit(run_id, 1, "Penalise any refund promise.")
    with pytest.raises(UnverifiedRun, match="guideline 1 was edited after verification"):
        demo.reviews.accept(run_id)
    demo.reviews.edit(run_id, 1, KEPT.text)  # back to the verified text: no question asked
    assert demo.reviews.accept(run_id).created


def test_nothing_to_accept_says_why(demo: Rubricate) -> None:
    all_dropped = run_with(demo, [], verified(), proposed=[DROPPED])
    with pytest.raises(Conflict, match=r"verification put none of run .* 1 proposed guideline "):
        demo.reviews.accept(all_dropped, confirm_unverified=True)
    run = demo.alignment_runs.get(all_dropped)
    assert run.result is not None
    assert [(d.id, d.reason) for d in dropped_guidelines(run.result)] == [
        (2, "lowered agreement on 9 of 14 rows it acted on")
    ]
    existing = GuidelineItem(id=1, text="Keep answers polite.", existing=True)
    unchanged = run_with(demo, [existing], verified())
    with pytest.raises(Conflict, match="only the guidelines the metric already has"):
        demo.reviews.accept(unchanged, confirm_unverified=True)
    demo.reviews.strike(unchanged, 1)  # taking one out is a change, but leaves nothing here
    with pytest.raises(Conflict, match="every guideline is struck"):
        demo.reviews.accept(unchanged, confirm_unverified=True)
    assert versions(demo) == 1
