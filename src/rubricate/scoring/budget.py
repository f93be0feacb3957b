"""The operation budget of every template render (see ``rubricate.limits``).

Templates are written by any reviewer, so the sandbox bounds the work, not only the reach:
each loop iteration, call, filter, attribute read and intercepted operator spends one unit
of a per-render budget, checked against a wall-time deadline too; ``range`` spends its
length up front; operators and filters that could build a huge value in one step (``*``,
``**``, ``%`` widths, ``center(10**9)``) are refused before they run. A render over budget
raises ``BudgetExceeded``, which the renderer turns into a prompt error.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from jinja2 import nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rubricate.limits import (
    TEMPLATE_MAX_OPERATIONS,
    TEMPLATE_MAX_OUTPUT_CHARS,
    TEMPLATE_RENDER_SECONDS,
)

COUNTED = "rubricate_counted"  # the filter wrapped around every for-loop's iterable
_MAX_INT_BITS = 4_096  # an integer result larger than this is no part of a prompt
_WIDE_FORMAT = re.compile(r"\d{6,}|[%:]\*")  # widths of a million, or taken from an argument


class BudgetExceeded(Exception):
    """A render did more than a template may (its message says what)."""


@dataclass(slots=True)
class _Budget:
    deadline: float
    operations: int = 0


_current: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def budget() -> Iterator[None]:
    """A fresh budget for the render inside (renders never share one)."""
    token = _current.set(_Budget(time.monotonic() + TEMPLATE_RENDER_SECONDS))
    try:
        yield
    finally:
        _current.reset(token)


def spend(units: int = 1) -> None:
    found = _current.get()
    if found is None:
        return  # not inside a render (a test poking the environment)
    found.operations += units
    if found.operations > TEMPLATE_MAX_OPERATIONS:
        raise BudgetExceeded(
            f"it does too much work (over {TEMPLATE_MAX_OPERATIONS:,} loop iterations, "
            "calls and operations in one render)"
        )
    if time.monotonic() > found.deadline:
        raise BudgetExceeded(f"it takes too long (over {TEMPLATE_RENDER_SECONDS:g} s to render)")


def counted(values: Iterable[Any]) -> Iterator[Any]:
    """A for-loop's iterable, spending one unit per item."""
    for value in values:
        spend()
        yield value


def budgeted_range(*args: int) -> range:
    values = range(*args)
    if len(values) > TEMPLATE_MAX_OPERATIONS:
        raise BudgetExceeded(
            f"range of {len(values):,} items (at most {TEMPLATE_MAX_OPERATIONS:,})"
        )
    spend(len(values))
    return values


def count_loops(ast: nodes.Template) -> None:
    """Wrap the iterable of every ``{% for %}`` in the counting filter."""
    for loop in ast.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, COUNTED, [], [], None, None, lineno=loop.lineno)


def _check_arguments(args: Iterable[Any]) -> None:
    for value in args:
        if isinstance(value, int) and abs(value) > TEMPLATE_MAX_OUTPUT_CHARS:
            raise BudgetExceeded(f"the number {value} is too large as an argument")
        if isinstance(value, Sized) and not isinstance(value, str):
            spend(len(value))  # a filter over a collection works through it


def _check_size(value: object) -> None:
    if isinstance(value, str | list | tuple) and len(value) > TEMPLATE_MAX_OUTPUT_CHARS:
        raise BudgetExceeded(f"a value of over {TEMPLATE_MAX_OUTPUT_CHARS:,} items")


def _budgeted(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps jinja_pass_arg (context, environment) as it was
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        spend()
        _check_arguments([*args, *kwargs.values()])
        result = function(*args, **kwargs)
        _check_size(result)
        return result

    return wrapper


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "**" and isinstance(left, int) and isinstance(right, int):
        if right > 0 and max(abs(left), 2).bit_length() * right > _MAX_INT_BITS:
            raise BudgetExceeded(f"{left} ** {right} is too large")
    elif operator == "*":
        for value, times in ((left, right), (right, left)):
            if (
                isinstance(value, str | list | tuple)
                and isinstance(times, int)
                and len(value) * times > TEMPLATE_MAX_OUTPUT_CHARS
            ):
                raise BudgetExceeded(f"a repetition of over {TEMPLATE_MAX_OUTPUT_CHARS:,} items")
        ints = isinstance(left, int) and isinstance(right, int)
        if ints and abs(left).bit_length() + abs(right).bit_length() > _MAX_INT_BITS:
            raise BudgetExceeded("a product too large")
    elif operator == "%" and isinstance(left, str) and _WIDE_FORMAT.search(left):
        raise BudgetExceeded("a format width too large")


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, on a budget (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _budgeted(f) for name, f in self.filters.items()}
        self.filters[COUNTED] = counted
        self.tests = {
            name: _budgeted(cast(Callable[..., Any], t)) for name, t in self.tests.items()
        }
        self.globals["range"] = budgeted_range

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        spend()
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        spend()
        _check_arguments([*args, *kwargs.values()])
        result = super().call(__context, __obj, *args, **kwargs)
        _check_size(result)
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        spend()
        formatting = attribute in ("format", "format_map") and isinstance(obj, str)
        if formatting and _WIDE_FORMAT.search(obj):
            raise BudgetExceeded("a format width too large")
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        spend()
        return super().getitem(obj, argument)
