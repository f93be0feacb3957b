"""What every command shares: the workspace it opens, and how errors reach the user."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from rubricate import Rubricate, RubricateError, Settings
from rubricate.cli._output import error
from rubricate.domain.errors import InvalidInput, Unavailable
from rubricate.settings import default_database_url

ERROR_EXIT = 2  # a RubricateError: the user's input or the stored state says no
DATABASE_EXIT = 1  # the database could not be used at all

_URL_HELP = (
    "Database: sqlite:///PATH (embedded) or postgresql://USER@HOST/DB. "
    f"Default: {default_database_url()}"
)
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="RUBRICATE_DATABASE_URL",
        metavar="URL",
        help=_URL_HELP,
        show_default=False,
    ),
]
# The same, on a command: the root option already reads the environment variable.
CommandDatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", metavar="URL", help=_URL_HELP)
]


class Workspace:
    """Opens the workspace on first use, once per command, and closes it at the end."""

    def __init__(self, database_url: str | None) -> None:
        self.database_url = database_url
        self._workspace: Rubricate | None = None

    def settings(self, **changes: Any) -> Settings:
        try:
            settings = Settings()
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            name = "RUBRICATE_" + "_".join(str(p) for p in first["loc"]).upper()
            raise InvalidInput(first["msg"], field=name) from None
        if self.database_url is not None:
            changes["database_url"] = self.database_url
        return settings.model_copy(update=changes)

    def open(self, **changes: Any) -> Rubricate:
        if self._workspace is None:
            settings = self.settings(**changes)
            self._workspace = Rubricate(settings)
        return self._workspace

    @property
    def described(self) -> str:
        """The database for messages, never with its password."""
        if self._workspace is not None:
            return self._workspace.db.describe()
        try:
            url = self.database_url or self.settings().database_url
            return make_url(url).render_as_string(hide_password=True)
        except Exception:  # an unreadable URL or setting: name nothing rather than leak
            return "the database"

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None


def state(ctx: typer.Context) -> Workspace:
    found = ctx.find_object(Workspace)
    if found is None:  # a command run without the root callback (never from `rubricate`)
        found = Workspace(None)
        ctx.obj = found
        ctx.call_on_close(found.close)
    return found


def workspace(ctx: typer.Context) -> Rubricate:
    """The workspace the command works on."""
    return state(ctx).open()


class RubricateGroup(TyperGroup):
    """The root command: turns rubricate's errors into one red line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Unavailable as exc:
            error(str(exc))
            raise typer.Exit(DATABASE_EXIT) from None
        except RubricateError as exc:
            error(exc.render() if isinstance(exc, InvalidInput) else str(exc))
            raise typer.Exit(ERROR_EXIT) from None
        except OperationalError as exc:
            where = ctx.find_object(Workspace)
            target = where.described if where else "the database"
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            error(f"cannot use {target}: {reason}")
            raise typer.Exit(DATABASE_EXIT) from None
