"""The evaluation page's judge-vs-human figures, as it shows them: exact and within-delta
agreement, MAE, weighted kappa and Spearman, each with its interval when asked."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rubricate.alignment.figures import agreement as judge_agreement
from rubricate.domain.alignment import Figure
from rubricate.domain.scale import Scale
from rubricate.service.evaluation_reads import Point

INTERVALS_UP_TO = 20_000  # bootstrap intervals (loaded after the page) up to this many rows


@dataclass(frozen=True, slots=True)
class Shown:
    """A figure as the page shows it."""

    name: str
    value: str
    interval: str = ""
    hint: str = ""


def shown_number(value: float | None, digits: int = 2, percent: bool = False) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.0%}" if percent else f"{value:.{digits}f}"


def judge_figures(
    points: Sequence[Point], scale: Scale, delta: float, *, intervals: bool
) -> list[Shown]:
    """Judge vs human figures; ``intervals``: with bootstrap 95% intervals (1,000
    resamples: about a second, so the page loads them after it shows)."""
    if not points:
        return []
    figures = judge_agreement(
        [p.judge for p in points],
        [p.human for p in points],
        [p.row for p in points],
        scale=scale,
        delta=delta,
        seed=0,
        intervals=intervals and len(points) <= INTERVALS_UP_TO,
    )

    def shown(name: str, figure: Figure, hint: str, percent: bool = False) -> Shown:
        interval = ""
        if figure.low is not None and figure.high is not None:
            low = shown_number(figure.low, percent=percent)
            interval = f"{low} to {shown_number(figure.high, percent=percent)}"
        return Shown(name, shown_number(figure.value, percent=percent), interval, hint)

    found = [
        shown("Exact agreement", figures.exact, "judge = human", percent=True),
        shown(
            "Within delta",
            figures.within_delta,
            f"|judge − human| < {delta:g}",
            percent=True,
        ),
    ]
    if scale.is_numeric:
        found.append(shown("MAE", figures.mae, "mean |judge − human|, in scale points"))
    if scale.points is not None:
        found.append(shown("Weighted kappa", figures.kappa, "Cohen's, quadratic weights"))
    found.append(shown("Spearman", figures.spearman, "rank correlation"))
    return found
