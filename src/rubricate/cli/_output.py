"""Output helpers: JSON for scripts, rich tables and messages for people.

Row data is always wrapped in ``Text`` so that brackets in it are never read as markup.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress

T = TypeVar("T")

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON (for scripts) instead of tables.")
]


def out() -> Console:
    """The console for results (stdout); built per call so that it follows sys.stdout."""
    return Console(file=sys.stdout, highlight=False)


def err() -> Console:
    """The console for progress and errors (stderr)."""
    return Console(file=sys.stderr, highlight=False)


def progress_bar(title: str, *, time_left: bool = False, quiet: bool = False) -> Progress:
    """A bar on stderr, drawn only on a terminal and gone when done: ``title`` (it may
    name ``{task.description}``), the bar, done/total and, with ``time_left``, an ETA."""
    # Here, not at the top: only the commands that carry work out draw a bar.
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    columns: list[ProgressColumn] = [TextColumn(title), BarColumn(), MofNCompleteColumn()]
    if time_left:
        columns.append(TimeRemainingColumn())
    console = err()
    return Progress(
        *columns, console=console, transient=True, disable=quiet or not console.is_terminal
    )


def error(message: str) -> None:
    err().print(Text(f"error: {message}", style="red"), soft_wrap=True)


def say(message: str | Text, style: str | None = None) -> None:
    """One line for people; plain text, never markup."""
    text = message if isinstance(message, Text) else Text(message, style=style or "")
    out().print(text, soft_wrap=True)


def jsonable(value: Any) -> Any:
    """Dataclasses (fields and properties), pydantic models, enums, datetimes and paths
    as plain JSON values; nan and infinities become null."""
    # Here, not at the top: only --json needs them, and --help should not load pydantic.
    from pydantic import BaseModel

    from rubricate.domain.scale import Scale

    if isinstance(value, Scale):
        return value.to_json()
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in dir(type(value)):
            if not name.startswith("_") and isinstance(getattr(type(value), name), property):
                data[name] = jsonable(getattr(value, name))
        return data
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    text = json.dumps(jsonable(value), indent=2, ensure_ascii=False, allow_nan=False)
    sys.stdout.write(text + "\n")


def emit(value: T, json_output: bool, for_people: Callable[[T], RenderableType]) -> None:
    """``value`` as JSON for scripts, or what ``for_people`` makes of it: a line (``str``
    or ``Text``) said, anything else (a table) shown."""
    if json_output:
        print_json(value)
        return
    shown = for_people(value)
    if isinstance(shown, str | Text):
        say(shown)
    else:
        show(shown)


def table(title: str | None, *columns: str, numeric: Iterable[str] = ()) -> Table:
    right = set(numeric)
    grid = Table(title=title, title_justify="left", title_style="bold")
    for index, name in enumerate(columns):
        grid.add_column(name, justify="right" if name in right else "left", no_wrap=index == 0)
    return grid


Cell = RenderableType | str | int | None  # a table cell: None is shown as a dim dash


def add_row(grid: Table, *cells: Cell) -> None:
    grid.add_row(*(Text(c) if isinstance(c, str) else _cell(c) for c in cells))


def listing(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    numeric: Iterable[str] = (),
    empty: str | None = None,
) -> Table:
    """A table of ``rows`` under ``columns`` (those in ``numeric`` right-aligned). With no
    row, ``empty`` (nothing to show, and how to make some) is its one row, in the first
    column."""
    grid = table(title, *columns, numeric=numeric)
    for row in rows:
        add_row(grid, *row)
    if empty is not None and grid.row_count == 0:
        add_row(grid, empty, *[""] * (len(columns) - 1))
    return grid


def _cell(value: RenderableType | int | None) -> RenderableType:
    if value is None:
        return Text("–", style="dim")
    if isinstance(value, int):
        return Text(str(value))
    return value


def show(renderable: RenderableType) -> None:
    out().print(renderable)


def when(moment: datetime) -> str:
    """A stored time, in UTC to the minute."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def figure(value: float, digits: int = 3) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def percent(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0%}"


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``1 row``, ``2 rows``: a count in plain English."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def skipped(*counts: tuple[int, str, str]) -> list[str]:
    """A summary's lines for what was passed over, each ``(how many, noun, why)``; none
    for a count of 0."""
    return [f"  skipped {counted(number, noun)} {why}" for number, noun, why in counts if number]


def unsent(not_from: int, source: str, errors: int, *, noun: str = "judge result") -> list[str]:
    """An export's lines for the judge results it did not send: those of rows that did not
    come from ``source`` (``noun`` names them), and those without a score."""
    return skipped(
        (not_from, noun, f"of rows that did not come from {source}"),
        (errors, "judge result", "without a score"),
    )


def score(value: float) -> str:
    return f"{value:g}"
