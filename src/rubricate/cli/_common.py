"""What every command shares: the workspace it opens, and how errors reach the user."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from rubricate.cli._output import error
from rubricate.domain.errors import InvalidInput, RubricateError, Unavailable
from rubricate.locations import default_database_url

# `rubricate --help` must start fast: the workspace (SQLAlchemy, pydantic-settings and the
# services) loads when a command first opens it.
if TYPE_CHECKING:
    from rubricate.service.workspace import Rubricate
    from rubricate.settings import Settings

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
        from pydantic import ValidationError

        from rubricate.settings import Settings

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
            from rubricate.service.workspace import Rubricate

            settings = self.settings(**changes)
            self._workspace = Rubricate(settings)
        return self._workspace

    @property
    def described(self) -> str:
        """The database for messages, never with its password."""
        if self._workspace is not None:
            return self._workspace.db.describe()
        try:
            from sqlalchemy import make_url

            url = self.database_url or self.settings().database_url
            return make_url(url).render_as_string(hide_password=True)
        except Exception:  # an unreadable URL or setting: name nothing rather than leak
            return "the database"

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None


COMMAND_KEY = "rubricate.command"


def state(ctx: typer.Context) -> Workspace:
    # The command being run, for the error printer to name its flags (meta is shared by
    # the whole chain of contexts; the root's is all it can see once the command failed).
    ctx.meta[COMMAND_KEY] = ctx.command
    found = ctx.find_object(Workspace)
    if found is None:  # a command run without the root callback (never from `rubricate`)
        found = Workspace(None)
        ctx.obj = found
        ctx.call_on_close(found.close)
    return found


def actor() -> str:
    """Who a command's change is recorded as in the audit log: the operating system's user
    running it (``cli:NAME``)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no such entry (a container's anonymous uid)
        return "cli"


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
            error(
                _render(exc, ctx.meta.get(COMMAND_KEY))
                if isinstance(exc, InvalidInput)
                else str(exc)
            )
            raise typer.Exit(ERROR_EXIT) from None
        except Exception as exc:
            if not _is_operational_error(exc):
                raise
            where = ctx.find_object(Workspace)
            target = where.described if where else "the database"
            orig = getattr(exc, "orig", None)
            reason = str(orig).strip().splitlines()[0] if orig else type(exc).__name__
            error(f"cannot use {target}: {reason}")
            raise typer.Exit(DATABASE_EXIT) from None


def _render(exc: InvalidInput, command: Any) -> str:
    """The error as the CLI user typed it: ``option --reflection-lm: ...`` rather than the
    service's field name (``field 'reflection_lm'``); a file's line stays as it is."""
    flag = None if exc.file is not None or exc.field is None else _flag(command, exc.field)
    return f"{flag}: {exc.message}" if flag else exc.render()


def _flag(command: Any, field: str) -> str | None:
    """The option or argument of ``command`` that ``field`` (a service's parameter, plural
    where the option repeats: evaluations -> --evaluation) came from."""
    for param in command.params if command is not None else ():
        if param.name not in (field, field.removesuffix("s")):
            continue
        if param.param_type_name == "option":  # typer's own click: no isinstance check
            return f"option {max(param.opts, key=len)}"
        return f"argument {param.name.upper()}"
    return None


def _is_operational_error(exc: BaseException) -> bool:
    """SQLAlchemy's OperationalError, without importing SQLAlchemy: a command that raised
    one has loaded it already."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.OperationalError)
