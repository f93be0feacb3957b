"""The root command's subcommands, each loaded when it is first used or listed:
`rubricate metrics list` imports and builds the metrics commands only, not the alignment,
evaluation, import or demo ones (issue 13: start-up time)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Literal, cast

import typer
from typer.core import TyperGroup

# The root's rich_markup_mode, which typer hands down to every subcommand.
MARKUP: Literal["markdown"] = "markdown"


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands by name, in the order given; a command is built on first
    access. ``where`` maps each name to ``"module:attribute"``: a Typer (a group of
    commands) or a command's function. Values are click commands (Any: typer's click
    is private)."""

    def __init__(self, where: Mapping[str, str]) -> None:
        self._where = dict(where)
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in self._where:
                raise KeyError(name)
            self._built[name] = _build(name, self._where[name])
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._where.setdefault(name, "")
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._where[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


def _build(name: str, target: str) -> Any:
    """The command as typer builds it under the root: registered with the same name on
    a stand-in root group with the root's markup, then taken from it."""
    module, _, attribute = target.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer(rich_markup_mode=MARKUP, add_completion=False)
    holder.callback()(_group)
    if isinstance(found, typer.Typer):
        holder.add_typer(found, name=name)
    else:
        holder.command(name)(found)
    return cast(TyperGroup, typer.main.get_command(holder)).commands[name]


def _group() -> None:
    """Makes the stand-in root a group, as the real root is."""
