"""`rubricate reviewers agreement`: each reviewer against the others: rows scored,
agreement, the group's alpha without them and how much harsher or more lenient they are."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rubricate.cli._common import workspace
from rubricate.cli._output import JsonFlag, counted, listing, print_json, say, show
from rubricate.cli._params import MetricName, command_group
from rubricate.cli.queue_gold import gold_table
from rubricate.domain.calibration import offset_text

if TYPE_CHECKING:
    from rich.table import Table

    from rubricate.service.calibration import ReviewerCalibration

app = command_group("Reviewers: how each one agrees with the others.")


def _share(value: float | None) -> str | None:
    return None if value is None else f"{value:.0%}"


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}"


@app.command("agreement")
def agreement(
    ctx: typer.Context,
    evaluation: Annotated[
        list[str],
        typer.Option("--evaluation", "-e", help="The evaluation (repeat for several)."),
    ],
    metric: MetricName,
    delta: Annotated[
        float | None,
        typer.Option(
            help="Scores less than this apart agree (within delta). Default: one step of the "
            "scale (one label on a labels scale), a quarter of a continuous one.",
            show_default=False,
        ),
    ] = None,
    pairs: Annotated[
        bool, typer.Option("--pairs", help="Also list each pair of reviewers.")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Per reviewer: rows scored (and their share of the rows anyone scored), agreement with
    the others (exact and within delta, the mean over the others), Krippendorff's alpha
    without them (higher than everyone's: they pull agreement down) and their mean offset
    from the others (harsher or more lenient)."""
    found = workspace(ctx).calibration.reviewers(evaluation, metric, delta=delta)
    if json_output:
        print_json(found)
        return
    say(summary(found))
    show(reviewers_table(found))
    if pairs:
        show(pairs_table(found))
    if found.gold:
        show(gold_table(found.gold))
    pulling = found.pulling_down
    if pulling:
        names = ", ".join(f"{r.reviewer} ({_number(r.alpha_without)})" for r in pulling[:3])
        say(f"Alpha would be higher without: {names}.", "yellow")


def summary(found: ReviewerCalibration) -> str:
    alpha = "n/a (no row scored twice)" if found.alpha is None else f"{found.alpha:.3f}"
    where = ", ".join(found.evaluations)
    near = f"; within delta: less than {found.delta:g} apart" if found.within_delta_differs else ""
    return (
        f"Reviewers of {found.metric} in {where}: {counted(len(found.reviewers), 'reviewer')}, "
        f"{counted(found.rows, 'row')} scored, {found.shared_rows} by two or more. "
        f"Krippendorff's alpha ({found.level}): {alpha}. Offsets in {found.unit}{near}."
    )


def reviewers_table(found: ReviewerCalibration) -> Table:
    # Within delta only where it can differ from exact (not at one step of a 1-5 scale).
    near = ("Within delta",) if found.within_delta_differs else ()
    numeric = ("Rows", "Share", "Exact", *near, "Alpha without", "Offset")
    rows = []
    for r in found.reviewers:
        within = (_share(r.within_delta),) if near else ()
        rows.append(
            (
                r.reviewer,
                r.units,
                _share(r.coverage),
                _share(r.exact),
                *within,
                _number(r.alpha_without),
                offset_text(r.offset),
            )
        )
    title = "Each reviewer against the others"
    return listing(title, ("Reviewer", *numeric), rows, numeric=numeric)


def pairs_table(found: ReviewerCalibration) -> Table:
    near = ("Within delta",) if found.within_delta_differs else ()
    numeric = ("Shared rows", "Exact", *near)
    rows = []
    for r in found.reviewers:
        for p in r.pairs:
            if r.reviewer < p.other:  # each pair once
                within = (_share(p.within_delta),) if near else ()
                rows.append((r.reviewer, p.other, p.shared, _share(p.exact), *within))
    columns = ("Reviewer", "Other", *numeric)
    return listing("Each pair of reviewers", columns, rows, numeric=numeric)
