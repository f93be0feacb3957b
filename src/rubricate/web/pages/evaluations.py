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

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from rubricate.alignment.figures import agreement as judge_agreement
from rubricate.api.deps import Workspace
from rubricate.domain.alignment import Figure
from rubricate.domain.errors import NotFound
from rubricate.domain.evaluations import Evaluation
from rubricate.domain.resolution import Policy
from rubricate.domain.scale import Scale
from rubricate.domain.users import User
from rubricate.service.evaluations import MetricCoverage
from rubricate.service.workspace import Rubricate
from rubricate.web import evaluation_reads as reads
from rubricate.web.evaluation_reads import RowFilter, RowView
from rubricate.web.plots import default_delta, judge_vs_human
from rubricate.web.session import Admin, CurrentUser
from rubricate.web.templating import page

router = APIRouter()

PAGE_SIZE = 50
INTERVALS_UP_TO = 20_000  # bootstrap intervals (loaded after the page) up to this many rows
FLASH = "evaluation_report"
FIGURES_KEPT = 32  # figures with intervals kept for the same rows and scores (LRU)

# The same rows and scores give the same figures (the bootstrap is seeded): a page seen
# again (another filter, the next page) does not pay for its intervals twice.
_FIGURES: OrderedDict[tuple[str, float, tuple[reads.Point, ...]], list[Shown]] = OrderedDict()
_FIGURES_LOCK = threading.Lock()

EvaluationName = Annotated[str, Path(min_length=1, max_length=200)]
MetricField = Annotated[str, Form(min_length=1, max_length=100)]
RowField = Annotated[str, Form(min_length=1, max_length=200)]


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
        if value is None:
            return "—"
        label = self.scale.label_of(value)
        number = f"{value:g}" if float(value).is_integer() else f"{value:.3f}".rstrip("0")
        return f"{number} · {label}" if label else number

    def disagrees(self, view: RowView) -> bool:
        gap = view.gap
        return gap is not None and gap >= self.delta - reads.TOLERANCE

    def resolver(self, resolved_by: str | None) -> str:
        if not resolved_by:
            return ""
        kind, _, who = resolved_by.partition(":")
        return f"{who} policy" if kind == "policy" else who

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


@router.get("/evaluations")
def evaluations_list(request: Request, rb: Workspace, user: CurrentUser) -> Response:
    listed = [
        Listed(e, rb.evaluations.show(e.name).metrics, page_url(e.name))
        for e in rb.evaluations.list()
    ]
    return page(request, "evaluations.html", evaluations=listed)


# -- one evaluation ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shown:
    """A figure as the page shows it."""

    name: str
    value: str
    interval: str = ""
    hint: str = ""


def _num(value: float | None, digits: int = 2, percent: bool = False) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.0%}" if percent else f"{value:.{digits}f}"


def _judge_figures(
    points: Sequence[reads.Point], scale: Scale, delta: float, *, intervals: bool
) -> list[Shown]:
    """Judge vs human figures; ``intervals``: with bootstrap 95% intervals (1,000
    resamples: about a second, so the page loads them after it shows)."""
    if not points:
        return []
    figures = judge_agreement(
        [p.judge for p in points],
        [p.human for p in points],
        [p.row for p in points],
        scale=scale,
        delta=delta,
        seed=0,
        intervals=intervals and len(points) <= INTERVALS_UP_TO,
    )

    def shown(name: str, figure: Figure, hint: str, percent: bool = False) -> Shown:
        interval = ""
        if figure.low is not None and figure.high is not None:
            interval = (
                f"{_num(figure.low, percent=percent)} to {_num(figure.high, percent=percent)}"
            )
        return Shown(name, _num(figure.value, percent=percent), interval, hint)

    found = [
        shown("Exact agreement", figures.exact, "judge = human", percent=True),
        shown(
            "Within delta",
            figures.within_delta,
            f"|judge − human| < {delta:g}",
            percent=True,
        ),
    ]
    if scale.is_numeric:
        found.append(shown("MAE", figures.mae, "mean |judge − human|, in scale points"))
    if scale.points is not None:
        found.append(shown("Weighted kappa", figures.kappa, "Cohen's, quadratic weights"))
    found.append(shown("Spearman", figures.spearman, "rank correlation"))
    return found


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


