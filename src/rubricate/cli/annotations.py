"""`rubricate annotations ...`: add, resolve (by policy or by hand), reviewer agreement."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rubricate.cli._common import actor, workspace
from rubricate.cli._output import (
    JsonFlag,
    counted,
    emit,
    figure,
    listing,
    percent,
    print_json,
    say,
    score,
    show,
)
from rubricate.cli._params import MetricName, RowId, command_group
from rubricate.domain.errors import NotFound
from rubricate.domain.resolution import Policy

if TYPE_CHECKING:
    from rich.table import Table

    from rubricate.service.annotations import ResolveReport, ReviewerAgreement

app = command_group("Reviewers' annotations: add them, resolve disagreements, measure agreement.")

Evaluation = Annotated[str, typer.Option("--evaluation", "-e", help="The evaluation's name.")]


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    evaluation: Evaluation,
    metric: MetricName,
    policy: Annotated[
        Policy,
        typer.Option(
            case_sensitive=False,
            help="unanimous: all reviewers agree; majority: strictly more than half; median: "
            "the middle score (with an even count only if both middles agree); mean: the "
            "average (numeric scales only).",
        ),
    ],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Decide again the rows a policy resolved before; one this policy cannot "
            "decide loses its earlier value. An admin's decisions are always kept.",
        ),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Resolve reviewers' disagreements in bulk with a policy; rows it cannot decide stay
    unresolved for an admin."""
    report = workspace(ctx).annotations.resolve(
        evaluation, metric, policy, replace=replace, by=actor()
    )
    emit(report, json_output, lambda done: resolve_summary(evaluation, metric, done))


def resolve_summary(evaluation: str, metric: str, report: ResolveReport) -> str:
    cleared = f", {report.cleared} earlier policy values removed" if report.cleared else ""
    return (
        f"{metric} on {evaluation}, {report.policy.value} policy: "
        f"{counted(report.resolved, 'row')} resolved, {report.unresolved} left unresolved "
        f"for an admin{cleared}, {report.kept} "
        f"kept as resolved before ({counted(report.annotated_rows, 'annotated row')})."
    )


@app.command("agreement")
def agreement(
    ctx: typer.Context, evaluation: Evaluation, metric: MetricName, json_output: JsonFlag = False
) -> None:
    """Reviewer agreement: Krippendorff's alpha (ordinal and interval) among reviewers, and
    the agreement of each pair of reviewers."""
    result = workspace(ctx).annotations.agreement(evaluation, metric)
    if result.reviewers == 0:  # an empty table and exit 0 would read as "they agree"
        raise NotFound(f"nothing to compare: {metric} has no annotations in {evaluation}")
    if json_output:
        print_json(result)
        return
    show_agreement(evaluation, metric, result)


def show_agreement(evaluation: str, metric: str, result: ReviewerAgreement) -> None:
    say(
        f"Reviewer agreement on {metric} in {evaluation}: {counted(result.reviewers, 'reviewer')}, "
        f"{counted(result.rows, 'row')} scored by two or more."
    )
    say(
        f"Krippendorff's alpha: ordinal {figure(result.alpha_ordinal)}, "
        f"interval {figure(result.alpha_interval)}"
    )
    if result.rows == 0:
        say("No row is scored by two reviewers yet: there is nothing to compare.")
        return
    show(pairs_table(result))


def pairs_table(result: ReviewerAgreement) -> Table:
    columns = ("Shared rows", "Exact agreement", "Mean abs. difference")
    rows = [
        (
            p.reviewer_a,
            p.reviewer_b,
            p.n_shared,
            percent(p.exact_agreement),
            figure(p.mean_abs_diff, 2),
        )
        for p in result.pairs
    ]
    return listing("Reviewer pairs", ("Reviewer", "Reviewer", *columns), rows, numeric=columns)


@app.command("add")
def add(
    ctx: typer.Context,
    evaluation: Evaluation,
    row: RowId,
    metric: MetricName,
    annotator: Annotated[str, typer.Option(help="The reviewer's name.")],
    value: Annotated[
        str, typer.Option("--score", help="A number on the metric's scale, or one of its labels.")
    ],
    comment: Annotated[str | None, typer.Option(help="The reviewer's comment.")] = None,
) -> None:
    """Add a reviewer's score for one row (it replaces that reviewer's earlier score)."""
    number = workspace(ctx).annotations.add(
        evaluation, row, metric, annotator=annotator, score=value, comment=comment
    )
    say(f"{annotator} scored row {row} {score(number)} on {metric}.")


@app.command("resolve-row")
def resolve_row(
    ctx: typer.Context,
    evaluation: Evaluation,
    row: RowId,
    metric: MetricName,
    value: Annotated[
        str, typer.Option(help="The final value: a number on the scale, or one of its labels.")
    ],
    user: Annotated[str, typer.Option(help="Who decides (recorded as user:NAME).")],
) -> None:
    """Decide one row's final value by hand, as an admin; it replaces any earlier one."""
    number = workspace(ctx).annotations.resolve_row(evaluation, row, metric, value=value, user=user)
    say(f"Row {row} resolved to {score(number)} on {metric} by {user}.")
