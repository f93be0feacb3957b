"""`rubricate demo`: build the demo workspace, show what is in it, align its helpfulness
metric with the offline engine, then serve the web UI on the run's page."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from rubricate.cli._common import CommandDatabaseUrl, state
from rubricate.cli._output import say, show
from rubricate.cli.align import phase_progress
from rubricate.cli.align_show import rows_of, show_run
from rubricate.cli.annotations import resolve_summary, show_agreement
from rubricate.cli.evaluations import coverage_table, evaluations_table
from rubricate.cli.metrics import metrics_table
from rubricate.cli.serve import url_host
from rubricate.cli.transfer import import_progress, import_summary
from rubricate.locations import demo_database_url


def demo(
    ctx: typer.Context,
    database_url: CommandDatabaseUrl = None,
    serve: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Serve the web UI on the run's page afterwards."),
    ] = True,
    host: Annotated[str, typer.Option(help="Where to serve the web UI.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The web UI's port.")] = 8000,
) -> None:
    """Build a small demo workspace and show it: a support bot's answers, scored by a
    judge (scores written for the demo) and by three reviewers who do not always agree.
    Then align the judge's helpfulness metric with the reviewers, using the built-in
    offline engine (no model needed), print the guidelines it distilled, and serve the
    web UI on the run's page (--no-serve stops after printing).

    Running it again changes nothing and shows the same run. The demo has a database of its
    own (demo.db in rubricate's data folder; it says where), so its metrics never mix with
    yours, unless --database-url or RUBRICATE_DATABASE_URL names another one.
    """
    # The demo module loads the alignment engine: here, so that other commands start fast.
    from rubricate.demo import ALIGNED_METRIC, DATASET, DELTA, REFLECTION_LM, align_demo, build_demo

    where = state(ctx)
    if database_url:  # the command's own option wins over the root's (not opened yet)
        where.database_url = database_url
    own = where.database_url is None  # neither the option nor RUBRICATE_DATABASE_URL
    if own:
        where.database_url = demo_database_url()
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

    say("")
    say(
        f"Aligning {ALIGNED_METRIC} with its reviewers: {REFLECTION_LM}, delta {DELTA:g}, "
        "no judge model (so nothing is verified).",
        style="bold",
    )
    with phase_progress() as alignment_progress:
        run = align_demo(rb, progress=alignment_progress)
    show_run(run, rows_of(rb, run))

    say("")
    say("Next, try" + (" (with the same --database-url):" if database_url else ":"), style="bold")
    if own:  # the demo's database is not the one other commands open by default
        say(f"  export RUBRICATE_DATABASE_URL={shlex.quote(demo_database_url())}")
    say(f"  rubricate metrics show {run.metric}")
    say(f"  rubricate evaluations rows {report.evaluation} --limit 5")
    say(f"  rubricate align show {run.id}")
    say(f"  rubricate align accept {run.id}")
    if not serve:
        return
    from rubricate.web.server import serve as serve_ui  # the web stack only when serving

    path = f"/alignment-runs/{run.id}"
    settings = rb.settings
    where.close()  # the server opens its own workspace

    def ready() -> None:  # after the server's checks: a refused host prints no URL
        say("")
        say(f"Open http://{url_host(host)}:{port}{path} to review it", style="bold")
        say("Serving the web UI; Ctrl-C stops it.")

    serve_ui(settings, host=host, port=port, open_path=path, ready=ready)
