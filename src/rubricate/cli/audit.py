"""`rubricate audit ...`: the audit log from the command line. The CLI is the workspace's
own, so it reads the log as its admin (recorded as the operating system's user, as its
changes are); the events and the rules are the use case's (rb.audit)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rubricate.cli._common import actor, workspace
from rubricate.cli._output import JsonFlag, counted, listing, print_json, say, show, when
from rubricate.cli._params import command_group
from rubricate.domain.audit import AuditAction

if TYPE_CHECKING:
    from rich.table import Table

    from rubricate.domain.audit import AuditEvent
    from rubricate.domain.users import User

app = command_group(
    "The audit log: who resolved, accepted, rejected, edited, pinned or queued what, and when."
)


def _admin() -> User:
    from rubricate.domain.users import Role, User

    return User(actor(), Role.ADMIN)


@app.command("list")
def list_events(
    ctx: typer.Context,
    action: Annotated[
        AuditAction | None,
        typer.Option(
            "--action",
            "-a",
            case_sensitive=False,
            metavar="ACTION",
            help=f"Only events of this action: {', '.join(a.value for a in AuditAction)}.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many events.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Newest events to skip.")] = 0,
    json_output: JsonFlag = False,
) -> None:
    """Who changed what, and when, newest first."""
    from rubricate.service.audit import as_json

    total, events = workspace(ctx).audit.events(
        by=_admin(), offset=offset, limit=limit, action=action
    )
    if json_output:
        items = [as_json(e) for e in events]
        print_json({"items": items, "offset": offset, "limit": limit, "total": total})
        return
    show(events_table(events, action))
    if total > offset + len(events):
        more = total - offset - len(events)
        say(f"{counted(more, 'older event')}: --offset {offset + len(events)}", "dim")


def events_table(events: list[AuditEvent], action: AuditAction | None) -> Table:
    rows = [(when(e.at), e.actor, e.action.value, e.subject) for e in events]
    empty = f"no {action.value} event" if action else "nothing logged yet"
    return listing("Audit log", ("When", "Who", "Action", "What"), rows, empty=empty)


@app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", dir_okay=False, help="The file to write; default: standard output."
        ),
    ] = None,
) -> None:
    """Every event, oldest first, as JSON lines: to --out (written beside it, then moved
    into place whole) or to standard output."""
    lines = workspace(ctx).audit.export_lines(by=_admin())
    if out is None:
        sys.stdout.writelines(lines)
        return
    written = _write(out, lines)
    say(f"Wrote {counted(written, 'event')} to {out}.")


def _write(out: Path, lines: Iterable[str]) -> int:
    """``lines`` into ``out``, through a partial file beside it (as `rubricate export`
    writes): a failed export leaves no half-written file under the name."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial"
    written = 0
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as file:
            for line in lines:
                file.write(line)
                written += 1
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return written
