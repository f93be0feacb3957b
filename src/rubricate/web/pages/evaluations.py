"""Evaluations: rows with judge and reviewers' scores, annotating and resolving.

Any signed-in user annotates a row (their own annotation, under their name); an admin
resolves a row by hand or the whole evaluation with a policy. Annotating and resolving a
row answer with that row alone (htmx swaps it in place); a policy answers with the page
again, its report on top."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from rubricate.api.deps import Workspace
from rubricate.api.paths import EvaluationName
from rubricate.api.roles import Access
from rubricate.domain.errors import NotFound
from rubricate.domain.evaluations import Evaluation
from rubricate.domain.resolution import Policy
from rubricate.domain.scale import Scale
from rubricate.domain.users import User
from rubricate.service.evaluation_reads import TOLERANCE, Point, RowFilter, RowView
from rubricate.service.evaluations import MetricCoverage
from rubricate.service.workspace import Rubricate
from rubricate.web.judge_figures import Shown, judge_figures, shown_number
from rubricate.web.pages.common import PageNumber, RowField, ScoreField, see_other
from rubricate.web.plots import default_delta, judge_vs_human
from rubricate.web.queue_view import describe, resolver
from rubricate.web.reviewer_view import reviewers_section
from rubricate.web.session import CurrentUser, requires
from rubricate.web.templating import page

router = APIRouter()

PAGE_SIZE = 50
FLASH = "evaluation_report"
IMPORT_FLASH = "import_report"  # what the Import form brought in (web/pages/uploads.py)
FIGURES_KEPT = 32  # figures with intervals kept for the same rows and scores (LRU)

# The same rows and scores give the same figures (the bootstrap is seeded): a page seen
# again (another filter, the next page) does not pay for its intervals twice.
_FIGURES: OrderedDict[tuple[str, float, tuple[Point, ...]], list[Shown]] = OrderedDict()
_FIGURES_LOCK = threading.Lock()

MetricField = Annotated[str, Form(min_length=1, max_length=100)]


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    text: str


@dataclass(frozen=True, slots=True)
class RowsContext:
    """What every row of the page needs to render (the row partial too)."""

    evaluation: str
    metric: str
    scale: Scale
    delta: float
    user: User
    choices: list[Choice]  # the scale's points; empty: a number field (interval scale)

    @property
    def base_url(self) -> str:
        """The evaluation's path, its name escaped (a name may hold any character)."""
        return page_url(self.evaluation)

    def describe(self, value: float | None) -> str:
        """``4 · Good``; ``3.667`` for a fractional mean."""
        return describe(self.scale, value)

    def disagrees(self, view: RowView) -> bool:
        gap = view.gap
        return gap is not None and gap >= self.delta - TOLERANCE

    def resolver(self, resolved_by: str | None) -> str:
        return resolver(resolved_by)

    def value_text(self, value: float | None) -> str:
        """A stored score as a form value: ``4``, ``0.75``."""
        return "" if value is None else f"{value:g}"


def _choices(scale: Scale) -> list[Choice]:
    points = scale.points
    if points is None:
        return []
    return [
        Choice(f"{v:g}", f"{v:g} · {scale.label_of(v)}" if scale.label_of(v) else f"{v:g}")
        for v in points
    ]


def _context(rb: Rubricate, evaluation: str, metric: str, user: User) -> RowsContext:
    scale = rb.metrics.version(metric).scale
    return RowsContext(
        evaluation=evaluation,
        metric=metric,
        scale=scale,
        delta=default_delta(scale),
        user=user,
        choices=_choices(scale),
    )


def page_url(name: str, **query: object) -> str:
    given = {k: v for k, v in query.items() if v not in (None, "")}
    path = f"/evaluations/{quote(name, safe='')}"
    return f"{path}?{urlencode(given)}" if given else path


# -- the list ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listed:
    evaluation: Evaluation
    metrics: list[MetricCoverage]
    url: str


