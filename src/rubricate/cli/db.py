"""`rubricate db ...`: the database's schema."""

from __future__ import annotations

import typer

from rubricate.cli._common import state
from rubricate.cli._output import say
from rubricate.cli._params import command_group

app = command_group("The database: bring its schema up to date.")


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the database schema and store the built-in metrics.

    Every command does this when it opens the database, unless RUBRICATE_AUTO_MIGRATE is
    false; then run this once after installing a new release.
    """
    rb = state(ctx).open(auto_migrate=False)
    before, after = rb.upgrade()
    builtins = sum(1 for s in rb.metrics.list() if s.metric.is_builtin)
    change = f"upgraded from {before or 'empty'} to {after}" if before != after else "up to date"
    say(f"{rb.db.describe()}: schema {change} (revision {after}); {builtins} built-in metrics.")
