"""What many commands declare alike, defined once: a group of commands, the NAME argument
of a command on one thing, and the options that name a row or a metric."""

from __future__ import annotations

from typing import Annotated, Any

import typer


def command_group(help: str) -> typer.Typer:
    """A group of commands (`rubricate metrics`, `rubricate queues`, ...) that prints its
    help when given no command."""
    return typer.Typer(help=help, no_args_is_help=True)


def name_argument(thing: str) -> Any:
    """The NAME argument of a command on one ``thing`` (a metric, an evaluation, a queue):
    ``Annotated[str, name_argument("metric")]``."""
    return typer.Argument(help=f"The {thing}'s name.", show_default=False)


RowId = Annotated[str, typer.Option("--row", help="The row's id, as imported.")]
MetricName = Annotated[str, typer.Option("--metric", "-m", help="The metric's name.")]
