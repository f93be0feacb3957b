"""What the queue pages show beside the use cases' own types: a scale's points with the
key that picks each, scores and times in words, the New queue form as it was posted, and
a page of a long list."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from rubricate.domain.names import RUN_ID_MAX_CHARS
from rubricate.domain.queues import (
    DEFAULT_LEASE_SECONDS,
    MAX_GOLD_RATE,
    MAX_REVIEWERS,
    NOTE_MAX_CHARS,
    QueueRequest,
    Selection,
)
from rubricate.domain.scale import Scale
from rubricate.service.queues import MAX_QUEUE_ROWS

T = TypeVar("T")

SELECTIONS = {
    Selection.ALL: "All rows",
    Selection.UNRESOLVED: "Unresolved rows (no resolved value yet)",
    Selection.DISAGREEING: "Disagreeing rows (judge and resolved value differ by the delta)",
    Selection.RANDOM: "Random sample of N rows",
    Selection.STRATIFIED: "Stratified sample of N rows (spread over the judge's scores)",
    Selection.SAMPLER: "Sampler: the N unreviewed rows that would teach an alignment most",
}


def queue_url(name: str, tail: str = "") -> str:
    """A queue's page, or one under it (``/review``, ``/conflicts``)."""
    return f"/queues/{quote(name, safe='')}{tail}"


@dataclass(frozen=True, slots=True)
class Point:
    value: str  # as the form sends it: "4", "0.5"
    text: str  # "4 · Good"
    key: str  # the key that picks it: "4"; "" for none


def points(scale: Scale) -> list[Point]:
    """The scale's points in order, each with its key: its own value when every point is a
    digit 0-9 (1-5, fail 0 / pass 1), else its place (1-9, the first nine only). Empty
    for an interval scale: the page asks for a number."""
    found = scale.points
    if found is None:
        return []
    by_value = all(v.is_integer() and 0 <= v <= 9 for v in found)
    return [
        Point(
            f"{v:g}",
            describe(scale, v),
            f"{v:g}" if by_value else (str(n) if n <= 9 else ""),
        )
        for n, v in enumerate(found, start=1)
    ]


def describe(scale: Scale, value: float | None) -> str:
    """``4 · Good``; ``3.667`` for a fractional value; ``—`` for none."""
    if value is None:
        return "—"
    label = scale.label_of(value)
    number = f"{value:g}" if float(value).is_integer() else f"{value:.3f}".rstrip("0")
    return f"{number} · {label}" if label else number


def duration(seconds: float | None) -> str:
    """A time in words: ``42 s``, ``3 min 5 s``, ``2 h 10 min``."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return "under 1 s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(whole, 3600)
    minutes = rest // 60
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def split_names(text: str) -> list[str]:
    """Names typed comma separated (spaces and empty entries ignored)."""
    return [part.strip() for part in text.split(",") if part.strip()]


class QueueForm(BaseModel):
    """The New queue form's fields, declared once: what an admin posted (FastAPI reads and
    checks the body against them; kept when the queue is refused, so nothing typed is lost),
    or the blank form's defaults (``blank``)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=RUN_ID_MAX_CHARS)
    evaluation: str = Field(min_length=1, max_length=200)
    metric: str = Field(min_length=1, max_length=100)
    reviewers: tuple[str, ...] = Field((), max_length=MAX_REVIEWERS)  # ticked
    other_reviewers: str = Field("", max_length=50_000)  # typed, comma separated
    selection: Selection = Selection.ALL
    sample_size: int | None = Field(None, ge=1, le=MAX_QUEUE_ROWS)
    delta: float | None = Field(None, gt=0, le=1e9)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    reviews_per_row: int = Field(1, ge=1, le=5)
    blind: bool = False
    lease_minutes: int = Field(DEFAULT_LEASE_SECONDS // 60, ge=1, le=1440)
    gold_rate: float = Field(0.0, ge=0, le=MAX_GOLD_RATE)

    selections: ClassVar[dict[Selection, str]] = SELECTIONS

    @classmethod
    def blank(cls) -> QueueForm:
        """The form before anything is typed (its required fields empty, not checked)."""
        return cls.model_construct(name="", evaluation="", metric="")

    def request(self) -> QueueRequest:
        """The queue asked for: ticked and typed reviewers as one list (each once), and a
        sample size or delta only for the selections that use it."""
        sampled = self.selection in (Selection.RANDOM, Selection.STRATIFIED, Selection.SAMPLER)
        apart = self.selection in (Selection.DISAGREEING, Selection.SAMPLER)
        return QueueRequest(
            name=self.name.strip(),
            evaluation=self.evaluation,
            metric=self.metric,
            reviewers=tuple(dict.fromkeys([*self.reviewers, *split_names(self.other_reviewers)])),
            selection=self.selection,
            sample_size=self.sample_size if sampled else None,
            delta=self.delta if apart else None,
            reviews_per_row=self.reviews_per_row,
            blind=self.blind,
            lease_seconds=self.lease_minutes * 60,
            seed=self.seed,
            gold_rate=self.gold_rate,
        )


@dataclass(frozen=True, slots=True)
class Paged(Generic[T]):
    """One page of a list the use case returns whole."""

    items: list[T]
    number: int
    last: int
    first: int  # the first item's place, from 1
    total: int

    @property
    def shown_to(self) -> int:
        return self.first + len(self.items) - 1


def paged(items: Sequence[T], number: int, size: int) -> Paged[T]:
    last = max(1, math.ceil(len(items) / size))
    number = min(number, last)
    start = (number - 1) * size
    return Paged(list(items[start : start + size]), number, last, start + 1, len(items))


def resolver(resolved_by: str | None) -> str:
    """Who resolved a row: ``ada``, ``majority policy``."""
    kind, _, who = (resolved_by or "").partition(":")
    return f"{who} policy" if kind == "policy" else who


class GoldForm(BaseModel):
    """The queue page's gold form: a row of the queue's evaluation, its known right score
    (a value of the scale, as the form sends it) and an optional note."""

    row: str = Field(min_length=1, max_length=200)
    score: str = Field(min_length=1, max_length=100)
    note: str = Field("", max_length=NOTE_MAX_CHARS)