@router.get("/evaluations", dependencies=[requires(Access.REVIEWER)])
def evaluations_list(request: Request, rb: Workspace, user: CurrentUser) -> Response:
    imported = request.session.pop(IMPORT_FLASH, None)
    notice = imported if isinstance(imported, str) else None
    return page(
        request,
        "evaluations.html",
        evaluations=listed(rb),
        import_notice=notice,
        import_error=None,
        viewer=user,
    )


def listed(rb: Rubricate) -> list[Listed]:
    return [
        Listed(e, rb.evaluations.show(e.name).metrics, page_url(e.name))
        for e in rb.evaluations.list()
    ]


# -- one evaluation ----------------------------------------------------------------------


def _pick_metric(coverage: Sequence[MetricCoverage], wanted: str | None, name: str) -> str | None:
    if wanted is not None:
        if not any(c.metric == wanted for c in coverage):
            raise NotFound(
                f"evaluation {name!r} has no judge results or annotations for metric {wanted!r}"
            )
        return wanted
    both = [c for c in coverage if c.judged_rows and c.annotated_rows]
    chosen = both or list(coverage)
    return chosen[0].metric if chosen else None


@router.get("/evaluations/{name}", dependencies=[requires(Access.REVIEWER)])
def evaluation_page(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: EvaluationName,
    metric: Annotated[str | None, Query(max_length=100)] = None,
    page_number: PageNumber = 1,
    show: Annotated[RowFilter, Query(alias="filter")] = RowFilter.ALL,
) -> Response:
    detail = rb.evaluations.show(name)
    chosen = _pick_metric(detail.metrics, metric or None, name)
    report = request.session.pop(FLASH, None)
    imported = request.session.pop(IMPORT_FLASH, None)
    context: dict[str, Any] = {
        "detail": detail,
        "import_notice": imported if isinstance(imported, str) else None,
        "metric": chosen,
        "report": report if isinstance(report, dict) and report.get("metric") == chosen else None,
        "metric_urls": {c.metric: page_url(name, metric=c.metric) for c in detail.metrics},
    }
    if chosen is None:
        return page(request, "evaluation.html", **context)
    rows = _context(rb, name, chosen, user)
    points = rb.evaluation_reads.points(name, chosen, viewer=user)
    counts = rb.evaluation_reads.row_counts(name, chosen, rows.delta)
    total = counts[show]
    last = max(1, math.ceil(total / PAGE_SIZE))
    views = rb.evaluation_reads.rows(
        name,
        chosen,
        show=show,
        delta=rows.delta,
        offset=(page_number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        viewer=user,
    )
    reviewers = rb.annotations.agreement(name, chosen)
    alpha = reviewers.alpha_interval if rows.scale.type == "interval" else reviewers.alpha_ordinal
    context.update(
        rows=rows,
        views=views,
        show=show,
        filters=[
            (
                f,
                counts[f],
                page_url(name, metric=chosen, filter=f.value if f.value != "all" else ""),
            )
            for f in RowFilter
        ],
        page_number=page_number,
        last_page=last,
        first_row=(page_number - 1) * PAGE_SIZE + 1,
        last_row=min(total, page_number * PAGE_SIZE),
        total=total,
        prev_url=page_url(name, metric=chosen, filter=_f(show), page=page_number - 1)
        if page_number > 1
        else None,
        next_url=page_url(name, metric=chosen, filter=_f(show), page=page_number + 1)
        if page_number < last
        else None,
        plot=judge_vs_human(
            points, rows.scale, delta=rows.delta, title=f"{chosen}: judge vs human"
        ),
        plotted=len(points),
        judge_figures=judge_figures(points, rows.scale, rows.delta, intervals=False),
        figures_url=f"{page_url(name)}/figures?{urlencode({'metric': chosen})}",
        reviewers=reviewers,
        alpha=shown_number(alpha),
        alpha_value=alpha,
        alpha_level="interval" if rows.scale.type == "interval" else "ordinal",
        pairs=[
            (
                p.reviewer_a,
                p.reviewer_b,
                p.n_shared,
                shown_number(p.exact_agreement, percent=True),
                shown_number(p.mean_abs_diff),
            )
            for p in reviewers.pairs
        ],
        policies=[p for p in Policy if rows.scale.is_numeric or p is not Policy.MEAN],
        calibration=reviewers_section(rb, name, chosen, viewer=user),
    )
    return page(request, "evaluation.html", **context)


@router.get("/evaluations/{name}/figures", dependencies=[requires(Access.REVIEWER)])
def evaluation_figures(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: EvaluationName,
    metric: Annotated[str, Query(min_length=1, max_length=100)],
) -> Response:
    """The judge vs human figures with their intervals (htmx loads them after the page)."""
    scale = rb.metrics.version(metric).scale
    delta = default_delta(scale)
    points = rb.evaluation_reads.points(name, metric, viewer=user)
    key = (scale.model_dump_json(), delta, tuple(points))
    with _FIGURES_LOCK:
        figures = _FIGURES.get(key)
        if figures is not None:
            _FIGURES.move_to_end(key)
    if figures is None:
        figures = judge_figures(points, scale, delta, intervals=True)
        with _FIGURES_LOCK:
            _FIGURES[key] = figures
            while len(_FIGURES) > FIGURES_KEPT:
                _FIGURES.popitem(last=False)
    return page(
        request,
        "partials/evaluation_figures.html",
        judge_figures=figures,
        plotted=len(points),
        figures_url=None,
    )


def _f(show: RowFilter) -> str:
    return "" if show is RowFilter.ALL else show.value


@dataclass(frozen=True, slots=True)
class RowPosted:
    """The row a form posts to: the evaluation in the path, the row and metric fields."""

    evaluation: str
    row: str
    metric: str


def _row_posted(name: EvaluationName, row: RowField, metric: MetricField) -> RowPosted:
    return RowPosted(name, row, metric)


PostedRow = Annotated[RowPosted, Depends(_row_posted)]


def _row(request: Request, rb: Rubricate, user: User, posted: RowPosted) -> Response:
    rows = _context(rb, posted.evaluation, posted.metric, user)
    view = rb.evaluation_reads.row(posted.evaluation, posted.metric, posted.row, viewer=user)
    return page(request, "partials/evaluation_row.html", rows=rows, view=view, saved=True)


@router.post("/evaluations/{name}/annotations", dependencies=[requires(Access.REVIEWER)])
def annotate(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    posted: PostedRow,
    score: ScoreField,
    comment: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """The signed-in user's score and comment for a row; answers with the row."""
    evaluation, row, metric = posted.evaluation, posted.row, posted.metric
    note = comment.strip() or None
    rb.annotations.add(evaluation, row, metric, annotator=user.name, score=score, comment=note)
    return _row(request, rb, user, posted)


@router.post("/evaluations/{name}/resolutions", dependencies=[requires(Access.ADMIN)])
def resolve_row(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    posted: PostedRow,
    value: ScoreField,
) -> Response:
    """An admin's final value for a row; answers with the row."""
    evaluation, row, metric = posted.evaluation, posted.row, posted.metric
    rb.annotations.resolve_row(evaluation, row, metric, value=value, user=user.name)
    return _row(request, rb, user, posted)


@router.post("/evaluations/{name}/resolve", dependencies=[requires(Access.ADMIN)])
def resolve_by_policy(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: EvaluationName,
    metric: MetricField,
    policy: Annotated[str, Form(min_length=1, max_length=20)],
    replace: Annotated[bool, Form()] = False,
) -> Response:
    """Apply a policy to the evaluation's rows of a metric; back to the page with its
    report."""
    report = rb.annotations.resolve(name, metric, policy, replace=replace, by=user.name)
    request.session[FLASH] = {
        "metric": metric,
        "policy": report.policy.value,
        "replace": replace,
        "annotated_rows": report.annotated_rows,
        "resolved": report.resolved,
        "unresolved": report.unresolved,
        "kept": report.kept,
        "cleared": report.cleared,
    }
    return see_other(page_url(name, metric=metric))
