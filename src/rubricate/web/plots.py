"""Inline SVG charts for the evaluation page, drawn on the server (no script, no library):
the judge's score against the resolved human score, one dot per row.

Every text that reaches the SVG (row ids, scale labels) is escaped: a row id is data."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from rubricate.domain.scale import Scale
from rubricate.service.evaluation_reads import Point

WIDTH, HEIGHT = 680, 460
LEFT, RIGHT, TOP, BOTTOM = 150, 24, 44, 78
MAX_POINTS = 2000
AGREE, DISAGREE = "#2856c4", "#d9480f"
TOLERANCE = 1e-9


def default_delta(scale: Scale) -> float:
    """The gap that counts as a disagreement on the page (Scale.step)."""
    return scale.step


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _jitter(row: str, salt: str) -> float:
    """A fixed offset in [-1, 1] for a row: the same dot sits in the same place every time."""
    digest = hashlib.blake2b(f"{salt}:{row}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 0xFFFFFFFF * 2 - 1


def _thin(points: Sequence[Point], limit: int) -> list[Point]:
    if len(points) <= limit:
        return list(points)
    step = len(points) / limit
    return [points[int(i * step)] for i in range(limit)]


@dataclass(frozen=True, slots=True)
class _Axis:
    low: float
    high: float
    start: float  # pixels
    end: float

    def at(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


def _ticks(scale: Scale) -> list[tuple[float, str, str]]:
    """(value, number, label) for each tick."""
    points = scale.points
    if points is not None:
        return [(v, f"{v:g}", scale.label_of(v) or "") for v in points]
    count = 5
    values = [scale.low + scale.span * i / (count - 1) for i in range(count)]
    return [(v, f"{v:g}", scale.label_of(v) or "") for v in values]


def _describe(value: float, scale: Scale) -> str:
    label = scale.label_of(value)
    return f"{value:g} ({label})" if label else _fmt(value)


def judge_vs_human(
    points: Sequence[Point], scale: Scale, *, delta: float, title: str = "Judge vs human"
) -> Markup:
    """A scatter plot: judge score across, resolved human score up; dots where the two are
    ``delta`` or more apart are orange. Dots are jittered (by row id, so they stay put)
    so that rows with the same scores do not hide each other."""
    points_scale = scale.points is not None
    step = default_delta(scale) if points_scale else scale.span
    pad = step * 0.5 if points_scale else scale.span * 0.05
    x = _Axis(scale.low - pad, scale.high + pad, LEFT, WIDTH - RIGHT)
    y = _Axis(scale.low - pad, scale.high + pad, HEIGHT - BOTTOM, TOP)
    spread = step * 0.22 if points_scale else scale.span * 0.008
    shown = _thin(points, MAX_POINTS)
    disagree = sum(1 for p in points if abs(p.judge - p.human) >= delta - TOLERANCE)

    parts: list[str] = [
        f'<svg class="plot judge-human" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-labelledby="plot-title plot-desc" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">',
        f'<title id="plot-title">{escape(title)}</title>',
        f'<desc id="plot-desc">{len(points)} rows; {disagree} where judge and human are '
        f"{_fmt(delta)} or more apart.</desc>",
        f'<rect x="{x.start}" y="{y.end}" width="{x.end - x.start}" '
        f'height="{y.start - y.end}" fill="#fbfcfd" stroke="#d9dee5"/>',
    ]
    # the band where the two agree (|judge - human| < delta), and the diagonal
    lo, hi = x.low, x.high
    band = [
        (lo, lo - delta),
        (hi, hi - delta),
        (hi, hi + delta),
        (lo, lo + delta),
    ]
    polygon = " ".join(f"{x.at(a):.1f},{y.at(b):.1f}" for a, b in band)
    parts.append(
        f'<clipPath id="plot-area"><rect x="{x.start}" y="{y.end}" width="{x.end - x.start}" '
        f'height="{y.start - y.end}"/></clipPath>'
        f'<g clip-path="url(#plot-area)"><polygon points="{polygon}" fill="#e9f1ff" '
        f'opacity=".7"/><line x1="{x.at(lo):.1f}" y1="{y.at(lo):.1f}" x2="{x.at(hi):.1f}" '
        f'y2="{y.at(hi):.1f}" stroke="#9aa5b4" stroke-dasharray="4 4"/></g>'
    )
    for value, number, label in _ticks(scale):
        px, py = x.at(value), y.at(value)
        parts.append(
            f'<line x1="{px:.1f}" y1="{y.end}" x2="{px:.1f}" y2="{y.start}" stroke="#eef1f5"/>'
            f'<line x1="{x.start}" y1="{py:.1f}" x2="{x.end}" y2="{py:.1f}" stroke="#eef1f5"/>'
            f'<text x="{px:.1f}" y="{y.start + 18}" text-anchor="middle" font-size="13" '
            f'fill="#1d2430">{escape(number)}</text>'
            f'<text x="{x.start - 10}" y="{py + 4:.1f}" text-anchor="end" font-size="13" '
            f'fill="#1d2430">{escape(number)}</text>'
        )
        if label:
            short = label if len(label) <= 18 else label[:17] + "…"
            parts.append(
                f'<text x="{px:.1f}" y="{y.start + 33}" text-anchor="middle" font-size="10.5" '
                f'fill="#5f6b7a">{escape(short)}</text>'
                f'<text x="{x.start - 28}" y="{py + 4:.1f}" text-anchor="end" font-size="10.5" '
                f'fill="#5f6b7a">{escape(short)}</text>'
            )
    parts.append(
        f'<text x="{(x.start + x.end) / 2:.1f}" y="{HEIGHT - 14}" text-anchor="middle" '
        'font-size="13" font-weight="600" fill="#1d2430">Judge score</text>'
        f'<text transform="translate(18 {(y.start + y.end) / 2:.1f}) rotate(-90)" '
        'text-anchor="middle" font-size="13" font-weight="600" fill="#1d2430">'
        "Resolved human score</text>"
    )
    # agreeing dots first, so that the disagreeing ones are drawn on top
    ordered = sorted(shown, key=lambda p: abs(p.judge - p.human) >= delta - TOLERANCE)
    for p in ordered:
        off = abs(p.judge - p.human) >= delta - TOLERANCE
        cx = x.at(p.judge + _jitter(p.row, "x") * spread)
        cy = y.at(p.human + _jitter(p.row, "y") * spread)
        tip = f"{p.row}: judge {_describe(p.judge, scale)}, human {_describe(p.human, scale)}" + (
            " (disagree)" if off else ""
        )
        parts.append(
            f'<circle class="{"disagree" if off else "agree"}" cx="{cx:.1f}" cy="{cy:.1f}" '
            f'r="{5.5 if off else 4.5}" fill="{DISAGREE if off else AGREE}" '
            f'fill-opacity="{0.9 if off else 0.6}" stroke="#fff" stroke-width="1">'
            f"<title>{escape(tip)}</title></circle>"
        )
    # the legend, above the plot
    agree = len(points) - disagree
    parts.append(
        f'<g font-size="12.5" fill="#1d2430" transform="translate({x.start} 20)">'
        f'<circle cx="6" cy="0" r="5" fill="{AGREE}" fill-opacity=".6"/>'
        f'<text x="16" y="4">agree: {agree} (|judge − human| &lt; {_fmt(delta)})</text>'
        f'<circle cx="250" cy="0" r="5.5" fill="{DISAGREE}" fill-opacity=".9"/>'
        f'<text x="260" y="4">disagree: {disagree} (≥ {_fmt(delta)})</text>'
        "</g>"
    )
    if not points:
        parts.append(
            f'<text x="{(x.start + x.end) / 2:.1f}" y="{(y.start + y.end) / 2:.1f}" '
            'text-anchor="middle" font-size="14" fill="#5f6b7a">No row has both a judge score '
            "and a resolved human score yet.</text>"
        )
    if len(shown) < len(points):
        parts.append(
            f'<text x="{x.end}" y="{HEIGHT - 14}" text-anchor="end" font-size="11" '
            f'fill="#5f6b7a">{len(shown):,} of {len(points):,} rows drawn</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
