"""The warning before an alignment when reviewers agree too little, and whom it names."""

from __future__ import annotations

from rubricate.domain.calibration import offset_text, reviewer_warning


def test_no_warning_at_or_above_the_threshold_or_without_alpha() -> None:
    assert reviewer_warning(0.4, 0.4, [("a", 0.9)]) is None
    assert reviewer_warning(None, 0.4, [("a", 0.9)]) is None


def test_names_those_whose_removal_raises_alpha_most_first_at_most_three() -> None:
    leave_one_out = [("a", 0.5), ("b", 0.1), ("c", 0.9), ("d", None), ("e", 0.6), ("f", 0.55)]
    warning = reviewer_warning(0.2, 0.4, leave_one_out)
    assert warning is not None
    assert [p.reviewer for p in warning.reviewers] == ["c", "e", "f"]
    assert "Alpha without c: 0.90, without e: 0.60, without f: 0.55." in warning.message


def test_says_so_when_no_single_reviewer_stands_out() -> None:
    warning = reviewer_warning(0.1, 0.4, [("a", 0.05), ("b", None)])
    assert warning is not None and warning.reviewers == ()
    assert "No single reviewer's removal raises it" in warning.message


def test_offsets_in_words() -> None:
    assert [offset_text(v) for v in (-0.44, 1.2, 0.01, None)] == [
        "0.4 harsher",
        "1.2 more lenient",
        "even",
        "–",
    ]
