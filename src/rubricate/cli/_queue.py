"""The CLI's side of the run use cases (rubricate.runs.control): what `align` and
`evaluation-runs` say when they queue, retry or cancel a run, written once for both."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from rubricate.cli._common import workspace
from rubricate.cli._output import JsonFlag, print_json, say

if TYPE_CHECKING:
    from rubricate import Rubricate
    from rubricate.domain.alignment_runs import AlignmentRun
    from rubricate.domain.evaluation_runs import EvaluationRun
    from rubricate.runs.control import QueuedRuns, RunControl

# The arguments every run command takes alike.
RunId = Annotated[str, typer.Argument(help="The run's id.", show_default=False)]
WaitHere = Annotated[bool, typer.Option("--wait", help="Carry it out here and wait.")]
IdempotencyKey = Annotated[
    str | None, typer.Option("--run-id", help="Idempotency key: the same id, one run.")
]
CacheFlag = Annotated[
    bool | None,
    typer.Option(
        "--cache/--no-cache",
        help="Reuse identical earlier calls. Default: RUBRICATE_RESPONSE_CACHE (on).",
        show_default=False,
    ),
]

Kind = Literal["alignment", "evaluation"]
RUN_HERE = {"alignment": "align run", "evaluation": "evaluation-runs run"}  # + the run id


def run_control(rb: Rubricate) -> RunControl:
    from rubricate.runs.control import RunControl

    return RunControl(rb)


def _runs(control: RunControl, kind: Kind) -> QueuedRuns[AlignmentRun] | QueuedRuns[EvaluationRun]:
    return control.alignment if kind == "alignment" else control.evaluation


def report_queued(
    control: RunControl,
    kind: Kind,
    run: AlignmentRun | EvaluationRun,
    *,
    queued: bool,
    json_output: bool,
) -> None:
    """The run as JSON, or whether a worker is alive to take it (or how to carry it out
    here); a repeated start of a run that ended queues nothing, and says so."""
    if json_output:
        print_json(run)
    elif not queued:
        say(f"Run {run.id} is {run.status.label} already: nothing was queued.")
    else:
        say(queued_line(control, run.id, f"{RUN_HERE[kind]} {run.id}"))


def queue_started(
    rb: Rubricate, kind: Kind, run: AlignmentRun | EvaluationRun, *, json_output: bool
) -> None:
    """`align start` and `evaluate --no-wait`: the run just started, queued for a worker,
    and what became of it said."""
    control = run_control(rb)
    queued = _runs(control, kind).queue(run)  # type: ignore[arg-type]  # run is of kind
    report_queued(control, kind, run, queued=queued, json_output=json_output)


def queued_line(control: RunControl, run_id: str, here: str) -> str:
    """``here``: the command that carries the run out in this process instead."""
    alive = control.alive_workers()
    if alive:
        return f"Run {run_id} is queued; {alive} worker(s) alive will take it."
    return (
        f"Run {run_id} is queued, but no worker is alive to take it: start one with "
        f"`rubricate worker`, or carry it out here with `rubricate {here}`."
    )


# Retries the run in this process and carries it out: (workspace, run id, --json).
RetryHere = Callable[["Rubricate", str, bool], None]


def retry_command(kind: Kind, here: RetryHere, summary: str) -> Callable[..., None]:
    """`align retry` and `evaluation-runs retry`, one command for both kinds: an Error
    run queued again for a worker, or with --wait retried and carried out here."""

    def retry(
        ctx: typer.Context, run_id: RunId, wait: WaitHere = False, json_output: JsonFlag = False
    ) -> None:
        rb = workspace(ctx)
        if wait:
            here(rb, run_id, json_output)
            return
        control = run_control(rb)
        run = _runs(control, kind).retry(run_id)
        report_queued(control, kind, run, queued=True, json_output=json_output)

    retry.__doc__ = summary  # typer's help text
    return retry


def cancel_command(kind: Kind, summary: str) -> Callable[..., None]:
    """`align cancel` and `evaluation-runs cancel`, one command for both kinds."""

    def cancel(ctx: typer.Context, run_id: RunId, json_output: JsonFlag = False) -> None:
        cancel_and_report(workspace(ctx), kind, run_id, json_output=json_output)

    cancel.__doc__ = summary  # typer's help text
    return cancel


def cancel_and_report(rb: Rubricate, kind: Kind, run_id: str, *, json_output: bool) -> None:
    """`cancel`: a run in flight stops; a finished run is left as it is."""
    run = _runs(run_control(rb), kind).cancel(run_id)
    if json_output:
        print_json(run)
        return
    say(f"Run {run.id} is {run.status.label}.")
