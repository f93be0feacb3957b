"""`rubricate import` and `rubricate export`, with connectors: `rubricate import langfuse
...` runs a connector's command; any other first word is the file import (or export) as
before (`rubricate import ./data -e bot`). A folder named like a connector is given as
`./langfuse`. Every command loads when it is used (cli/_lazy.py)."""

from __future__ import annotations

from typing import Any, ClassVar

import typer
from typer.core import TyperGroup

from rubricate.cli._lazy import MARKUP, LazyCommands

FILES = "files"  # the hidden name of the file import/export under its group
COMMANDS = {
    "import": {
        FILES: "rubricate.cli.transfer:import_data",
        "langfuse": "rubricate.cli.langfuse:import_langfuse",
        "mlflow": "rubricate.cli.mlflow:import_mlflow",
    },
    "export": {
        FILES: "rubricate.cli.transfer:export_data",
        "langfuse": "rubricate.cli.langfuse:export_langfuse",
        "mlflow": "rubricate.cli.mlflow:export_mlflow",
    },
}


class _Connectors(TyperGroup):
    """A group whose first word picks a connector; without one, the file command runs
    (its help is the group's help, with the connectors named at its end)."""

    verb: ClassVar[str]

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.commands = LazyCommands(COMMANDS[self.verb])
        self._unnamed: dict[type, type] = {}

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or args[0] == FILES or args[0] not in self.commands:
            args = [FILES, *args]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, found, rest = super().resolve_command(ctx, args)
        if name != FILES or found is None:
            return name, found, rest
        command: Any = found  # typer's click is private: no type to name here
        if not command.epilog:
            names = [f"`rubricate {self.verb} {n}`" for n in self.commands if n != FILES]
            command.epilog = f"Connectors: {', '.join(names)} (each with --help)."
        command.context_class = self._unnamed_context(type(ctx))
        return None, command, rest

    def _unnamed_context(self, base: type) -> type:
        """The file command's context, shown as `rubricate import` in its usage and errors."""
        if base not in self._unnamed:

            class Unnamed(base):  # type: ignore[misc]
                @property
                def command_path(self) -> str:
                    return str(super().command_path).rstrip()

            self._unnamed[base] = Unnamed
        return self._unnamed[base]


class ImportGroup(_Connectors):
    verb = "import"


class ExportGroup(_Connectors):
    verb = "export"


import_app = typer.Typer(
    cls=ImportGroup,
    rich_markup_mode=MARKUP,
    add_completion=False,
    help="Import rows, annotations, judge results and resolutions into an evaluation, from "
    "files, MLflow (`rubricate import mlflow`) or Langfuse (`rubricate import langfuse`), "
    "all of it or nothing.",
)
export_app = typer.Typer(
    cls=ExportGroup,
    rich_markup_mode=MARKUP,
    add_completion=False,
    help="Write an evaluation to files that `rubricate import` reads back, a metric's prompt "
    "to MLflow's prompt registry or its judge scores to MLflow's traces (`rubricate export "
    "mlflow`), or its prompt and judge scores to Langfuse (`rubricate export langfuse`).",
)
