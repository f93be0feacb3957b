"""Back to Langfuse: a metric version's prompt as a new version in Langfuse Prompt
Management (POST /api/public/v2/prompts, with a label), and an evaluation's judge scores as
Langfuse scores on the traces they judge (POST /api/public/scores), with the metric and its
version in their metadata.

Both are safe to repeat: a prompt whose labelled version already holds the same text is not
created again, and each score has an id made from what it scores (metric, version, judge
model, trace), which Langfuse keeps once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import MetricVersion
from rubricate.domain.scale import Scale
from rubricate.integrations._common import Progress, not_scored, source_trace, version_to_send
from rubricate.integrations._langfuse_http import LangfuseClient, LangfuseNotFound
from rubricate.integrations._langfuse_models import BOOLEAN, BOOLEAN_LABELS, CATEGORICAL, NUMERIC
from rubricate.store.evaluations import find_evaluation, rows_in_order
from rubricate.store.judge_listing import judge_results

if TYPE_CHECKING:
    from rubricate.service.workspace import Rubricate

PROMPTS = "/api/public/v2/prompts"
SCORES = "/api/public/scores"
PROMPT_TYPES = ("text", "chat")
ROWS_A_READ = 1000
ID_SPACE = uuid.UUID("5b6f1f0e-6a43-4c1e-9d7f-2f6c1a0b7e11")  # score ids: uuid5 in this space


@dataclass(frozen=True)
class LangfusePromptReport:
    host: str
    metric: str
    version: int  # the metric's version in rubricate
    prompt_name: str
    prompt_type: str
    label: str
    langfuse_version: int  # the prompt's version in Langfuse
    created: bool  # False: the labelled version held this prompt already


@dataclass(frozen=True)
class LangfuseScoresReport:
    host: str
    evaluation: str
    metric: str
    version: int
    score_name: str
    pushed: int
    skipped_not_langfuse: int  # results of rows that did not come from a Langfuse trace
    skipped_errors: int  # results without a score (a judge that failed)


def prompt_body(
    rb: Rubricate,
    ref: str,
    *,
    label: str,
    prompt_type: str,
    fields: Sequence[str] | None,
    name: str | None,
) -> tuple[dict[str, Any], MetricVersion]:
    """The create-prompt request for a metric version: the Langfuse layout of
    `rubricate align export-prompt` (its variables are Langfuse's ``{{input}}``), as one
    text or as the judge's two chat messages."""
    if prompt_type not in PROMPT_TYPES:
        raise InvalidInput(
            f"unknown prompt type {prompt_type!r}: use text or chat", field="prompt_type"
        )
    if not label.strip():
        raise InvalidInput("the label must not be empty", field="label")
    version = rb.metrics.version(ref)
    body: dict[str, Any] = json.loads(rb.reviews.export_prompt(ref, "langfuse", fields=fields))
    if prompt_type == "text":
        messages = body["prompt"]
        body["type"] = "text"
        body["prompt"] = "\n\n".join(m["content"] for m in messages if m["content"].strip())
    if name is not None:
        body["name"] = name
    body["labels"] = [label.strip()]
    body["config"]["rubricate"]["exported_by"] = f"rubricate {_package_version()}"
    return body, version


def create_prompt(client: LangfuseClient, body: dict[str, Any], version: int) -> tuple[int, bool]:
    """The Langfuse version holding ``body`` under its label, and whether it was created."""
    path = f"{PROMPTS}/{quote(body['name'], safe='')}"
    try:
        current = client.get(path, {"label": body["labels"][0]})
    except LangfuseNotFound:
        current = None
    if isinstance(current, dict) and _same_prompt(current, body, version):
        return int(current["version"]), False
    created = client.post(PROMPTS, body)
    number = created.get("version") if isinstance(created, dict) else None
    if not isinstance(number, int):
        raise InvalidInput(f"Langfuse at {client.host} created the prompt without a version")
    return number, True


def _same_prompt(current: dict[str, Any], body: dict[str, Any], version: int) -> bool:
    config = current.get("config")
    mine = config.get("rubricate") if isinstance(config, dict) else None
    return (
        current.get("type", "text") == body["type"]
        and current.get("prompt") == body["prompt"]
        and isinstance(mine, dict)
        and mine.get("version") == version
    )


# -- judge scores -----------------------------------------------------------------------------


def score_bodies(
    rb: Rubricate, evaluation: str, ref: str, score_name: str
) -> tuple[list[dict[str, Any]], MetricVersion, int, int]:
    """The create-score requests for the judge results of one metric version in an
    evaluation, with what was skipped: results of rows not from a Langfuse trace, results
    without a score."""
    metric, version = version_to_send(rb, ref, "Langfuse", "push the results")
    bodies: list[dict[str, Any]] = []
    not_langfuse = errors = 0
    with rb.db.read() as session:
        record = find_evaluation(session, evaluation)
        traces = _trace_ids(session, record.id)
        for found in judge_results(session, record.id, metric):
            if found.version != version.number:
                continue
            trace = traces.get(found.row)
            if trace is None:
                not_langfuse += 1
            elif found.score is None:
                errors += 1
            else:
                bodies.append(_score(found, trace, metric, version, score_name, evaluation))
    if not bodies and not not_langfuse and not errors:
        raise not_scored(evaluation, metric, version.number, "judge results")
    return bodies, version, not_langfuse, errors


def _trace_ids(session: Any, evaluation_id: int) -> dict[str, str]:
    """The Langfuse trace of each row that came from one, by the row's id."""
    traces: dict[str, str] = {}
    offset = 0
    while rows := rows_in_order(session, evaluation_id, offset, ROWS_A_READ):
        for row in rows:
            if trace := source_trace(row.metadata, "langfuse"):
                traces[row.external_id] = trace
        offset += len(rows)
    return traces


def _score(
    found: Any, trace: str, metric: str, version: MetricVersion, name: str, evaluation: str
) -> dict[str, Any]:
    model = found.model or ""
    key = f"{metric}\x1f{version.number}\x1f{model}\x1f{name}\x1f{trace}"
    body: dict[str, Any] = {
        "id": str(uuid.uuid5(ID_SPACE, key)),
        "traceId": trace,
        "name": name,
        **_value(version.scale, found.score),
        "metadata": {
            "rubricate_metric": metric, "rubricate_version": version.number,
            "rubricate_model": found.model, "rubricate_evaluation": evaluation,
        },
    }  # fmt: skip
    if found.rationale:
        body["comment"] = found.rationale
    return body


def _value(scale: Scale, score: float) -> dict[str, Any]:
    """The score as Langfuse types it: a labels scale of False/True is BOOLEAN (0 or 1),
    other labels CATEGORICAL (the label), numbers NUMERIC."""
    if scale.type != "labels":
        return {"value": score, "dataType": NUMERIC}
    named = {value: label.casefold() for value, label in scale.labels.items()}
    if named == {v: label.casefold() for v, label in BOOLEAN_LABELS.items()}:
        return {"value": score, "dataType": BOOLEAN}
    return {"value": scale.labels[score], "dataType": CATEGORICAL}


def push_scores(client: LangfuseClient, bodies: list[dict[str, Any]], progress: Progress) -> int:
    progress("push", 0, len(bodies))
    for body in bodies:
        client.post(SCORES, body)
        progress("push", 1, None)
    return len(bodies)


def _package_version() -> str:
    try:
        return metadata.version("rubricate")
    except metadata.PackageNotFoundError:  # run from a source tree
        return "unknown"
