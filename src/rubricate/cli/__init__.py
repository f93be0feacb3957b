"""The `rubricate` command: a thin interface over the Rubricate workspace.

Commands parse their arguments, call the workspace and print; errors the workspace raises
become one red line on stderr and exit code 2.
"""

from __future__ import annotations

from typing import Any

import typer

from rubricate.cli._common import DatabaseUrl, RubricateGroup, Workspace
from rubricate.cli._lazy import MARKUP, LazyCommands

# Each command's module loads when the command is used (or listed by --help).
COMMANDS = {
    "demo": "rubricate.cli.demo:demo",
    "import": "rubricate.cli._connectors:import_app",  # files, or `import langfuse`
    "export": "rubricate.cli._connectors:export_app",
    "evaluate": "rubricate.cli.evaluate:evaluate",
    "worker": "rubricate.cli.worker:worker",
    "serve": "rubricate.cli.serve:serve",
    "metrics": "rubricate.cli.metrics:app",
    "evaluations": "rubricate.cli.evaluations:app",
    "annotations": "rubricate.cli.annotations:app",
    "reviewers": "rubricate.cli.reviewers:app",
    "queues": "rubricate.cli.queues:app",
    "audit": "rubricate.cli.audit:app",
    "evaluation-runs": "rubricate.cli.evaluate:app",
    "align": "rubricate.cli.align:app",
    "db": "rubricate.cli.db:app",
    "users": "rubricate.cli.users:app",
}


class RootGroup(RubricateGroup):
    """The `rubricate` group, with COMMANDS loaded on first use."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.commands = LazyCommands(COMMANDS)


app = typer.Typer(
    name="rubricate",
    cls=RootGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=MARKUP,
    pretty_exceptions_show_locals=False,  # locals may hold a database password
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    """rubricate aligns LLM-as-a-judge metrics with the people who review their work.

    Import an evaluation (rows, judge results, reviewers' annotations), resolve the
    reviewers' disagreements, check how far they agree, and manage metric versions.
    Start with `rubricate demo`.

    Every listing takes --json for scripts. Errors exit with code 2.
    """
    workspace = Workspace(database_url)
    ctx.obj = workspace
    ctx.call_on_close(workspace.close)


def main() -> None:
    """The console script's entry point."""
    app(prog_name="rubricate")


__all__ = ["app", "main"]
