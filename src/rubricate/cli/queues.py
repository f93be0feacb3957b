"""`rubricate queues ...`: review queues from the command line. The CLI acts locally as the
workspace's admin (create, watch, send back, close); `next`, `submit` and `skip` act for
the reviewer that --reviewer names, as that reviewer's page would."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from rubricate.cli._common import actor, workspace
from rubricate.cli._output import (
    JsonFlag,
    counted,
    emit,
    jsonable,
    listing,
    print_json,
    say,
    show,
    when,
)
from rubricate.cli._output import score as score_text
from rubricate.cli._params import RowId, command_group, name_argument
from rubricate.cli.queue_gold import GOLD_COLUMNS, ScoreOption, gold_cells
from rubricate.cli.queue_gold import app as gold_app
from rubricate.domain.queues import (
    DEFAULT_LEASE_SECONDS,
    MAX_GOLD_RATE,
    MAX_REVIEWS_PER_ROW,
    Selection,
)
from rubricate.domain.users import Role, User

if TYPE_CHECKING:
    from rich.table import Table

    from rubricate.domain.queues import Assignment, Conflict, Queue, Review, ReviewerProgress
    from rubricate.service.workspace import Rubricate

app = command_group("Review queues: rows handed to reviewers one at a time, blind if you like.")
app.add_typer(gold_app, name="gold")

Name = Annotated[str, name_argument("queue")]
Reviewer = Annotated[
    str, typer.Option("--reviewer", "-r", help="The reviewer you act for.", show_default=False)
]


def _admin() -> User:
    """The CLI is the workspace's own: it acts as its admin, recorded as the operating
    system's user (``cli:NAME``), as the CLI's other changes are in the audit log."""
    return User(actor(), Role.ADMIN)


def _reviewer(name: str) -> User:
    return User(name.strip(), Role.REVIEWER)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            help="A new queue's name: letters, digits, '_', '-' or '.'.", show_default=False
        ),
    ],
    evaluation: Annotated[str, typer.Option("--evaluation", "-e", help="The evaluation.")],
    metric: Annotated[str, typer.Option("--metric", "-m", help="The metric reviewed.")],
    reviewer: Annotated[
        list[str],
        typer.Option("--reviewer", "-r", help="A reviewer of the queue (repeat for several)."),
    ],
    selection: Annotated[
        Selection,
        typer.Option(
            case_sensitive=False,
            help="Which rows: all; unresolved (no resolved value yet); disagreeing (judge and "
            "resolved value --delta apart); random or stratified (by the judge's score): "
            "a sample of --sample-size rows; sampler: the --sample-size rows whose review "
            "would teach an alignment most (judged, not reviewed yet, in no open queue).",
        ),
    ] = Selection.ALL,
    sample_size: Annotated[
        int | None, typer.Option(min=1, help="random, stratified, sampler: how many rows.")
    ] = None,
    delta: Annotated[
        float | None,
        typer.Option(help="disagreeing, sampler: how far apart. Default: the scale's step."),
    ] = None,
    reviews_per_row: Annotated[
        int, typer.Option(min=1, max=MAX_REVIEWS_PER_ROW, help="Counted reviews each row needs.")
    ] = 1,
    blind: Annotated[
        bool,
        typer.Option(
            "--blind",
            help="Reviewers see neither the judge's score nor others' reviews of a row until "
            "they have submitted theirs.",
        ),
    ] = False,
    lease_seconds: Annotated[
        int, typer.Option(help="How long a row given out stays its reviewer's.")
    ] = DEFAULT_LEASE_SECONDS,
    seed: Annotated[int, typer.Option(help="The sample's seed.")] = 0,
    gold_rate: Annotated[
        float,
        typer.Option(
            min=0,
            max=MAX_GOLD_RATE,
            help="The share of rows handed out that are gold rows (`queues gold set`).",
        ),
    ] = 0.0,
    json_output: JsonFlag = False,
) -> None:
    """Create a queue on the rows of an evaluation that --selection picks, for one metric,
    with its reviewers and the number of reviews each row needs."""
    from rubricate.domain.queues import QueueRequest

    request = QueueRequest(
        name=name,
        evaluation=evaluation,
        metric=metric,
        reviewers=tuple(reviewer),
        selection=selection,
        sample_size=sample_size,
        delta=delta,
        reviews_per_row=reviews_per_row,
        blind=blind,
        lease_seconds=lease_seconds,
        seed=seed,
        gold_rate=gold_rate,
    )
    queue = workspace(ctx).queues.create(request, by=_admin())
    if json_output:
        print_json(queue)
        return
    say(f"Created queue {queue.name}: {_described(queue)}")
    say(f"Next: rubricate queues next {queue.name} --reviewer {queue.reviewers[0]}", "dim")


def _described(queue: Queue) -> str:
    per_row = counted(queue.reviews_per_row, "review")
    blind = "; blind" if queue.blind else ""
    blind += f"; gold rows at {queue.gold_rate:g}" if queue.gold_rate else ""
    return (
        f"{counted(queue.rows, 'row')} of {queue.evaluation} (selected: {queue.selection}); "
        f"{queue.metric}, {per_row} a row by {', '.join(queue.reviewers)}{blind}."
    )


@app.command("list")
def list_queues(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """List every queue with its progress: rows done, reviews counted of those needed."""
    emit(workspace(ctx).queues.list(), json_output, queues_table)


def queues_table(queues: list[Queue]) -> Table:
    numeric = ("Rows", "Done", "Reviews", "Per row")
    rows = [
        (
            q.name,
            q.evaluation,
            q.metric,
            q.rows,
            q.rows_done,
            f"{q.reviews_counted}/{q.reviews_needed}",
            q.reviews_per_row,
            _status(q),
            when(q.created_at),
        )
        for q in queues
    ]
    return listing(
        "Review queues",
        ("Name", "Evaluation", "Metric", *numeric, "Status", "Created"),
        rows,
        numeric=numeric,
        empty="none yet: rubricate queues create NAME -e E -m M -r REVIEWER",
    )


def _status(queue: Queue) -> str:
    state = "closed" if queue.closed else "finished" if queue.finished else "open"
    return f"{state}, blind" if queue.blind else state


@app.command("show")
def show_queue(ctx: typer.Context, name: Name, json_output: JsonFlag = False) -> None:
    """Show a queue and each reviewer's progress: reviews counted and beyond the number,
    rows skipped and held now, the median time from a row given out to its review, and
    their accuracy on the gold rows they reviewed."""
    rb = workspace(ctx)
    queue, progress = rb.queues.get(name), rb.queues.progress(name)
    if json_output:
        print_json({"queue": queue, "progress": progress})
        return
    say(Text.assemble((queue.name, "bold"), f" ({_status(queue)}): {_described(queue)}"))
    say(
        f"{queue.rows_done} of {counted(queue.rows, 'row')} done; "
        f"{queue.reviews_counted} of {counted(queue.reviews_needed, 'review')} counted. "
        f"Created by {queue.created_by}, {when(queue.created_at)}."
    )
    show(progress_table(progress))


def progress_table(progress: list[ReviewerProgress]) -> Table:
    numeric = ("Reviewed", "Beyond", "Skipped", "Held", "Median time", *GOLD_COLUMNS)
    rows = [
        (
            p.reviewer, p.reviewed, p.beyond, p.skipped, p.leased, _duration(p.median_seconds),
            *gold_cells(p.gold),
        )
        for p in progress
    ]  # fmt: skip
    return listing("Reviewers", ("Reviewer", *numeric), rows, numeric=numeric)


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


@app.command("next")
def next_row(
    ctx: typer.Context,
    name: Name,
    reviewer: Reviewer,
    rubric: Annotated[
        bool, typer.Option("--rubric", help="Also print the metric's prompt.")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """The reviewer's next row, theirs for the queue's lease: the one they hold, else a new
    one. Prints the row, the scale, the rubric's notes and, unless the queue is blind, the
    judge's score and others' reviews. Nothing left for them: says so (JSON: null)."""
    rb = workspace(ctx)
    found = rb.queue_reviews.next(name, _reviewer(reviewer))
    if json_output:
        print_json(found)
        return
    if found is None:
        say(f"Nothing left for {reviewer} in queue {name}.")
        return
    show_assignment(rb, found, rubric=rubric)
    say(
        f"Submit: rubricate queues submit {name} --row {found.row_id} --reviewer {reviewer} "
        "--score N (or skip it: rubricate queues skip ...)",
        "dim",
    )


def show_assignment(rb: Rubricate, found: Assignment, *, rubric: bool) -> None:
    say(
        Text.assemble(
            (f"Row {found.row_id}", "bold"),
            f" ({found.position} of {found.rows} in queue {found.queue}), "
            f"yours until {when(found.expires_at)}",
        )
    )
    _section("Input", found.input)
    _section("Output", found.output)
    if found.context:
        _section("Context", found.context)
    if found.expected:
        _section("Expected", found.expected)
    say(f"Scale: {_legend(rb, found)}")
    _section("Notes", found.notes.strip() or "none: the metric's version has no guidelines")
    if rubric:
        _section("Rubric", found.rubric)
    if found.withheld:
        say("The judge's score and others' reviews are hidden until you submit (blind queue).")
        return
    judge = "none yet" if found.judge_score is None else score_text(found.judge_score)
    say(f"Judge's score: {judge}")
    for other in found.others:
        comment = f": {other.comment}" if other.comment else ""
        say(f"{other.reviewer} scored {_score(other)}{comment}")


def _legend(rb: Rubricate, found: Assignment) -> str:
    """The scale in words, with the names of its points where the metric gives them."""
    labels = rb.metrics.version(rb.queues.get(found.queue).metric).scale.labels
    named = ", ".join(f"{score_text(value)} {label}" for value, label in sorted(labels.items()))
    return f"{found.scale} ({named})" if named else found.scale


def _section(title: str, text: str) -> None:
    say(Text(title, style="bold"))
    say(Text("\n".join(f"  {line}" for line in text.splitlines() or [""])))


def _score(review: Review) -> str:
    return "–" if review.score is None else score_text(review.score)


@app.command("submit")
def submit(
    ctx: typer.Context,
    name: Name,
    row: RowId,
    reviewer: Reviewer,
    score: ScoreOption,
    comment: Annotated[str | None, typer.Option(help="The reviewer's comment.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """The reviewer's review of a row they were given. A review after their lease ran out
    is kept: it counts while the row needs one, else it is kept beyond the number."""
    done = workspace(ctx).queue_reviews.submit(name, _reviewer(reviewer), row, score, comment)
    if json_output:
        print_json(done)
        return
    if done.counted:
        say(f"{reviewer} scored row {row} {score_text(done.score)} in queue {name}.")
    else:
        say(
            f"{reviewer} scored row {row} {score_text(done.score)} in queue {name}: kept, but the "
            "row had its reviews already, so it does not count."
        )


@app.command("skip")
def skip(ctx: typer.Context, name: Name, row: RowId, reviewer: Reviewer) -> None:
    """Pass on a row the reviewer holds: it goes to another reviewer, never back to them."""
    workspace(ctx).queue_reviews.skip(name, _reviewer(reviewer), row)
    say(f"{reviewer} skipped row {row} of queue {name}; it goes to another reviewer.")


@app.command("reviews")
def reviews(ctx: typer.Context, name: Name, json_output: JsonFlag = False) -> None:
    """Who reviewed what: every submitted review, in queue order."""
    found = workspace(ctx).queues.reviews(name, by=_admin())
    if json_output:
        print_json([{"row_id": row, **jsonable(r)} for row, r in found])
        return
    numeric = ("Score", "Time")
    rows = [
        (
            row,
            r.reviewer,
            _score(r),
            _duration(r.seconds),
            "gold" if r.gold else "beyond" if r.beyond else "yes",
            when(r.submitted_at) if r.submitted_at else None,
            r.comment,
        )
        for row, r in found
    ]
    columns = ("Row", "Reviewer", *numeric, "Counted", "Submitted", "Comment")
    title = f"Reviews in queue {name}"
    show(listing(title, columns, rows, numeric=numeric, empty="no review yet"))


@app.command("conflicts")
def conflicts(ctx: typer.Context, name: Name, json_output: JsonFlag = False) -> None:
    """Rows with all their reviews whose counted scores differ by at least the metric's
    delta, with the resolved value where the row has one: resolve them
    (`annotations resolve-row`) or send them back for one more review."""
    emit(workspace(ctx).queues.conflicts(name, by=_admin()), json_output, conflicts_table)


def conflicts_table(found: list[Conflict]) -> Table:
    rows = []
    for c in found:
        scores = ", ".join(f"{r.reviewer} {_score(r)}" for r in c.reviews)
        resolved = None if c.resolved is None else score_text(c.resolved)
        rows.append((c.row_id, score_text(c.spread), scores, resolved))
    columns = ("Row", "Spread", "Reviews", "Resolved")
    empty = "none: no row's reviews differ by the metric's delta"
    return listing("Conflicts", columns, rows, numeric=("Spread",), empty=empty)


@app.command("send-back")
def send_back(ctx: typer.Context, name: Name, row: RowId) -> None:
    """One more review of a row (from the conflicts), by a reviewer who has not had it."""
    queue = workspace(ctx).queues.send_back(name, row, by=_admin())
    say(
        f"Row {row} of queue {name} goes back for one more review "
        f"({queue.rows_done} of {counted(queue.rows, 'row')} done)."
    )


@app.command("close")
def close(ctx: typer.Context, name: Name) -> None:
    """Close a queue: no row is given out any more, and a blind queue's rows are no longer
    withheld from its reviewers."""
    queue = workspace(ctx).queues.close(name, by=_admin())
    shown = " Its reviewers now see the judge's scores and each other's reviews." * queue.blind
    say(f"Queue {name} is closed: {queue.rows_done} of {counted(queue.rows, 'row')} done.{shown}")
