"""/api/v1/metrics: list, show with versions, create, add a version, pin, diff, export,
and two versions' agreement with the human scores of an evaluation side by side."""

from __future__ import annotations

import difflib
from typing import Annotated

from fastapi import APIRouter, Query

from rubricate.api.auth import CallerUser
from rubricate.api.comparison_schemas import VersionComparisonOut, comparison_out
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.pagination import Page, PageParams, page_of
from rubricate.api.paths import MetricName, VersionNumber
from rubricate.api.roles import Access, requires
from rubricate.api.schemas import (
    MetricCreate,
    MetricDetail,
    MetricOut,
    MetricVersionOut,
    PinBody,
    PromptExport,
    VersionCreate,
    VersionDiff,
    out_of,
)
from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import MetricVersion, active_version
from rubricate.service.metrics import MetricSummary
from rubricate.service.prompt_export import EXPORT_FORMATS
from rubricate.service.workspace import Rubricate

router = APIRouter(prefix="/metrics", tags=["metrics"])


def _out(summary: MetricSummary) -> MetricOut:
    return out_of(
        MetricOut,
        summary.metric,
        active_version=summary.active.number,
        version_count=summary.version_count,
        scale=summary.active.scale,
    )


def _version_out(version: MetricVersion, active: MetricVersion | None = None) -> MetricVersionOut:
    return out_of(MetricVersionOut, version, active=active is not None and active.id == version.id)


def _detail(rb: Rubricate, name: str) -> MetricDetail:
    metric = rb.metrics.get(name)
    versions = rb.metrics.versions(name)
    active = active_version(metric, versions)
    summary = _out(MetricSummary(metric, active, len(versions)))
    return out_of(MetricDetail, summary, versions=[_version_out(v, active) for v in versions])


def _version(rb: Rubricate, name: str, number: int) -> MetricVersion:
    return rb.metrics.version(f"{name}@{number}")


@router.get("", dependencies=[requires(Access.REVIEWER)], responses=responses())
def list_metrics(rb: Workspace, paging: PageParams) -> Page[MetricOut]:
    """Every metric: kind, active version, how many versions, scale."""
    return page_of(rb.metrics.list(), paging, _out)


@router.post(
    "", dependencies=[requires(Access.ADMIN)], status_code=201, responses=responses(403, 409)
)
def create_metric(rb: Workspace, caller: CallerUser, body: MetricCreate) -> MetricDetail:
    """A custom metric written by hand; its first version is active."""
    rb.metrics.create(
        body.name,
        scale=body.scale,
        prompt=body.prompt,
        description=body.description,
        judge_model=body.judge_model,
        by=caller.name,
    )
    return _detail(rb, body.name)


@router.get("/{name}", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def get_metric(rb: Workspace, name: MetricName) -> MetricDetail:
    """A metric with every version (prompt, guidelines, scale, origin), the active marked."""
    return _detail(rb, name)


@router.get("/{name}/versions", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def list_versions(rb: Workspace, name: MetricName, paging: PageParams) -> Page[MetricVersionOut]:
    metric = rb.metrics.get(name)
    versions = rb.metrics.versions(name)
    active = active_version(metric, versions)
    return page_of(versions, paging, lambda v: _version_out(v, active))


@router.post(
    "/{name}/versions",
    dependencies=[requires(Access.ADMIN)],
    status_code=201,
    responses=responses(403, 404, 409),
)
def add_version(
    rb: Workspace, caller: CallerUser, name: MetricName, body: VersionCreate
) -> MetricVersionOut:
    """The next version of a custom metric; it becomes active (a pin is lifted)."""
    version = rb.metrics.add_version(
        name, prompt=body.prompt, guidelines=body.guidelines, by=caller.name
    )
    return _version_out(version, version)


@router.get(
    "/{name}/versions/{number}", dependencies=[requires(Access.REVIEWER)], responses=responses(404)
)
def get_version(rb: Workspace, name: MetricName, number: VersionNumber) -> MetricVersionOut:
    version = _version(rb, name, number)
    return _version_out(version, rb.metrics.version(name))


@router.put(
    "/{name}/pin", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404, 409)
)
def pin(rb: Workspace, caller: CallerUser, name: MetricName, body: PinBody) -> MetricDetail:
    """Make a version active (a roll-back), or ``{"version": null}`` to follow the newest."""
    rb.metrics.pin(name, body.version, by=caller.name)
    return _detail(rb, name)


@router.delete(
    "/{name}/pin", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404, 409)
)
def unpin(rb: Workspace, caller: CallerUser, name: MetricName) -> MetricDetail:
    """Follow the newest version again."""
    rb.metrics.pin(name, None, by=caller.name)
    return _detail(rb, name)


@router.get("/{name}/diff", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def diff_versions(
    rb: Workspace,
    name: MetricName,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)],
) -> VersionDiff:
    """A unified diff of two versions' prompts and guidelines."""
    old = _version(rb, name, from_version)
    new = _version(rb, name, to_version)

    def unified(a: str, b: str, part: str) -> str:
        lines = difflib.unified_diff(
            a.splitlines(keepends=True),
            b.splitlines(keepends=True),
            fromfile=f"{name}@{old.number}/{part}",
            tofile=f"{name}@{new.number}/{part}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    return VersionDiff(
        metric=name,
        from_version=old.number,
        to_version=new.number,
        prompt_diff=unified(old.prompt, new.prompt, "prompt"),
        guidelines_diff=unified(old.guidelines, new.guidelines, "guidelines"),
        scale_changed=old.scale != new.scale,
    )


@router.get(
    "/{name}/export-prompt", dependencies=[requires(Access.REVIEWER)], responses=responses(404)
)
def export_prompt(
    rb: Workspace,
    name: MetricName,
    format: Annotated[str, Query(description=f"One of {', '.join(EXPORT_FORMATS)}.")] = "text",
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    fields: Annotated[
        list[str] | None,
        Query(description="Optional row fields a chat prompt is written for."),
    ] = None,
) -> PromptExport:
    """The scoring prompt with its guidelines, for a team's own pipeline."""
    if format not in EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown export format {format!r}: use one of {', '.join(EXPORT_FORMATS)}",
            field="format",
        )
    ref = name if version is None else f"{name}@{version}"
    content = rb.reviews.export_prompt(ref, format, fields=fields)
    chosen = rb.metrics.version(ref)
    return PromptExport(metric=name, version=chosen.number, format=format, content=content)


@router.get("/{name}/compare", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def compare_versions(
    rb: Workspace,
    name: MetricName,
    evaluation: Annotated[str, Query(min_length=1, max_length=200)],
    a: Annotated[int, Query(ge=1, le=2**31 - 1, description="The old version.")],
    b: Annotated[int, Query(ge=1, le=2**31 - 1, description="The new version.")],
    delta: Annotated[float | None, Query(gt=0, le=10**9)] = None,
) -> VersionComparisonOut:
    """Versions ``a`` and ``b`` side by side on an evaluation: each one's agreement with the
    resolved human scores (exact, within delta, MAE, weighted kappa, Spearman, with 95%
    intervals) on the rows both have scored, and the paired difference in weighted kappa.
    Re-score an evaluation with a version by POST /api/v1/evaluation-runs with
    ``metric: "NAME@N"`` (its estimate: POST /api/v1/evaluation-runs/estimate)."""
    found = rb.version_comparison.compare(name, evaluation, a, b, delta=delta)
    return comparison_out(found)
