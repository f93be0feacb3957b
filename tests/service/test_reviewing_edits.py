"""The review of an aligned run before and besides accepting it: strike, edit and restore
(recorded, shaping what is accepted, refused after a decision), reject, and the runs that
cannot be accepted. Runs are made by hand (reviewing_support.make_run)."""

from __future__ import annotations

import pytest
from tests.service.reviewing_support import CUSTOM, G1, G2, G3, make_run
from tests.service.reviewing_support import demo as demo  # the fixtures, as pytest finds them
from tests.service.reviewing_support import judged as judged

from rubricate import Rubricate
from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.errors import Conflict, InvalidInput, NotFound

# -- strike, edit, restore ---------------------------------------------------------------


def test_edits_are_recorded_and_shape_what_is_accepted(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1, G2, G3])

    rb.reviews.strike(run_id, 2, by="ana")
    rb.reviews.edit(run_id, 3, "  Link the   help center\n article. ", by="bo")
    rb.reviews.strike(run_id, 1, by="ana")
    run = rb.reviews.restore(run_id, 1, by="cy")

    assert run.result is not None
    edits = run.result.review.edits
    assert [(e.action, e.guideline_id, e.by) for e in edits] == [
        ("strike", 2, "ana"),
        ("edit", 3, "bo"),
        ("strike", 1, "ana"),
        ("restore", 1, "cy"),
    ]
    assert edits[1].text == "Link the help center article."
    assert all(e.at is not None for e in edits)
    assert [g.text for g in run.result.effective_guidelines()] == [
        G1,
        "Link the help center article.",
    ]
    assert run.result.guidelines[2].text == G3  # the original stays
    version = rb.reviews.accept(run_id, confirm_unverified=True).version
    assert version.guidelines == f"- {G1}\n- Link the help center article."


def test_repeated_edits_are_not_recorded_again(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1, G2])
    rb.reviews.strike(run_id, 1)
    rb.reviews.strike(run_id, 1)
    rb.reviews.restore(run_id, 2)  # not struck
    rb.reviews.edit(run_id, 2, G2)  # its own text
    run = rb.alignment_runs.get(run_id)
    assert run.result is not None
    assert [(e.action, e.guideline_id) for e in run.result.review.edits] == [("strike", 1)]


def test_an_edit_of_a_struck_guideline_shows_once_restored(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    rb.reviews.strike(run_id, 1)
    rb.reviews.edit(run_id, 1, "Better words.")
    run = rb.reviews.restore(run_id, 1)
    assert run.result is not None
    assert [g.text for g in run.result.effective_guidelines()] == ["Better words."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "must not be empty"), ("  \n ", "must not be empty"), ("x" * 1001, "at most 1,000")],
)
def test_an_edit_needs_some_text(rb: Rubricate, demo: str, text: str, expected: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    with pytest.raises(InvalidInput, match=expected) as refused:
        rb.reviews.edit(run_id, 1, text)
    assert refused.value.field == "text"
    rb.reviews.edit(run_id, 1, "y" * 1000)  # the longest allowed


def test_an_unknown_guideline_or_run(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1, G2])
    with pytest.raises(InvalidInput, match=r"no guideline 7 \(its guidelines: 1, 2\)") as bad:
        rb.reviews.strike(run_id, 7)
    assert bad.value.field == "guideline"
    with pytest.raises(InvalidInput):
        rb.reviews.edit(run_id, 0, "text")
    with pytest.raises(NotFound, match="no alignment run 'nope'"):
        rb.reviews.restore("nope", 1)
    with pytest.raises(NotFound):
        rb.reviews.accept("nope", confirm_unverified=True)
    with pytest.raises(NotFound):
        rb.reviews.reject("nope")


def test_no_edits_after_a_decision(rb: Rubricate, demo: str) -> None:
    accepted = make_run(rb, CUSTOM, demo, [G1, G2])
    rb.reviews.accept(accepted, confirm_unverified=True)
    with pytest.raises(Conflict, match="accepted already"):
        rb.reviews.edit(accepted, 1, "new words")
    with pytest.raises(Conflict, match="accepted already"):
        rb.reviews.strike(accepted, 2)
    rejected = make_run(rb, CUSTOM, demo, [G1])
    rb.reviews.reject(rejected)
    with pytest.raises(Conflict, match="was rejected"):
        rb.reviews.restore(rejected, 1)
    run = rb.alignment_runs.get(accepted)
    assert run.result is not None and run.result.review.edits == []


# -- reject ------------------------------------------------------------------------------


def test_reject(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    run = rb.reviews.reject(run_id, by="ana")
    assert run.status is RunStatus.ALIGNED
    assert run.result is not None
    assert (run.result.review.decision, run.result.review.by) == ("rejected", "ana")
    first_at = run.result.review.at
    again = rb.reviews.reject(run_id, by="bo")  # a no-op success
    assert again.result is not None
    assert (again.result.review.by, again.result.review.at) == ("ana", first_at)
    with pytest.raises(Conflict, match="was rejected: it cannot be accepted"):
        rb.reviews.accept(run_id, confirm_unverified=True)
    with pytest.raises(Conflict):
        rb.reviews.accept(run_id, merge=True, confirm_unverified=True)
    assert [v.number for v in rb.metrics.versions(CUSTOM)] == [1]


def test_an_accepted_run_cannot_be_rejected(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    rb.reviews.accept(run_id, confirm_unverified=True)
    with pytest.raises(Conflict, match="accepted already"):
        rb.reviews.reject(run_id)
    run = rb.alignment_runs.get(run_id)
    assert run.result is not None and run.result.review.decision == "accepted"


# -- runs that cannot be accepted ----------------------------------------------------------


@pytest.mark.parametrize(
    "status", [RunStatus.PENDING, RunStatus.RUNNING, RunStatus.ERROR, RunStatus.CANCELLED]
)
def test_only_an_aligned_run_is_accepted(rb: Rubricate, demo: str, status: RunStatus) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1], status=status)
    with pytest.raises(Conflict, match=f"is {status.label}: only an Aligned run can be accepted"):
        rb.reviews.accept(run_id, confirm_unverified=True)
    with pytest.raises(Conflict, match="only an Aligned run"):
        rb.reviews.strike(run_id, 1)
    with pytest.raises(Conflict, match="only an Aligned run"):
        rb.reviews.reject(run_id)
    assert [v.number for v in rb.metrics.versions(CUSTOM)] == [1]


def test_nothing_to_accept(rb: Rubricate, demo: str) -> None:
    struck = make_run(rb, CUSTOM, demo, [G1, G2])
    rb.reviews.strike(struck, 1)
    rb.reviews.strike(struck, 2)
    with pytest.raises(Conflict, match=r"nothing to accept.*every guideline is struck"):
        rb.reviews.accept(struck, confirm_unverified=True)
    empty = make_run(rb, CUSTOM, demo, [])
    with pytest.raises(Conflict, match=r"nothing to accept.*found none"):
        rb.reviews.accept(empty, merge=True, confirm_unverified=True)
    assert [v.number for v in rb.metrics.versions(CUSTOM)] == [1]
    assert rb.alignment_runs.get(struck).accepted_version_id is None
