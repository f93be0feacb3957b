"""Metrics: the list, and each metric's page (versions and the Alignment section)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from rubricate.api.deps import Workspace
from rubricate.api.errors import status_of
from rubricate.api.paths import MetricName, VersionNumber
from rubricate.api.roles import Access
from rubricate.domain.errors import InvalidInput, RubricateError
from rubricate.domain.metrics import Metric, MetricVersion, active_version
from rubricate.domain.users import User
from rubricate.integrations import connections
from rubricate.integrations.judge_file import mlflow_judge_file
from rubricate.service.workspace import Rubricate
from rubricate.web.alignment_view import ORIGINS, RunView, run_view, steps
from rubricate.web.pages.common import is_htmx, see_other
from rubricate.web.pages.connections import configured, posted, said, sent_text
from rubricate.web.session import CurrentUser, requires
from rubricate.web.templating import page

router = APIRouter()

MAX_PROMPT = 100_000
MAX_OPEN = 20  # expanded runs a history refresh renders
SENT_FLASH = "version_sent"  # what Send to <connection> did (send_version)


@router.get("/metrics", dependencies=[requires(Access.REVIEWER)])
def metrics_list(request: Request, rb: Workspace, user: CurrentUser) -> Response:
    return page(request, "metrics.html", metrics=rb.metrics.list())


@dataclass(frozen=True, slots=True)
class VersionRow:
    version: MetricVersion
    origin: str
    active: bool
    parent: int | None  # the parent version's number (same metric) or None
    parent_elsewhere: str | None  # "NAME vN" when the parent is another metric's version


def _version_rows(rb: Rubricate, metric: Metric, versions: list[MetricVersion]) -> list[VersionRow]:
    active = active_version(metric, versions)
    numbers = {v.id: v.number for v in versions}
    forked_from = _forked_from(rb, metric)
    rows = []
    for version in reversed(versions):  # newest first
        parent = version.parent_version_id
        elsewhere = None
        if parent is not None and parent not in numbers and forked_from is not None:
            theirs = {v.id: v.number for v in rb.metrics.versions(forked_from)}
            if parent in theirs:
                elsewhere = f"{forked_from} v{theirs[parent]}"
        rows.append(
            VersionRow(
                version=version,
                origin=ORIGINS.get(version.origin.value, version.origin.value),
                active=version.id == active.id,
                parent=numbers.get(parent) if parent is not None else None,
                parent_elsewhere=elsewhere,
            )
        )
    return rows


def _forked_from(rb: Rubricate, metric: Metric) -> str | None:
    if metric.forked_from_id is None:
        return None
    for summary in rb.metrics.list():
        if summary.metric.id == metric.forked_from_id:
            return summary.metric.name
    return None


def history(
    request: Request, rb: Rubricate, user: User, name: str, open_ids: list[str]
) -> Response:
    """The Alignment section's run history (an htmx fragment that refreshes itself)."""
    return page(request, "partials/metric_runs.html", **history_context(rb, user, name, open_ids))


def history_context(rb: Rubricate, user: User, name: str, open_ids: list[str]) -> dict[str, Any]:
    runs = rb.alignment_runs.history(name)
    wanted = set(open_ids[:MAX_OPEN])
    panels: dict[str, RunView] = {
        run.id: run_view(rb, rb.alignment_runs.get(run.id, viewer=user))
        for run in runs
        if run.id in wanted and run.status.finished
    }
    return {
        "metric_name": name,
        "runs": runs,
        "run_steps": {run.id: steps(run) for run in runs if not run.status.finished},
        "panels": panels,
        "polling": any(not run.status.finished for run in runs),
        "user": user,
    }


@router.get("/metrics/{name}", dependencies=[requires(Access.REVIEWER)])
def metric_page(request: Request, rb: Workspace, user: CurrentUser, name: MetricName) -> Response:
    sent = request.session.pop(SENT_FLASH, None)
    return _metric_page(request, rb, user, name, sent=sent if isinstance(sent, str) else None)


def _metric_page(
    request: Request,
    rb: Rubricate,
    user: User,
    name: str,
    *,
    status_code: int = 200,
    sent: str | None = None,
    send_error: str | None = None,
) -> Response:
    metric = rb.metrics.get(name)
    versions = rb.metrics.versions(name)
    active = active_version(metric, versions)
    return page(
        request,
        "metric.html",
        status_code=status_code,
        metric=metric,
        active=active,
        versions=_version_rows(rb, metric, versions),
        forked_from=_forked_from(rb, metric),
        connections=configured(rb) if user.is_admin else [],
        sent=sent,
        send_error=send_error,
        **history_context(rb, user, name, []),
    )


