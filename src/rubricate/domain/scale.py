"""Score scales: what values a metric may take and how labels map to numbers."""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from rubricate.limits import SCALE_MAX_ABS, SCALE_MAX_POINTS

ScaleType = Literal["ordinal", "interval", "labels"]


class ScaleError(ValueError):
    """A score or label that the scale does not allow."""


class Scale(BaseModel):
    """A metric's score scale.

    - ``ordinal``: whole numbers from ``min`` to ``max`` (1–5); ``labels`` may name points.
    - ``interval``: any real number from ``min`` to ``max`` (0–1).
    - ``labels``: ordered labels only (pass/fail); ``labels`` maps each allowed number to
      its label, and a mean of labels means nothing, so the ``mean`` policy refuses it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ScaleType = "ordinal"
    min: float | None = None
    max: float | None = None
    labels: dict[float, str] = Field(default_factory=dict)

    # Limits first, as field errors (so they name the field): pages, plots and imports
    # list a scale's points, and a 0–10,000,000 scale once exhausted the server's memory.
    @field_validator("min", "max")
    @classmethod
    def _not_huge(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and math.isfinite(value) and abs(value) > SCALE_MAX_ABS:
            raise ValueError(
                f"a scale's {info.field_name} must be at most {SCALE_MAX_ABS:g} "
                f"in size, not {value:g}"
            )
        return value

    @field_validator("max")
    @classmethod
    def _not_too_wide(cls, high: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("min")
        if info.data.get("type") != "ordinal" or low is None or high is None:
            return high
        if math.isfinite(low) and math.isfinite(high) and high - low + 1 > SCALE_MAX_POINTS:
            raise ValueError(
                f"an ordinal scale has at most {SCALE_MAX_POINTS} points: "
                f"{low:g}–{high:g} would have {high - low + 1:g}"
            )
        return high

    @field_validator("labels")
    @classmethod
    def _few_labels(cls, labels: dict[float, str]) -> dict[float, str]:
        if len(labels) > SCALE_MAX_POINTS:
            raise ValueError(f"a scale has at most {SCALE_MAX_POINTS} labels, not {len(labels)}")
        huge = [v for v in labels if math.isfinite(v) and abs(v) > SCALE_MAX_ABS]
        if huge:
            raise ValueError(
                f"a label's value must be at most {SCALE_MAX_ABS:g} in size, not {huge[0]:g}"
            )
        return labels

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.type == "labels":
            self._take_bounds_from_labels()
        if self.min is None or self.max is None:
            raise ValueError(f"an {self.type} scale needs min and max")
        if not (math.isfinite(self.min) and math.isfinite(self.max)) or self.min >= self.max:
            raise ValueError(f"scale min ({self.min:g}) must be below max ({self.max:g})")
        if self.type == "ordinal" and not (self.min.is_integer() and self.max.is_integer()):
            raise ValueError("an ordinal scale's min and max must be whole numbers")
        # value_of() ignores case and surrounding space, so labels must differ beyond them
        seen: dict[str, str] = {}
        for name in self.labels.values():
            key = name.strip().casefold()
            if not key:
                raise ValueError("scale labels must not be empty")
            if key in seen:
                raise ValueError(
                    f"scale labels must be distinct: {seen[key]!r} and {name!r} "
                    "differ only in case or spaces"
                )
            seen[key] = name
        for value in self.labels:
            if self.type != "labels":
                self.check(value)
        return self

    def _take_bounds_from_labels(self) -> None:
        """A labels scale allows its labels only: its bounds are the lowest and highest."""
        if len(self.labels) < 2:
            raise ValueError("a labels scale needs at least two labels")
        if not all(math.isfinite(value) for value in self.labels):
            raise ValueError("label values must be finite numbers")
        lo, hi = min(self.labels), max(self.labels)
        for bound, given, implied in (("min", self.min, lo), ("max", self.max, hi)):
            if given is None:
                object.__setattr__(self, bound, implied)
            elif given != implied:
                raise ValueError(
                    f"a labels scale's {bound} ({given:g}) must be its "
                    f"{'lowest' if bound == 'min' else 'highest'} label value ({implied:g})"
                )

    @property
    def low(self) -> float:
        assert self.min is not None  # set by the validator
        return self.min

    @property
    def high(self) -> float:
        assert self.max is not None  # set by the validator
        return self.max

    @property
    def is_numeric(self) -> bool:
        """Whether averaging scores is meaningful (``mean`` policy, MAE)."""
        return self.type != "labels"

    @property
    def points(self) -> list[float] | None:
        """The allowed values in order, or None for a continuous scale; at most
        ``SCALE_MAX_POINTS`` of them (the validator refuses wider scales)."""
        if self.type == "labels":
            return sorted(self.labels)
        if self.type == "ordinal":
            return [float(v) for v in range(int(self.low), int(self.high) + 1)]
        return None

    def is_point(self, value: float) -> bool:
        """Whether ``value`` is one of the scale's points, without listing them."""
        if self.type == "labels":
            return value in self.labels
        if self.type == "ordinal":
            return self.low <= value <= self.high and float(value).is_integer()
        return False

    @property
    def span(self) -> float:
        return self.high - self.low

    @property
    def step(self) -> float:
        """The gap that counts as a disagreement unless a user says otherwise: one step
        between the points (1 on 1–5 and on fail/pass), a quarter of a continuous range."""
        points = self.points
        if points and len(points) > 1:
            return min(b - a for a, b in itertools.pairwise(points))
        return self.span / 4

    def check(self, value: float) -> float:
        """Return ``value`` as a float if the scale allows it, else raise ScaleError."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ScaleError(f"score must be a number, not {type(value).__name__}")
        try:
            number = float(value)
        except OverflowError:  # a 400-digit integer: far outside any scale
            size = "large" if value > 0 else "small"
            raise ScaleError(f"score is too {size}: outside the scale {self.describe()}") from None
        if not math.isfinite(number):
            raise ScaleError(f"score {value!r} is not a finite number")
        if self.type == "labels":
            if number not in self.labels:
                allowed = ", ".join(f"{v:g} ({n})" for v, n in sorted(self.labels.items()))
                raise ScaleError(f"score {number:g} is not on the scale: allowed {allowed}")
            return number
        if not self.low <= number <= self.high:
            raise ScaleError(f"score {number:g} is outside the scale {self.describe()}")
        if self.type == "ordinal" and not number.is_integer():
            raise ScaleError(f"score {number:g} is not a whole number on {self.describe()}")
        return number

    def value_of(self, label: str) -> float:
        """The number a label stands for (case and surrounding space ignored)."""
        wanted = label.strip().casefold()
        for value, name in self.labels.items():
            if name.casefold() == wanted:
                return value
        known = ", ".join(repr(n) for n in self.labels.values()) or "none"
        raise ScaleError(f"unknown label {label!r}: known labels are {known}")

    def label_of(self, value: float) -> str | None:
        return self.labels.get(value)

    def describe(self) -> str:
        """A short human description, e.g. ``1–5`` or ``fail/pass``."""
        if self.type == "labels":
            return "/".join(self.labels[v] for v in sorted(self.labels))
        return f"{self.low:g}–{self.high:g}"

    def same_values(self, other: Scale) -> bool:
        """Whether both scales allow the same scores; the names of numeric points may
        differ (one team's "Excellent" is another's "Very helpful")."""
        if (self.type, self.low, self.high) != (other.type, other.low, other.high):
            return False
        return self.type != "labels" or set(self.labels) == set(other.labels)

    def to_json(self) -> dict[str, object]:
        """The layout of dataset.json (label keys as strings, as JSON needs)."""
        data: dict[str, object] = {
            "type": self.type,
            "min": plain_number(self.low),
            "max": plain_number(self.high),
        }
        if self.labels:
            data["labels"] = {f"{plain_number(v)}": n for v, n in sorted(self.labels.items())}
        return data


def plain_number(value: float) -> int | float:
    """``5.0`` as ``5``: whole scores are written as whole numbers in JSON and CSV."""
    return int(value) if value.is_integer() else value
