"""The compact scale syntax of ``metrics create --scale``, and ``--scale-json``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # pydantic loads when a scale is parsed, not for --help
    from pydantic import ValidationError

    from rubricate.domain.scale import Scale

_NUMBER = r"-?\d+(?:\.\d+)?"
_RANGE = re.compile(rf"^({_NUMBER})\s*(?:-|–|\.\.)\s*({_NUMBER})(?:\s*:\s*([a-z]+))?$")
SCALE_HELP = (
    "The score scale: MIN-MAX for whole numbers (1-5), MIN-MAX:interval for any number in "
    "the range (0-1:interval), or ordered labels, lowest first (fail,pass: 0 and 1)."
)
SCALE_JSON_HELP = (
    'The scale as JSON, to name numeric points: {"type": "ordinal", "min": 1, "max": 5, '
    '"labels": {"1": "poor", "5": "great"}}'
)
_FORMS = "use MIN-MAX (1-5), MIN-MAX:interval (0-1:interval) or labels (fail,pass)"


def parse_scale(text: str | None, as_json: str | None) -> Scale:
    """The scale given by exactly one of ``--scale`` and ``--scale-json``."""
    from pydantic import ValidationError

    from rubricate.domain.scale import Scale

    if (text is None) == (as_json is None):
        raise typer.BadParameter(
            "give the scale with --scale or --scale-json (one of them)", param_hint="'--scale'"
        )
    if as_json is not None:
        try:
            return Scale.model_validate_json(as_json)
        except ValidationError as exc:
            raise typer.BadParameter(_reason(exc), param_hint="'--scale-json'") from None
    assert text is not None
    try:
        return _compact(text.strip())
    except ValidationError as exc:
        raise typer.BadParameter(f"{text!r}: {_reason(exc)}", param_hint="'--scale'") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--scale'") from None


def _compact(text: str) -> Scale:
    from rubricate.domain.scale import Scale

    match = _RANGE.match(text)
    if match:
        low, high, kind = match.groups()
        if kind not in (None, "ordinal", "interval"):
            raise ValueError(f"{text!r}: unknown scale type {kind!r}: use ordinal or interval")
        return Scale(type=kind or "ordinal", min=float(low), max=float(high))
    if "," in text:
        labels = [label.strip() for label in text.split(",")]
        if any(not label for label in labels):
            raise ValueError(f"{text!r}: a label is empty; {_FORMS}")
        return Scale(type="labels", labels={float(i): label for i, label in enumerate(labels)})
    raise ValueError(f"{text!r} is not a scale: {_FORMS}")


def _reason(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
