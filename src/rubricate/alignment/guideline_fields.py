"""Reading the fields a reflection model gives a guideline beyond its text: the target
score (a point or a range on the scale) and the kind. What cannot be read is None: the
guideline stays (verification decides on it), the field is left empty."""

from __future__ import annotations

import math
import re

from rubricate.domain.scale import Scale
from rubricate.domain.traces import GuidelineKind

# A number not glued to a digit before it, so "1-2" reads as 1 and 2, "-1" as minus one.
_NUMBER = re.compile(r"(?<![\d.])-?\d+(?:\.\d+)?")
_KINDS = {kind.value: kind for kind in GuidelineKind} | {kind.label: kind for kind in GuidelineKind}


def read_target(value: object, scale: Scale) -> tuple[float, float] | None:
    """(lowest, highest) from a number, a text such as "2", "1-2", "about 2 (Poor)" or
    "1 to 2", or an object with ``low`` and ``high``; None unless both ends are on the
    scale (a range of more than two numbers is not a target)."""
    numbers: list[float] = []
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        numbers = [float(value)]
    elif isinstance(value, str):
        numbers = [float(n) for n in _NUMBER.findall(value[:200])]
    elif isinstance(value, dict):
        ends = [value.get("low"), value.get("high")]
        numbers = [float(n) for n in ends if isinstance(n, int | float) and not isinstance(n, bool)]
    if not 1 <= len(numbers) <= 2 or not all(math.isfinite(n) for n in numbers):
        return None
    low, high = min(numbers), max(numbers)
    if low < scale.low or high > scale.high:
        return None
    return (low, high)


def read_kind(value: object) -> GuidelineKind | None:
    if not isinstance(value, str):
        return None
    return _KINDS.get(value.strip().casefold().replace(" ", "_")) or _KINDS.get(
        value.strip().casefold()
    )


def describe_target(target: tuple[float, float] | None) -> str:
    if target is None:
        return "not given"
    low, high = target
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"
