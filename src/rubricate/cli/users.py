"""`rubricate users`: accounts for the web UI and API tokens for scripts."""

from __future__ import annotations

from typing import Annotated

import typer

from rubricate.cli._common import workspace
from rubricate.cli._output import JsonFlag, print_json, say
from rubricate.cli._params import command_group

app = command_group("People who sign in to the web UI, and their API tokens.")

Name = Annotated[str, typer.Argument(help="The user's name (letters, digits, . _ @ -).")]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Name,
    role: Annotated[
        str,
        typer.Option(
            help="reviewer (annotates, starts runs) or admin (also resolves and accepts)."
        ),
    ] = "reviewer",
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="RUBRICATE_NEW_PASSWORD",
            help="Asked for when not given (or RUBRICATE_NEW_PASSWORD).",
        ),
    ] = "",
) -> None:
    """Add a user who signs in to the web UI."""
    user = workspace(ctx).users.add(name, role, password)
    say(f"user {user.name} added ({user.role.value})")


@app.command("list")
def list_users(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """The users and their roles."""
    users = workspace(ctx).users.list()
    if json_output:
        print_json([{"name": user.name, "role": user.role} for user in users])
        return
    if not users:
        say("no users: `rubricate serve` on localhost runs in single-user mode")
    for user in users:
        say(f"{user.name}\t{user.role.value}")


@app.command("remove")
def remove(ctx: typer.Context, name: Name) -> None:
    """Remove a user; their sessions and API token stop working at once."""
    workspace(ctx).users.remove(name)
    say(f"user {name} removed")


@app.command("token")
def token(ctx: typer.Context, name: Name) -> None:
    """Make a new API token for NAME (the old one stops working). It is shown once."""
    value = workspace(ctx).users.new_token(name)
    say(value)
