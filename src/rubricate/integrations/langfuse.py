"""Langfuse: its scores and traces in, a metric's prompt and its judge scores out, over
Langfuse's public REST API (basic auth with the project's keys; no SDK needed)::

    from rubricate import Rubricate
    from rubricate.integrations import langfuse

    with Rubricate() as rb:
        report = langfuse.import_langfuse(rb, score="helpfulness", dry_run=True)
        langfuse.import_langfuse(rb, score="helpfulness", start="2025-05-01")
        langfuse.export_prompt(rb, "helpfulness", label="staging")
        langfuse.push_scores(rb, "langfuse-helpfulness", "helpfulness")

The connection comes from LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_HOST
(default https://cloud.langfuse.com) unless one is given. Endpoints used:
GET /api/public/v2/scores, GET /api/public/traces/{id}, GET /api/public/score-configs,
GET and POST /api/public/v2/prompts, POST /api/public/scores.

An import reads everything first (the scores, the score configs when the metric is new, the
traces the evaluation lacks), then writes it in one transaction through the import every
layout uses: all or nothing; a second import adds only what is new; a score Langfuse now
gives otherwise is reported, never overwritten. Only the command line and Python reach a
host of their choosing; the REST API and the web reach only the connections an admin
configured (rubricate.integrations.connections).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import check_metric_name
from rubricate.domain.names import check_evaluation_name
from rubricate.integrations._common import Progress, chosen_name, quiet, refuse_builtin
from rubricate.integrations._import_write import existing_scale
from rubricate.integrations._langfuse_export import (
    LangfusePromptReport,
    LangfuseScoresReport,
    create_prompt,
    prompt_body,
    score_bodies,
)
from rubricate.integrations._langfuse_export import push_scores as _push
from rubricate.integrations._langfuse_http import PAGE_SIZE, LangfuseClient, LangfuseConnection
from rubricate.integrations._langfuse_plan import (
    ImportRequest,
    Plan,
    parse_time,
    read_scores,
    read_traces,
    records,
    scale_from_langfuse,
)
from rubricate.integrations._langfuse_write import (
    ChangedScore,
    LangfuseImportReport,
    known_rows,
    write_plan,
)

if TYPE_CHECKING:
    from rubricate.service.workspace import Rubricate

__all__ = [
    "ChangedScore",
    "LangfuseConnection",
    "LangfuseImportReport",
    "LangfusePromptReport",
    "LangfuseScoresReport",
    "Progress",
    "check_scores",
    "export_prompt",
    "import_langfuse",
    "push_scores",
]


def import_langfuse(
    rb: Rubricate,
    *,
    score: str,
    judge_score: str | None = None,
    evaluation: str | None = None,
    metric: str | None = None,
    start: str | datetime | None = None,
    end: str | datetime | None = None,
    dry_run: bool = False,
    connection: LangfuseConnection | None = None,
    progress: Progress | None = None,
    page_size: int | None = None,
) -> LangfuseImportReport:
    """Import the Langfuse scores named ``score`` (reviewers' annotations) and
    ``judge_score`` (an evaluator's judge results; default: the same name) given from
    ``start`` up to ``end`` (ISO 8601; UTC unless a zone is given; default: all up to now),
    with the traces they score as rows (id: the trace id), into ``evaluation`` (default
    ``langfuse-SCORE``) under ``metric`` (default: the score's name; created from Langfuse's
    score config when it does not exist). A dry run reads and counts, and keeps nothing."""
    show = progress or quiet
    request = _request(score, judge_score, evaluation, metric, start, end)
    client = LangfuseClient(connection or LangfuseConnection.from_env(),
                            page_size=page_size or PAGE_SIZE)  # fmt: skip
    report = LangfuseImportReport(request.evaluation, host=client.host)
    with client:
        scores = read_scores(client, request, show)
        existing = existing_scale(rb, request.metric)
        if existing is None:
            scale, description = scale_from_langfuse(client, request, scores)
        else:
            scale, description = existing, ""
        plan = Plan(scale=scale, create_metric=existing is None, description=description)
        plan.scores_read = len(scores)
        records(plan, scores, request)
        _check_builtin(rb, request, plan)
        known = known_rows(rb.db, request.evaluation, plan.trace_ids())
        read_traces(client, plan, known, show)
    report.scores_read, report.traces_fetched = plan.scores_read, plan.traces_fetched
    report.scores_skipped = dict(plan.skipped)
    what = f"Imported from Langfuse at {client.host} (score {request.score!r})."
    return write_plan(rb.db, request, plan, report, description=what, dry_run=dry_run)


def _request(
    score: str,
    judge_score: str | None,
    evaluation: str | None,
    metric: str | None,
    start: str | datetime | None,
    end: str | datetime | None,
) -> ImportRequest:
    if not score or not score.strip():
        raise InvalidInput("name the Langfuse score to import", field="score")
    chosen = evaluation if evaluation is not None else f"langfuse-{score}"
    check_evaluation_name(chosen)
    name = chosen_name(
        metric, score, check_metric_name, field="metric",
        why=f"the score name {score!r} is not a valid metric name: name the metric to store "
        "its scores under with --metric",
    )  # fmt: skip
    since, until = parse_time(start, "start"), parse_time(end, "end")
    until = until or datetime.now(UTC)  # fixed at the start: pages do not shift meanwhile
    if since is not None and since >= until:
        raise InvalidInput(
            f"the start ({since.astimezone(UTC):%Y-%m-%d %H:%M} UTC) is not before the end "
            f"({until.astimezone(UTC):%Y-%m-%d %H:%M} UTC)",
            field="start",
        )
    return ImportRequest(chosen, score, judge_score or score, name, since, until)


def _check_builtin(rb: Rubricate, request: ImportRequest, plan: Plan) -> None:
    refuse_builtin(
        rb, request.metric, plan,
        f"{request.metric!r} is a built-in metric: Langfuse's judge scores cannot be pinned "
        f"to its prompt; store them under a metric of your own, such as --metric "
        f"{request.metric}-langfuse (created from the score config)",
    )  # fmt: skip


def export_prompt(
    rb: Rubricate,
    metric: str,
    *,
    version: int | None = None,
    label: str = "production",
    prompt_type: str = "text",
    fields: Sequence[str] | None = None,
    name: str | None = None,
    connection: LangfuseConnection | None = None,
) -> LangfusePromptReport:
    """Create a version of the Langfuse prompt ``name`` (default: the metric's name) from
    ``metric``'s ``version`` (default: the active one), labelled ``label``, as a ``text``
    or ``chat`` prompt whose config carries the scale and the metric version. Nothing is
    created when the labelled version holds the same prompt already."""
    ref = metric if version is None else f"{metric}@{version}"
    body, found = prompt_body(rb, ref, label=label, prompt_type=prompt_type, fields=fields,
                              name=name)  # fmt: skip
    with LangfuseClient(connection or LangfuseConnection.from_env()) as client:
        number, created = create_prompt(client, body, found.number)
        host = client.host
    return LangfusePromptReport(
        host=host, metric=metric, version=found.number, prompt_name=body["name"],
        prompt_type=body["type"], label=body["labels"][0], langfuse_version=number,
        created=created,
    )  # fmt: skip


def check_scores(rb: Rubricate, evaluation: str, ref: str, score_name: str) -> None:
    """Refuse, as push_scores would, the judge scores of ``ref`` (``NAME`` for the active
    version, ``NAME@N``) in ``evaluation`` that cannot be sent (an unknown evaluation or
    version, none of the version's scores there), before anything reaches Langfuse: so
    that no prompt is created for scores that then fail."""
    score_bodies(rb, evaluation, ref, score_name)


def push_scores(
    rb: Rubricate,
    evaluation: str,
    metric: str,
    *,
    version: int | None = None,
    score_name: str | None = None,
    connection: LangfuseConnection | None = None,
    progress: Progress | None = None,
) -> LangfuseScoresReport:
    """Send the judge scores of ``metric``'s ``version`` (default: the active one) in
    ``evaluation`` to Langfuse as scores named ``score_name`` (default: the metric's name)
    on the traces the rows came from, with ``rubricate_metric``, ``rubricate_version`` and
    ``rubricate_model`` in their metadata. Sending them again changes nothing."""
    ref = metric if version is None else f"{metric}@{version}"
    name = score_name or metric
    bodies, found, not_langfuse, errors = score_bodies(rb, evaluation, ref, name)
    with LangfuseClient(connection or LangfuseConnection.from_env()) as client:
        pushed = _push(client, bodies, progress or quiet)
        host = client.host
    return LangfuseScoresReport(
        host=host, evaluation=evaluation, metric=metric, version=found.number, score_name=name,
        pushed=pushed, skipped_not_langfuse=not_langfuse, skipped_errors=errors,
    )  # fmt: skip