@router.get("/evaluations/{name}")
def evaluation_page(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: EvaluationName,
    metric: Annotated[str | None, Query(max_length=100)] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000_000)] = 1,
    show: Annotated[RowFilter, Query(alias="filter")] = RowFilter.ALL,
) -> Response:
    detail = rb.evaluations.show(name)
    chosen = _pick_metric(detail.metrics, metric or None, name)
    report = request.session.pop(FLASH, None)
    context: dict[str, Any] = {
        "detail": detail,
        "metric": chosen,
        "report": report if isinstance(report, dict) and report.get("metric") == chosen else None,
        "metric_urls": {c.metric: page_url(name, metric=c.metric) for c in detail.metrics},
    }
    if chosen is None:
        return page(request, "evaluation.html", **context)
    rows = _context(rb, name, chosen, user)
    points = reads.points(rb.db, name, chosen)
    counts = reads.counts(rb.db, name, chosen, rows.delta)
    total = counts[show]
    last = max(1, math.ceil(total / PAGE_SIZE))
    views = reads.row_page(
        rb.db,
        name,
        chosen,
        show=show,
        delta=rows.delta,
        offset=(page_number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
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
        judge_figures=_judge_figures(points, rows.scale, rows.delta, intervals=False),
        figures_url=f"{page_url(name)}/figures?{urlencode({'metric': chosen})}",
        reviewers=reviewers,
        alpha=_num(alpha),
        alpha_value=alpha,
        alpha_level="interval" if rows.scale.type == "interval" else "ordinal",
        pairs=[
            (
                p.reviewer_a,
                p.reviewer_b,
                p.n_shared,
                _num(p.exact_agreement, percent=True),
                _num(p.mean_abs_diff),
            )
            for p in reviewers.pairs
        ],
        policies=[p for p in Policy if rows.scale.is_numeric or p is not Policy.MEAN],
    )
    return page(request, "evaluation.html", **context)


@router.get("/evaluations/{name}/figures")
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
    points = reads.points(rb.db, name, metric)
    key = (scale.model_dump_json(), delta, tuple(points))
    with _FIGURES_LOCK:
        figures = _FIGURES.get(key)
        if figures is not None:
            _FIGURES.move_to_end(key)
    if figures is None:
        figures = _judge_figures(points, scale, delta, intervals=True)
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


def _row(request: Request, rb: Rubricate, rows: RowsContext, row: str) -> Response:
    view = reads.row_view(rb.db, rows.evaluation, rows.metric, row)
    return page(request, "partials/evaluation_row.html", rows=rows, view=view, saved=True)


@router.post("/evaluations/{name}/annotations")
def annotate(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: EvaluationName,
    row: RowField,
    metric: MetricField,
    score: Annotated[str, Form(min_length=1, max_length=100)],
    comment: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """The signed-in user's score and comment for a row; answers with the row."""
    rb.annotations.add(
        name, row, metric, annotator=user.name, score=score, comment=comment.strip() or None
    )
    return _row(request, rb, _context(rb, name, metric, user), row)


@router.post("/evaluations/{name}/resolutions")
def resolve_row(
    request: Request,
    rb: Workspace,
    user: Admin,
    name: EvaluationName,
    row: RowField,
    metric: MetricField,
    value: Annotated[str, Form(min_length=1, max_length=100)],
) -> Response:
    """An admin's final value for a row; answers with the row."""
    rb.annotations.resolve_row(name, row, metric, value=value, user=user.name)
    return _row(request, rb, _context(rb, name, metric, user), row)


@router.post("/evaluations/{name}/resolve")
def resolve_by_policy(
    request: Request,
    rb: Workspace,
    user: Admin,
    name: EvaluationName,
    metric: MetricField,
    policy: Annotated[str, Form(min_length=1, max_length=20)],
    replace: Annotated[bool, Form()] = False,
) -> Response:
    """Apply a policy to the evaluation's rows of a metric; back to the page with its
    report."""
    report = rb.annotations.resolve(name, metric, policy, replace=replace)
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
    return RedirectResponse(page_url(name, metric=metric), status_code=303)
