"""Re-scoring an evaluation with a metric version, from the metric's page, and two versions
side by side on an evaluation.

Re-scoring is the evaluation run that exists, reached from one more place: the form shows
the estimate first (calls, tokens and cost: ``EvaluationRunService.estimate``, as `rubricate
evaluate --dry-run` and POST /api/v1/evaluation-runs/estimate), and Start records the run
and queues it through the run facade (``runs/control.py``, as the API and `evaluate
--no-wait` do), with the caps the form set; the run's page then follows it. The
comparison reads ``VersionComparisonService``, as GET /api/v1/metrics/{name}/compare and
`rubricate metrics compare` do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from rubricate.api.deps import Workspace
from rubricate.api.paths import MetricName, RunIdPath, VersionNumber
from rubricate.api.queueing import Control, queue_reply
from rubricate.api.roles import Access
from rubricate.domain.alignment import Figure
from rubricate.domain.errors import InvalidInput, RubricateError
from rubricate.models.cost import format_cost
from rubricate.service.version_comparison import VersionComparison
from rubricate.service.workspace import Rubricate
from rubricate.web.judge_figures import shown_number
from rubricate.web.pages.common import problem, see_other
from rubricate.web.session import CurrentUser, requires
from rubricate.web.templating import page

router = APIRouter()

Text = Annotated[str, Query(max_length=200)]


class Caps(BaseModel):
    """The form's fields, declared once for the estimate (read from the query) and for
    Start (from the body): as asked (text, kept for the form) and, by its methods, as
    numbers."""

    model_config = ConfigDict(frozen=True)

    evaluation: str = Field("", max_length=200)
    model: str = Field("", max_length=200)
    max_calls: str = Field("", max_length=200)
    max_cost: str = Field("", max_length=200)

    def calls(self) -> int | None:
        if not self.max_calls.strip():
            return None
        try:
            return int(self.max_calls)
        except ValueError:
            raise InvalidInput(
                f"{self.max_calls!r} is not a number of calls", field="max_calls"
            ) from None

    def cost(self) -> float | None:
        if not self.max_cost.strip():
            return None
        try:
            return float(self.max_cost.strip().lstrip("$"))
        except ValueError:
            raise InvalidInput(f"{self.max_cost!r} is not an amount", field="max_cost") from None


class StartCaps(Caps):
    """Start's fields: the same, with the evaluation required."""

    evaluation: str = Field(max_length=200)


def _form_context(rb: Rubricate, name: str, number: int, caps: Caps) -> dict[str, Any]:
    metric = rb.metrics.get(name)
    return {
        "metric": metric,
        "version": rb.metrics.version(f"{name}@{number}"),
        "evaluations": rb.evaluations.list(),
        "caps": caps,
        "default_model": metric.judge_model or rb.settings.judge_model or "",
        "problem": "",
        "estimate": None,
        "stops": [],
        "cost": "",
    }


def _estimate(rb: Rubricate, name: str, number: int, caps: Caps) -> dict[str, Any]:
    """The estimate and where a cap would stop the run; or the problem, to show."""
    try:
        estimate = rb.evaluation_runs.estimate(
            metric=f"{name}@{number}", evaluation=caps.evaluation, model=caps.model or None
        )
        calls, cost = caps.calls(), caps.cost()
    except RubricateError as error:
        return {"problem": problem(error)}
    stops: list[str] = []
    if calls is not None and calls < estimate.calls:
        stops.append(f"the cap of {calls:,} calls stops it after about {calls:,} rows")
    if cost is not None and estimate.cost_usd is not None and cost < estimate.cost_usd:
        rows = int(estimate.rows * cost / estimate.cost_usd)
        stops.append(f"the cap of {format_cost(cost)} stops it after about {rows:,} rows")
    if cost is not None and estimate.cost_usd is None:
        stops.append(f"{estimate.model}'s price is unknown, so a cost cap cannot be kept")
    return {"estimate": estimate, "cost": format_cost(estimate.cost_usd), "stops": stops}


@router.get("/metrics/{name}/versions/{number}/rescore", dependencies=[requires(Access.ADMIN)])
def rescore_form(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: MetricName,
    number: VersionNumber,
    caps: Annotated[Caps, Query()],
) -> Response:
    """Step 1: choose the evaluation, the judge model and the caps; with an evaluation
    chosen, the estimate (no model is called, nothing is written) and Start."""
    context = _form_context(rb, name, number, caps)
    if caps.evaluation:
        context |= _estimate(rb, name, number, caps)
    return page(request, "rescore.html", **context)


