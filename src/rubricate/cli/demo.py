"""`rubricate demo`: build the demo workspace and show what is in it."""

from __future__ import annotations

import typer

from rubricate.cli._common import CommandDatabaseUrl, state
from rubricate.cli._output import say, show
from rubricate.cli.annotations import resolve_summary, show_agreement
from rubricate.cli.evaluations import coverage_table, evaluations_table
from rubricate.cli.metrics import metrics_table
from rubricate.cli.transfer import import_progress, import_summary
from rubricate.demo import DATASET, build_demo


def demo(ctx: typer.Context, database_url: CommandDatabaseUrl = None) -> None:
    """Build a small demo workspace and show it: a support bot's answers, scored by a
    judge (scores written for the demo) and by three reviewers who do not always agree.

    Running it again changes nothing. The demo goes into the normal database unless
    --database-url names another one.
    """
    where = state(ctx)
    if database_url:  # the command's own option wins over the root's (not opened yet)
        where.database_url = database_url
    rb = where.open()
    say(f"Demo workspace: {rb.db.describe()}", style="bold")
    with import_progress(DATASET) as progress:
        report = build_demo(rb, progress=progress)
    say(import_summary("the demo data", report.imported))
    for metric, resolved in report.resolved.items():
        say(resolve_summary(report.evaluation, metric, resolved))
    for section in (
        metrics_table(rb.metrics.list()),
        evaluations_table(rb.evaluations.list()),
        coverage_table(rb.evaluations.show(report.evaluation)),
    ):
        say("")
        show(section)
    for metric in report.resolved:
        say("")
        show_agreement(
            report.evaluation, metric, rb.annotations.agreement(report.evaluation, metric)
        )
    metric = next(iter(report.resolved))
    say("")
    say("Next, try" + (" (with the same --database-url):" if database_url else ":"), style="bold")
    say(f"  rubricate metrics show {metric}")
    say(f"  rubricate evaluations rows {report.evaluation} --limit 5")
    say(f"  rubricate annotations agreement --evaluation {report.evaluation} --metric {metric}")
    say(f"  rubricate export --evaluation {report.evaluation} --out demo-export")
