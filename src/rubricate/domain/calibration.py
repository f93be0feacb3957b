"""The warning before an alignment when reviewers agree too little on the rows it would
use, and whom it names: the reviewers whose removal raises alpha most. One value, made
once, that the API, the CLI and the Start Alignment dialog all show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NAMED_AT_MOST = 3  # reviewers a warning names; the rest are on the evaluation page


@dataclass(frozen=True, slots=True)
class PullingDown:
    """A reviewer whose removal raises the group's alpha to ``alpha_without``."""

    reviewer: str
    alpha_without: float


@dataclass(frozen=True, slots=True)
class ReviewerWarning:
    alpha: float  # the reviewers' alpha on the rows the run would use
    threshold: float
    reviewers: tuple[PullingDown, ...]  # most raising first; empty: no one stands out
    message: str


def reviewer_warning(
    alpha: float | None,
    threshold: float,
    leave_one_out: Sequence[tuple[str, float | None]],
) -> ReviewerWarning | None:
    """A warning when ``alpha`` is below ``threshold`` (None: too few shared rows to say,
    no warning), naming those of ``leave_one_out`` ((reviewer, alpha without them)) whose
    removal raises alpha, most first."""
    if alpha is None or alpha >= threshold:
        return None
    raising = sorted(
        (
            PullingDown(name, without)
            for name, without in leave_one_out
            if without is not None and without > alpha
        ),
        key=lambda p: (-p.alpha_without, p.reviewer),
    )[:NAMED_AT_MOST]
    head = (
        f"Reviewers agree little on the rows this run would use: Krippendorff's alpha "
        f"{alpha:.2f}, below {threshold:g}."
    )
    if raising:
        named = ", ".join(f"without {p.reviewer}: {p.alpha_without:.2f}" for p in raising)
        tail = f" Alpha {named}. Check their scores before aligning."
    else:
        tail = (
            " No single reviewer's removal raises it: the rubric may be read in different "
            "ways; discuss it, or resolve the contested rows, before aligning."
        )
    return ReviewerWarning(round(alpha, 4), threshold, tuple(raising), head + tail)


EVEN = 0.05  # an offset smaller than this, in either direction, reads as "even"


def offset_text(offset: float | None) -> str:
    """A reviewer's mean offset from the others in words: "0.4 harsher", "1.2 more
    lenient", "even"; "–" when there is none (no shared row, or unordered labels)."""
    if offset is None:
        return "–"
    if abs(offset) < EVEN:
        return "even"
    return f"{abs(offset):.1f} {'harsher' if offset < 0 else 'more lenient'}"
