"""The `rubricate` command: a thin interface over the Rubricate workspace.

Commands parse their arguments, call the workspace and print; errors the workspace raises
become one red line on stderr and exit code 2.
"""

from __future__ import annotations

import typer

from rubricate.cli._common import DatabaseUrl, RubricateGroup, Workspace
from rubricate.cli.align import app as align_app
from rubricate.cli.annotations import app as annotations_app
from rubricate.cli.db import app as db_app
from rubricate.cli.demo import demo
from rubricate.cli.evaluate import app as evaluation_runs_app
from rubricate.cli.evaluate import evaluate
from rubricate.cli.evaluations import app as evaluations_app
from rubricate.cli.metrics import app as metrics_app
from rubricate.cli.serve import serve
from rubricate.cli.transfer import export_data, import_data
from rubricate.cli.users import app as users_app
from rubricate.cli.worker import worker

app = typer.Typer(
    name="rubricate",
    cls=RubricateGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
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


app.command("demo")(demo)
app.command("import")(import_data)
app.command("export")(export_data)
app.command("evaluate")(evaluate)
app.command("worker")(worker)
app.command("serve")(serve)
app.add_typer(metrics_app, name="metrics")
app.add_typer(evaluations_app, name="evaluations")
app.add_typer(annotations_app, name="annotations")
app.add_typer(evaluation_runs_app, name="evaluation-runs")
app.add_typer(align_app, name="align")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")


def main() -> None:
    """The console script's entry point."""
    app(prog_name="rubricate")


__all__ = ["app", "main"]
