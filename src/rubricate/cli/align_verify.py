"""`rubricate align verify RUN_ID`: verify an Aligned run's guidelines again after a
person edited them (queued for a worker, or here with --wait)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rubricate.cli._common import workspace
from rubricate.cli._output import JsonFlag, print_json, say
from rubricate.cli._queue import queued_line, run_control

if TYPE_CHECKING:
    from rubricate.domain.alignment_runs import AlignmentRun

RunId = Annotated[str, typer.Argument(help="The alignment run's id.", show_default=False)]


def verify(
    ctx: typer.Context,
    run_id: RunId,
    wait: Annotated[bool, typer.Option("--wait", help="Verify here and wait for it.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Verify a run's guidelines again as they stand after edits: the run's judge model
    scores its held-out rows afresh, with the same plan and budget. Guidelines edited
    since the last check are marked not verified until this has run."""
    rb = workspace(ctx)
    if wait:
        rb.verifying.request(run_id)
        run = rb.verifying.run(run_id)
        if json_output:
            print_json(run)
            return
        show_verification(run)
        return
    control = run_control(rb)
    run = control.verify_again(run_id)
    if json_output:
        print_json({"run": run.id, "queued": True})
        return
    say(queued_line(control, run.id, f"align verify {run.id} --wait"))


def show_verification(run: AlignmentRun) -> None:
    result = run.result
    if result is None:
        return
    check = result.verification
    say(f"Run {run.id} verified again: {check.status}.", "bold")
    if check.message:
        say(check.message)
    for g in result.guidelines:
        mark = "verified" if g.verified else "not verified"
        say(f"  {g.id}. [{mark}] {g.text}")
