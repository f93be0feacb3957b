"""`rubricate queues gold ...`: gold rows, an admin's known right scores of rows on a
metric, which review queues with a --gold-rate mix into each reviewer's stream; and each
reviewer's accuracy on them as `queues show` and `reviewers agreement` print it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rubricate.cli._common import actor, workspace
from rubricate.cli._output import JsonFlag, emit, listing, print_json, say, when
from rubricate.cli._output import score as score_text
from rubricate.cli._params import MetricName, RowId, command_group
from rubricate.domain.users import Role, User

if TYPE_CHECKING:
    from rich.table import Table

    from rubricate.domain.queues import GoldAccuracy, GoldScore

app = command_group(
    "Gold rows: rows with a known right score, mixed into queues to measure reviewers."
)

Evaluation = Annotated[str, typer.Option("--evaluation", "-e", help="The evaluation.")]
GOLD_COLUMNS = ("Gold rows", "Gold exact", "Gold error")
# a review's score (`queues submit`) or a gold row's (`queues gold set`)
ScoreOption = Annotated[
    str, typer.Option("--score", help="A number on the metric's scale, or one of its labels.")
]


def _admin() -> User:
    return User(actor(), Role.ADMIN)


def gold_cells(found: GoldAccuracy | None) -> tuple[int | str | None, ...]:
    """A reviewer's accuracy on gold rows as GOLD_COLUMNS' cells (empty without any)."""
    if found is None:
        return (None, None, None)
    return (found.reviews, f"{found.exact:.0%}", f"{found.mean_error:.2f}")


def gold_table(found: tuple[GoldAccuracy, ...] | list[GoldAccuracy]) -> Table:
    rows = [(g.reviewer, *gold_cells(g)) for g in found]
    title = "Accuracy on gold rows (exact: equal to the gold score; error: mean distance)"
    return listing(title, ("Reviewer", *GOLD_COLUMNS), rows, numeric=GOLD_COLUMNS)


@app.command("set")
def set_gold(
    ctx: typer.Context,
    evaluation: Evaluation,
    metric: MetricName,
    row: RowId,
    score: ScoreOption,
    note: Annotated[str | None, typer.Option(help="Why that score (for admins).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Make a row gold on a metric (or change its score or note). Queues on the metric with
    a --gold-rate hand it to each reviewer once, as any other row, unless it is one of
    their own rows; the reviews of it count toward nothing but the reviewer's accuracy."""
    found = workspace(ctx).gold.set(evaluation, metric, row, score, note=note, by=_admin())
    if json_output:
        print_json(found)
        return
    say(f"Row {row} of {evaluation} is gold on {metric}: {score_text(found.score)}.")


@app.command("remove")
def remove_gold(ctx: typer.Context, evaluation: Evaluation, metric: MetricName, row: RowId) -> None:
    """The row is gold no more: its reviews leave reviewers' accuracy."""
    workspace(ctx).gold.remove(evaluation, metric, row, by=_admin())
    say(f"Row {row} of {evaluation} is no longer gold on {metric}.")


@app.command("list")
def list_gold(
    ctx: typer.Context, evaluation: Evaluation, metric: MetricName, json_output: JsonFlag = False
) -> None:
    """The evaluation's gold rows on a metric, with their scores and notes."""
    found = workspace(ctx).gold.list(evaluation, metric, by=_admin())
    emit(found, json_output, _listed)


def _listed(found: list[GoldScore]) -> Table:
    rows = [(g.row_id, score_text(g.score), g.note, g.set_by, when(g.set_at)) for g in found]
    columns = ("Row", "Gold score", "Note", "Set by", "Set")
    empty = "none: rubricate queues gold set -e E -m M --row ROW --score S"
    return listing("Gold rows", columns, rows, numeric=("Gold score",), empty=empty)
