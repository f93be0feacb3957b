"""The sandbox that scoring prompts run in: parsing, static checks and safe rendering.

Templates run in an immutable sandbox with StrictUndefined, so a misspelt variable is an
error rather than an empty string. ``compile_template`` goes further before anything runs:
it refuses unknown variables and attribute names starting with ``_`` (the usual first step
of a sandbox escape), naming the line. Any reviewer may write a template, so the sandbox
bounds the work too: every render runs on an operation budget with a deadline and an
output cap (see ``budget``).

Row fields are never bound as text: ``DataRef`` stands in for them (see ``render``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from functools import lru_cache
from types import MappingProxyType, TracebackType

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError

from rubricate.domain.errors import InvalidInput
from rubricate.limits import TEMPLATE_MAX_OUTPUT_CHARS
from rubricate.scoring.budget import BudgetedSandbox, BudgetExceeded, budget, count_loops

VARIABLES: frozenset[str] = frozenset(
    {"input", "output", "context", "expected", "metadata", "guidelines", "scale"}
)
# Row fields in block order, with the name that their block and references carry.
DATA_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "input": "INPUT",
        "output": "OUTPUT",
        "context": "CONTEXT",
        "expected": "EXPECTED",
        "metadata": "METADATA",
    }
)
NOT_GIVEN = "(not given)"  # what an absent field (None) renders as


class DataRef:
    """Stands in a template for a row field: renders as ``[NAME]``, never as the text.

    It is true when the field has a value, so ``{% if context %}`` works; nothing else of
    the text is reachable, since the sandbox refuses the private ``_value``.
    """

    __slots__ = ("_label", "_value")

    def __init__(self, label: str, value: object) -> None:
        self._label = label
        self._value = value

    def __str__(self) -> str:
        return f"[{self._label}]"

    def __bool__(self) -> bool:
        return bool(self._value)


class MetadataRef(DataRef):
    """``metadata`` in a template: ``metadata.key`` refers to one entry of its block."""

    __slots__ = ()

    def __getitem__(self, key: object) -> DataRef | None:
        value = self._value
        if isinstance(key, str) and isinstance(value, Mapping) and key in value:
            return DataRef(f"{self._label}: {key}", value[key])
        return None  # a key this row lacks is absent, like a missing context


def _finalize(value: object) -> object:
    return NOT_GIVEN if value is None else value


_ENV = BudgetedSandbox(
    undefined=StrictUndefined,
    autoescape=False,  # plain text for a model, not HTML
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_finalize,
)
del _ENV.globals["lipsum"]  # random filler text has no place in a judge's instructions


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    template: Template
    names: frozenset[str]  # the documented variables the template refers to


def prompt_error(message: str, line: int | None) -> InvalidInput:
    where = f" on line {line}" if line is not None else ""
    return InvalidInput(f"prompt template{where}: {message}", line=line, field="prompt")


@lru_cache(maxsize=256)
def compile_template(source: str) -> CompiledTemplate:
    """Parse, check and compile a template once; raise InvalidInput(field="prompt")."""
    if not source.strip():
        raise prompt_error("the prompt is empty", None)
    try:
        ast = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise prompt_error(exc.message or str(exc), exc.lineno) from exc
    names = meta.find_undeclared_variables(ast)
    unknown = names - VARIABLES
    if unknown:
        line, name = min(
            (node.lineno, node.name)
            for node in ast.find_all(nodes.Name)
            if node.ctx == "load" and node.name in unknown
        )
        close = get_close_matches(name, sorted(VARIABLES), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        known = ", ".join(sorted(VARIABLES))
        raise prompt_error(f"unknown variable '{name}'{hint}; the variables are {known}", line)
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        attr = _attribute_name(node)
        if attr is not None and attr.startswith("_"):
            raise prompt_error(f"the private attribute '{attr}' is not allowed", node.lineno)
    count_loops(ast)
    return CompiledTemplate(_ENV.from_string(ast), frozenset(names))


def _attribute_name(node: nodes.Node) -> str | None:
    """The attribute a node reads by a constant name (``x.a``, ``x['a']``, ``x|attr('a')``)."""
    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    arg: nodes.Node | None = None
    if isinstance(node, nodes.Getitem):
        arg = node.arg
    elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
        arg = node.args[0]
    if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
        return arg.value
    return None


def run_template(template: Template, variables: Mapping[str, object]) -> str:
    """Render on a fresh budget, turning any failure of the template's own code (or its
    going over budget) into InvalidInput."""
    try:
        with budget():
            pieces: list[str] = []
            length = 0
            for piece in template.generate(variables):
                length += len(piece)
                if length > TEMPLATE_MAX_OUTPUT_CHARS:
                    raise BudgetExceeded(
                        f"it renders over {TEMPLATE_MAX_OUTPUT_CHARS:,} characters"
                    )
                pieces.append(piece)
            return "".join(pieces)
    except BudgetExceeded as exc:
        raise prompt_error(f"{exc}", _template_line(exc)) from exc
    except SecurityError as exc:
        raise prompt_error(f"not allowed in the sandbox: {exc}", _template_line(exc)) from exc
    except Exception as exc:  # the template is the user's code: any failure is its error
        raise prompt_error(f"{type(exc).__name__}: {exc}", _template_line(exc)) from exc


def _template_line(exc: BaseException) -> int | None:
    """The template line an exception came from (Jinja rewrites tracebacks to it)."""
    line = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
