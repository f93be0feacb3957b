"""The evaluation page's Reviewers section: each reviewer against the others (rows scored,
agreement, the group's alpha without them, offset), from the calibration use case the API
and the CLI show too."""

from __future__ import annotations

from dataclasses import dataclass, field

from rubricate.domain.calibration import offset_text
from rubricate.domain.errors import NotFound
from rubricate.domain.queues import GoldAccuracy
from rubricate.domain.users import User
from rubricate.service.calibration import ReviewerCalibration
from rubricate.service.workspace import Rubricate
from rubricate.web.judge_figures import shown_number


@dataclass(frozen=True, slots=True)
class ReviewerLine:
    name: str
    rows: int
    share: str  # of the rows anyone scored
    exact: str  # mean over the others sharing a row
    within_delta: str
    others: int  # reviewers this one shares a row with
    alpha_without: str
    pulls_down: bool  # the group's alpha is higher without them
    offset: str  # "0.4 harsher", "even", "–"


@dataclass(frozen=True, slots=True)
class ReviewersSection:
    alpha: str
    level: str
    unit: str
    delta: str
    within_delta: bool  # whether to show it: it can differ from exact agreement
    lines: list[ReviewerLine]
    gold: dict[str, GoldAccuracy] = field(default_factory=dict)  # by reviewer: admins only

    @property
    def compared(self) -> bool:
        """Whether any row is scored twice: without one, there is nothing to compare."""
        return any(line.others for line in self.lines)


def reviewers_section(
    rb: Rubricate, evaluation: str, metric: str, *, viewer: User | None = None
) -> ReviewersSection | None:
    """The section's lines, or None when the metric has no annotations here."""
    try:
        found = rb.calibration.reviewers(evaluation, metric, viewer=viewer)
    except NotFound:
        return None
    return section_of(found)


def section_of(found: ReviewerCalibration) -> ReviewersSection:
    alpha = found.alpha
    lines = [
        ReviewerLine(
            name=r.reviewer,
            rows=r.units,
            share=shown_number(r.coverage, percent=True),
            exact=shown_number(r.exact, percent=True),
            within_delta=shown_number(r.within_delta, percent=True),
            others=sum(1 for p in r.pairs if p.shared),
            alpha_without=shown_number(r.alpha_without),
            pulls_down=alpha is not None
            and r.alpha_without is not None
            and r.alpha_without > alpha,
            offset="—" if r.offset is None else offset_text(r.offset),
        )
        for r in found.reviewers
    ]
    return ReviewersSection(
        alpha=shown_number(alpha),
        level=found.level,
        unit=found.unit,
        delta=f"{found.delta:g}" if found.delta is not None else "—",
        within_delta=found.within_delta_differs,
        lines=lines,
        gold={g.reviewer: g for g in found.gold},
    )
