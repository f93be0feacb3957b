"""A small chart of agreement before and after a run's guidelines, drawn as inline SVG by
a template (partials/run_agreement_chart.html) from the layout computed here: numbers
only, so nothing in it is ever markup."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rubricate.domain.alignment import AgreementFigures, Figure

WIDTH = 560
LABEL_WIDTH = 170  # the figures' names on the left
RIGHT_MARGIN = 24
ROW_HEIGHT = 38
TOP = 30  # room for the legend
BOTTOM = 28  # room for the axis labels

# The figures drawn: on a common axis (agreement shares, kappa and Spearman); MAE is on the
# scale's units and is left to the table.
CHARTED = (
    ("exact", "Exact agreement"),
    ("within_delta", "Within-delta agreement"),
    ("kappa", "Weighted kappa"),
    ("spearman", "Spearman"),
)


@dataclass(frozen=True, slots=True)
class Mark:
    """One figure's dot and whisker (None where the value is unknown)."""

    x: float | None
    low: float | None
    high: float | None
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class ChartRow:
    label: str
    y: float  # the row's middle
    before: Mark
    after: Mark


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: float  # the plot area's left and right edges
    right: float
    top: float
    bottom: float
    rows: list[ChartRow]
    ticks: list[Tick]
    zero: float | None  # x of 0 when the axis starts below it


def _value(figure: Figure) -> float | None:
    value = figure.value
    return None if value is None or math.isnan(value) else value


def agreement_chart(before: AgreementFigures, after: AgreementFigures) -> Chart:
    """Dots (value) and whiskers (95% interval) for each charted figure, before above
    after, on an axis from 0 (or lower, when a kappa or Spearman is negative) to 1."""
    figures = [getattr(f, key) for f in (before, after) for key, _ in CHARTED]
    lows = [v for f in figures for v in (f.low, f.value) if v is not None and not math.isnan(v)]
    low_end = min([0.0, *lows])
    low_end = math.floor(low_end * 4) / 4  # a quarter below the lowest value
    span = 1.0 - low_end
    left, right = float(LABEL_WIDTH), float(WIDTH - RIGHT_MARGIN)

    def x_of(value: float | None) -> float | None:
        if value is None or math.isnan(value):
            return None
        clipped = max(low_end, min(1.0, value))
        return round(float(left + (clipped - low_end) / span * (right - left)), 1)

    def mark(figure: Figure, y: float) -> Mark:
        value = _value(figure)
        return Mark(
            x=x_of(value),
            low=x_of(figure.low),
            high=x_of(figure.high),
            y=y,
            text="—" if value is None else f"{value:.2f}",
        )

    rows = []
    for index, (key, label) in enumerate(CHARTED):
        middle = TOP + index * ROW_HEIGHT + ROW_HEIGHT / 2
        rows.append(
            ChartRow(
                label=label,
                y=middle,
                before=mark(getattr(before, key), middle - 7),
                after=mark(getattr(after, key), middle + 7),
            )
        )
    steps = round(span / 0.25)
    ticks = []
    for step in range(steps + 1):
        value = low_end + step * 0.25
        position = x_of(value)
        assert position is not None
        ticks.append(Tick(x=position, text=f"{value:g}"))
    bottom = TOP + len(CHARTED) * ROW_HEIGHT
    return Chart(
        width=WIDTH,
        height=int(bottom + BOTTOM),
        left=left,
        right=right,
        top=TOP,
        bottom=bottom,
        rows=rows,
        ticks=ticks,
        zero=x_of(0.0) if low_end < 0 else None,
    )
