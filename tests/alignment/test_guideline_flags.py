"""A person's edit makes a verified guideline unverified; verification numbers the
guidelines it shows the judge."""

from __future__ import annotations

from datetime import UTC, datetime

from rubricate.alignment.judging import numbered
from rubricate.domain.alignment import AlignmentResult, GuidelineItem, ReviewEdit


def test_an_edited_guideline_is_no_longer_verified() -> None:
    result = AlignmentResult(
        engine="x",
        guidelines=[
            GuidelineItem(id=1, text="Keep it short.", verified=True),
            GuidelineItem(id=2, text="Mind the tone.", verified=True),
        ],
    )
    now = datetime.now(UTC)
    result.review.edits.append(
        ReviewEdit(guideline_id=2, action="edit", text="Mind the tone, please.", at=now)
    )
    result.review.edits.append(
        ReviewEdit(guideline_id=1, action="edit", text="Keep it short.", at=now)
    )
    flags = {g.id: g.verified for g in result.effective_guidelines()}
    assert flags == {1: True, 2: False}  # the same text again is no change


def test_guidelines_are_numbered_for_the_judge() -> None:
    assert numbered(["a", "b"]) == "1. a\n2. b"