@router.post("/metrics/{name}/versions/{number}/rescore", dependencies=[requires(Access.ADMIN)])
def start_rescoring(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    control: Control,
    name: MetricName,
    number: VersionNumber,
    caps: Annotated[StartCaps, Form()],
) -> Response:
    """Step 2: record the evaluation run and queue it for a worker; the run's page next."""
    try:
        run = rb.evaluation_runs.start(
            metric=f"{name}@{number}",
            evaluation=caps.evaluation,
            model=caps.model.strip() or None,
            max_calls=caps.calls(),
            max_cost_usd=caps.cost(),
        )
        control.evaluation.queue(run)
    except RubricateError as error:
        context = _form_context(rb, name, number, caps) | _estimate(rb, name, number, caps)
        context["problem"] = problem(error)
        return page(request, "rescore.html", status_code=422, **context)
    return see_other(f"/evaluation-runs/{run.id}")


@router.get("/evaluation-runs/{run_id}", dependencies=[requires(Access.REVIEWER)])
def evaluation_run_page(
    request: Request, rb: Workspace, user: CurrentUser, control: Control, run_id: RunIdPath
) -> Response:
    """An evaluation run as it goes (the page polls while it is in flight), with the way to
    the comparison of its version with the one the evaluation was scored with before."""
    run = rb.evaluation_runs.get(run_id)
    metric = str(run.params.get("metric", "")).partition("@")[0]
    versions = rb.metrics.versions(metric)
    number = next(v.number for v in versions if v.id == run.metric_version_id)
    evaluation = next(e.name for e in rb.evaluations.list() if e.id == run.evaluation_id)
    others = [
        v.number
        for v in rb.version_comparison.scored_versions(metric, evaluation)
        if v.number != number
    ]
    _, message = queue_reply(control, run.status.label, not run.status.finished)
    return page(
        request,
        "evaluation_run.html",
        run=run,
        metric=metric,
        number=number,
        evaluation=evaluation,
        compare_with=others[-1] if others else None,
        cost=format_cost(run.cost_usd),
        message=message if run.status.value == "pending" else "",
    )


@dataclass(frozen=True, slots=True)
class Line:
    """A figure of both versions, as the page shows it."""

    name: str
    hint: str
    a: str
    b: str
    a_interval: str
    b_interval: str


def _shown(figure: Figure, percent: bool) -> tuple[str, str]:
    interval = ""
    if figure.low is not None and figure.high is not None:
        low, high = (shown_number(x, percent=percent) for x in (figure.low, figure.high))
        interval = f"{low} to {high}"
    return shown_number(figure.value, percent=percent), interval


def lines(found: VersionComparison) -> list[Line]:
    """The evaluation page's figures, for both versions on the same rows."""
    wanted = [
        ("Exact agreement", "judge = human", "exact", True),
        ("Within delta", f"|judge − human| < {found.delta:g}", "within_delta", True),
        ("MAE", "mean |judge − human|, lower is better", "mae", False),
        ("Weighted kappa", "Cohen's, quadratic weights", "kappa", False),
        ("Spearman", "rank correlation", "spearman", False),
    ]
    shown = []
    for name, hint, attribute, percent in wanted:
        a = _shown(getattr(found.a.figures, attribute), percent)
        b = _shown(getattr(found.b.figures, attribute), percent)
        shown.append(Line(name, hint, a[0], b[0], a[1], b[1]))
    return shown


@router.get("/metrics/{name}/compare", dependencies=[requires(Access.REVIEWER)])
def compare_page(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: MetricName,
    evaluation: Text = "",
    a: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    b: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """Two versions' agreement with an evaluation's resolved human scores, side by side on
    the rows both scored. Without versions: the newest two with scores on it."""
    metric = rb.metrics.get(name)
    context: dict[str, Any] = {
        "metric": metric,
        "versions": rb.metrics.versions(name),
        "evaluations": rb.evaluations.list(),
        "evaluation": evaluation,
        "user": user,
        "scored": {},
        "found": None,
        "problem": "",
        "lines": [],
        "difference": ("", ""),
    }
    if evaluation:
        scored = rb.version_comparison.scored_versions(name, evaluation)
        numbers = [v.number for v in scored]
        b = b or (numbers[-1] if numbers else None)
        a = a or next((n for n in reversed(numbers) if n != b), None)
        context["scored"] = {v.number: v.rows for v in scored}
    context |= {"a": a, "b": b}
    if evaluation and a is not None and b is not None:
        try:
            found = rb.version_comparison.compare(name, evaluation, a, b)
        except InvalidInput as error:
            context["problem"] = error.message  # two equal versions, a bad delta
        else:
            difference = _shown(found.kappa_difference, percent=False)
            context |= {"found": found, "lines": lines(found), "difference": difference}
    return page(request, "version_compare.html", **context)