@router.get("/metrics/{name}/runs", dependencies=[requires(Access.REVIEWER)])
def metric_runs(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: MetricName,
    open: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """The run history, newest first; ``open``: comma-separated ids of the runs shown
    expanded (kept open while the list refreshes itself)."""
    return history(request, rb, user, name, [i for i in open.split(",") if i])


@router.post("/metrics/{name}/versions", dependencies=[requires(Access.ADMIN)])
def add_version(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: MetricName,
    prompt: Annotated[str, Form(max_length=MAX_PROMPT)],
    guidelines: Annotated[str, Form(max_length=MAX_PROMPT)] = "",
) -> Response:
    """Edit prompt: a new version written by hand; it becomes the active one."""
    if not prompt.strip():
        raise InvalidInput("the scoring prompt must not be empty", field="prompt")
    rb.metrics.add_version(name, prompt=prompt, guidelines=guidelines, by=user.name)
    return _back_to(request, name)


@router.post("/metrics/{name}/pin", dependencies=[requires(Access.ADMIN)])
def pin(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: MetricName,
    version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Make a version active (roll back), or follow the newest again (no version)."""
    number: int | None = None
    if version.strip():
        try:
            number = int(version)
        except ValueError:
            raise InvalidInput(f"{version!r} is not a version number", field="version") from None
    rb.metrics.pin(name, number, by=user.name)
    return _back_to(request, name)


def _back_to(request: Request, name: str) -> Response:
    target = f"/metrics/{name}#versions"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return see_other(target)


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "file" or "same"
    text: str


def _unified(name: str, old: MetricVersion, new: MetricVersion, part: str) -> list[DiffLine]:
    a, b = getattr(old, part), getattr(new, part)
    lines = difflib.unified_diff(
        a.splitlines(),
        b.splitlines(),
        fromfile=f"{name}@{old.number}/{part}",
        tofile=f"{name}@{new.number}/{part}",
        lineterm="",
    )
    shown = []
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        shown.append(DiffLine(kind, line))
    return shown


@router.get("/metrics/{name}/diff", dependencies=[requires(Access.REVIEWER)])
def diff(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: MetricName,
    a: Annotated[int, Query(ge=1, le=2**31 - 1)],
    b: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> Response:
    """A unified diff of two versions' prompts and guidelines."""
    old = rb.metrics.version(f"{name}@{a}")
    new = rb.metrics.version(f"{name}@{b}")
    context: dict[str, Any] = {
        "metric_name": name,
        "old": old,
        "new": new,
        "parts": [
            ("Scoring prompt", _unified(name, old, new, "prompt")),
            ("Guidelines", _unified(name, old, new, "guidelines")),
        ],
        "scale_changed": old.scale != new.scale,
    }
    template = "partials/metric_diff.html" if is_htmx(request) else "metric_diff.html"
    return page(request, template, **context)


EXPORT_SUFFIXES = {
    "text": "txt", "json": "json", "langfuse": "json", "promptfoo": "json", "mlflow": "json",
}  # fmt: skip


@router.get("/metrics/{name}/versions/{number}/export", dependencies=[requires(Access.REVIEWER)])
def export_version(
    rb: Workspace,
    name: MetricName,
    number: VersionNumber,
    format: Annotated[str, Query(max_length=20)] = "text",
) -> Response:
    """A version's prompt as a file for another tool (the same export as `rubricate
    align export-prompt` and GET /api/v1/metrics/{name}/export-prompt; mlflow: the judge's
    instructions and tags `rubricate export mlflow` registers)."""
    if format not in EXPORT_SUFFIXES:
        raise InvalidInput(
            f"unknown export format {format!r}: use one of {', '.join(EXPORT_SUFFIXES)}",
            field="format",
        )
    ref = f"{name}@{number}"
    if format == "mlflow":
        content = mlflow_judge_file(rb, ref)
    else:
        content = rb.reviews.export_prompt(ref, format)
    suffix = EXPORT_SUFFIXES[format]
    filename = quote(f"{name}-v{number}-{format}.{suffix}", safe="")
    media = "text/plain; charset=utf-8" if suffix == "txt" else "application/json"
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )


@router.post("/metrics/{name}/versions/{number}/send", dependencies=[requires(Access.ADMIN)])
async def send_version(
    request: Request, rb: Workspace, user: CurrentUser, name: MetricName, number: VersionNumber
) -> Response:
    """Send to <connection>: the version out to a connection an admin configured, through
    the REST API's export (connections.export_to): a Langfuse prompt version with its label,
    or a judge in MLflow's prompt registry (with an alias, if given)."""
    target = str((await request.form()).get("connection", ""))
    asked = {**await posted(request, "connection"), "metric": name, "version": number}
    try:
        sent = await run_in_threadpool(connections.export_to, rb, target, asked)
    except RubricateError as error:
        return _metric_page(request, rb, user, name, status_code=status_of(error),
                            send_error=f"Not sent to {target}: {said(error)}")  # fmt: skip
    request.session[SENT_FLASH] = sent_text(target, sent)
    return see_other(f"/metrics/{quote(name, safe='')}#versions")
