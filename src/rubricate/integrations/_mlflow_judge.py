"""An MLflow judge (``make_judge``) as rubricate sees it, and back: its instructions as a
metric's prompt (MLflow's template variables renamed to rubricate's), the guidelines section
an aligned judge carries (written after the instructions, and read back from them on the
next alignment), and the scale its feedback is on. No MLflow import here: a judge is read
by attribute."""

from __future__ import annotations

import re
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import ValidationError

from rubricate.domain.builtin_prompts import GUIDELINES_SECTION
from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale, ScaleError
from rubricate.integrations._mlflow_export import VARIABLES
from rubricate.integrations._mlflow_read import YES_NO, MlflowRequest, Read, infer_scale
from rubricate.scoring.guidelines import guideline_items, numbered_guidelines

MLFLOW_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")  # as MLflow's judges read them
RUBRICATE_NAMES = {mlflow: ours for ours, mlflow in VARIABLES.items()}  # inputs -> input
UNSUPPORTED = {
    "trace": "a judge of {{ trace }} explores the trace with tools",
    "conversation": "a judge of {{ conversation }} reads a whole session",
}
# The section rubricate's own prompts end with (GUIDELINES_SECTION), as plain text.
HEADING = "## Guidelines from your team's reviewers"
INTRO = GUIDELINES_SECTION.split(HEADING, 1)[1].split("{{ guidelines }}")[0].strip()
PASS_FAIL = {0.0: "fail", 1.0: "pass"}
LABEL_FAMILIES = (YES_NO, PASS_FAIL, {0.0: "false", 1.0: "true"})
OPENS_TAG = re.compile(r"\{(?=[{%#]|\Z)")  # a "{" Jinja would read as the start of a tag


def rubricate_prompt(instructions: str) -> str:
    """The judge's instructions as a metric's prompt: ``{{ inputs }}`` as ``{{ input }}``,
    ``{{ outputs }}`` as ``{{ output }}``, ``{{ expectations }}`` as ``{{ expected }}``,
    any other brace that would open a Jinja tag written so that it renders as itself."""
    parts: list[str] = []
    at = 0
    for found in MLFLOW_VARIABLE.finditer(instructions):
        name = found.group(1)
        if name in UNSUPPORTED:
            raise InvalidInput(
                f"{UNSUPPORTED[name]}, which rubricate's judge cannot do: align a judge whose "
                "instructions use {{ inputs }}, {{ outputs }} and {{ expectations }}",
                field="judge",
            )
        if name not in RUBRICATE_NAMES:
            continue  # not a variable MLflow knows: text, kept as it is below
        parts.append(_literal(instructions[at : found.start()]))
        parts.append(f"{{{{ {RUBRICATE_NAMES[name]} }}}}")
        at = found.end()
    parts.append(_literal(instructions[at:]))
    return "".join(parts)


def _literal(text: str) -> str:
    return OPENS_TAG.sub('{{ "{" }}', text)


def split_guidelines(instructions: str) -> tuple[str, str]:
    """The instructions without the guidelines section an earlier alignment wrote, and
    that section's guidelines as a version keeps them ("- " lines; "" for none)."""
    head, found, tail = instructions.partition(f"\n{HEADING}\n")
    if not found:
        return instructions, ""
    tail = tail.strip().removeprefix(INTRO)
    return head.rstrip(), "\n".join(f"- {item}" for item in guideline_items(tail))


def with_guidelines(instructions: str, guidelines: str) -> str:
    """The instructions followed by the guidelines section, numbered as rubricate's judge
    sees them; the instructions alone when there are none."""
    numbered = numbered_guidelines(guidelines)
    if not numbered:
        return instructions
    return f"{instructions.rstrip()}\n\n{HEADING}\n{INTRO}\n\n{numbered}\n"


def same_guidelines(one: str, other: str) -> bool:
    return guideline_items(one) == guideline_items(other)


def judge_scale(value_type: Any, read: Read, request: MlflowRequest) -> Scale:
    """The scale of the judge's feedback: bool as fail/pass; a Literal of labels in its
    order (yes/no, pass/fail and true/false low to high); int as whole numbers (1–5 when
    the values seen lie within it, else from the lowest to the highest); float as a range
    (0–1 when within it); otherwise what the values tell (``infer_scale``)."""
    value_type = _without_none(value_type)
    usable = [a for a, reason in read.feedback if not reason]
    numbers = [a.score for a in usable if a.score is not None and a.label is None]
    try:
        if value_type is bool:
            return Scale(type="labels", labels=PASS_FAIL)
        if get_origin(value_type) is Literal:
            return _literal_scale(get_args(value_type))
        if value_type in (int, float) and numbers and len(numbers) == len(usable):
            return _numeric_scale(value_type is int, numbers)
        return infer_scale(read, request)[0]
    except (InvalidInput, ValidationError, ScaleError):
        shown = getattr(value_type, "__name__", None) or repr(value_type)
        raise InvalidInput(
            f"cannot tell the scale of the judge {request.judge!r} from its feedback_value_type "
            f"({shown}) and the values its feedback holds: rubricate aligns judges whose "
            "feedback is bool, int, float or a Literal of labels (make_judge(..., "
            "feedback_value_type=int)), with values on one scale",
            field="feedback_value_type",
        ) from None


def _without_none(value_type: Any) -> Any:
    """``T | None`` (and ``Optional[T]``) as ``T``."""
    if get_origin(value_type) in (Union, types.UnionType):
        rest = [a for a in get_args(value_type) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return value_type


def _literal_scale(values: tuple[Any, ...]) -> Scale:
    if all(isinstance(v, str) for v in values):
        folded = {v.casefold() for v in values}
        for family in LABEL_FAMILIES:
            if folded == set(family.values()):
                named = {v.casefold(): v for v in values}
                return Scale(type="labels", labels={k: named[n] for k, n in family.items()})
        return Scale(type="labels", labels={float(i): v for i, v in enumerate(values)})
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return Scale(type="ordinal", min=min(values), max=max(values))
    raise InvalidInput("a Literal of labels or of whole numbers")


def _numeric_scale(whole: bool, numbers: list[float]) -> Scale:
    low, high = min(numbers), max(numbers)
    if whole:
        if not all(n.is_integer() for n in numbers):
            raise InvalidInput("int feedback with fractions")
        low, high = (1.0, 5.0) if low >= 1 and high <= 5 else (low, high)
        return Scale(type="ordinal", min=low, max=high)
    low, high = (0.0, 1.0) if low >= 0 and high <= 1 else (low, high)
    return Scale(type="interval", min=low, max=high)


def fits(scale: Scale, read: Read) -> bool:
    """Whether every usable feedback value lies on ``scale``."""
    for item, reason in read.feedback:
        if reason:
            continue
        try:
            if item.label is not None:
                scale.value_of(item.label)
            elif item.score is not None:
                scale.check(item.score)
        except ScaleError:
            return False
    return True


def rubricate_model(name: str | None) -> str | None:
    """A model name as rubricate writes it (``provider:model``); MLflow's
    ``provider:/model`` is taken too."""
    if name is None or not name.strip():
        return None
    return re.sub(r"^([\w.-]+):/(?!/)", r"\1:", name.strip())
