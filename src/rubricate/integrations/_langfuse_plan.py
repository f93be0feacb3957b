"""What an import from Langfuse brings, read whole before anything is written: the scores
named by --score and --judge-score in the time window (paged), which of them become
annotations and which judge results, the scale, and the traces not yet in the evaluation.

Which score becomes what:

- a score that rubricate's own export pushed (``metadata.rubricate_metric``): a judge
  result, pinned to the version it names;
- a score named by --judge-score (default: the --score name) from an EVAL source (Langfuse's
  LLM-as-a-judge), or from the API when --judge-score names another score than --score: a
  judge result;
- a score named by --score from an ANNOTATION (Langfuse's annotation UI) or API source: an
  annotation by its author (``authorUserId``, else ``langfuse``), its comment kept;
- anything else is skipped and counted, as are scores of an observation or a session (rows
  are traces) and the older of two scores one reviewer (or judge) gave a trace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.scale import Scale
from rubricate.integrations._common import Progress
from rubricate.integrations._import_write import ConnectorPlan, validated
from rubricate.integrations._langfuse_http import LangfuseClient, LangfuseNotFound
from rubricate.integrations._langfuse_models import (
    ANNOTATION,
    API,
    BOOLEAN,
    BOOLEAN_LABELS,
    CATEGORICAL,
    EVAL,
    LfConfig,
    LfScore,
    LfTrace,
    as_text,
    config_scale,
    parse,
    trace_metadata,
)
from rubricate.io.records import FlatAnnotation, FlatJudgeResult, FlatRow

SCORES = "/api/public/v2/scores"
CONFIGS = "/api/public/score-configs"
TRACE = "/api/public/traces/{}"
REVIEWER = "langfuse"  # an annotation's reviewer when Langfuse names no author
NAMES_SAMPLE = 100  # recent scores read for the names an unknown score name lists

# Why a score read was not imported, as the summary says it.
NOT_ON_TRACE = "not on a trace (a session's or a dataset run's)"
ON_OBSERVATION = "on an observation, not a whole trace"
SUPERSEDED = "older than another score of the same reviewer or judge on the trace"
NO_TEXT = "on a trace without an input or an output"
GONE = "on a trace Langfuse no longer has"


@dataclass(frozen=True)
class ImportRequest:
    evaluation: str
    score: str
    judge_score: str
    metric: str
    start: datetime | None
    end: datetime


@dataclass
class Plan(ConnectorPlan[LfScore]):
    scores_read: int = 0
    traces_fetched: int = 0


def parse_time(value: str | datetime | None, option: str) -> datetime | None:
    """An ISO 8601 date or time (``2025-05-01``, ``2025-05-01T12:00Z``); UTC when no zone."""
    if value is None or isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(
                f"{value!r} is not an ISO 8601 date or time (2025-05-01, 2025-05-01T12:00Z)",
                field=option,
            ) from None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- scores -----------------------------------------------------------------------------------


def read_scores(
    client: LangfuseClient, request: ImportRequest, progress: Progress
) -> list[LfScore]:
    """The scores named by --score and --judge-score in the window, each once (a page may
    repeat an item when scores arrive while paging)."""
    found: dict[str, LfScore] = {}
    before = 0  # the scores of the names read already, for the bar's total
    for name in dict.fromkeys((request.score, request.judge_score)):
        params: dict[str, Any] = {"name": name, "toTimestamp": wire_time(request.end)}
        if request.start is not None:
            params["fromTimestamp"] = wire_time(request.start)
        count = 0

        def page(items: int, total: int, before: int = before) -> None:
            progress("scores", items, before + total)

        for item in client.pages(SCORES, params, page):
            score: LfScore = parse(LfScore, item, f"Langfuse score {item.get('id', '?')}")
            if score.name == name:  # a server that ignored the filter
                found.setdefault(score.id, score)
                count += 1
        if count == 0:
            _check_known(client, name)
        before += count
    return list(found.values())


def _check_known(client: LangfuseClient, name: str) -> None:
    """No score of ``name`` in the window: fine if Langfuse has some outside it; else the
    name is wrong, and the error lists the names it has."""
    probe = client.get(SCORES, {"name": name, "page": 1, "limit": 1})
    meta = probe.get("meta") if isinstance(probe, dict) else None
    if isinstance(meta, dict) and meta.get("totalItems"):
        return
    recent = client.get(SCORES, {"page": 1, "limit": NAMES_SAMPLE})
    names = {s.get("name") for s in recent.get("data", []) if isinstance(s, dict)}
    names |= {c.name for c in read_configs(client)}
    known = ", ".join(sorted(n for n in names if isinstance(n, str) and n)) or "none"
    raise NotFound(
        f"Langfuse at {client.host} has no scores named {name!r}: the score names it has "
        f"are {known} (from its score configs and latest {NAMES_SAMPLE} scores); names are "
        "case-sensitive"
    )


def read_configs(client: LangfuseClient) -> list[LfConfig]:
    return [parse(LfConfig, c, "Langfuse score config") for c in client.pages(CONFIGS, {})]


def kind_of(score: LfScore, request: ImportRequest) -> str:
    """``annotation``, ``judge`` or the reason the score is skipped."""
    if score.trace_id is None:
        return NOT_ON_TRACE
    if score.observation_id:
        return ON_OBSERVATION
    if score.rubricate:
        return "judge"
    if score.name == request.judge_score and (
        score.source == EVAL or (score.source == API and request.judge_score != request.score)
    ):
        return "judge"
    if score.name == request.score and score.source in (ANNOTATION, API):
        return "annotation"
    if score.name == request.score and score.source == EVAL:
        return (
            f"from an evaluator named {score.name!r} (--judge-score reads {request.judge_score!r})"
        )
    if score.name == request.judge_score and score.source == ANNOTATION:
        return f"from reviewers named {score.name!r} (--score reads {request.score!r})"
    return f"of source {score.source} named {score.name!r}"


def latest(
    scores: Iterable[LfScore], key: Callable[[LfScore], object], skipped: Counter[str]
) -> list[LfScore]:
    """The newest score for each key; the older ones are counted as superseded."""
    kept: dict[Any, LfScore] = {}
    for score in scores:
        old = kept.get(key(score))
        if old is not None:
            skipped[SUPERSEDED] += 1
            if (old.timestamp, old.id) > (score.timestamp, score.id):
                continue
        kept[key(score)] = score
    return list(kept.values())


def reviewer(score: LfScore) -> str:
    return score.author_user_id or REVIEWER


def judge_model(score: LfScore) -> str | None:
    found = score.metadata if isinstance(score.metadata, dict) else {}
    model = found.get("rubricate_model", found.get("model"))
    return model if isinstance(model, str) and model else None


def pinned_version(score: LfScore, metric: str) -> int | None:
    """The metric version rubricate's export named, when it exported this metric."""
    mine = score.rubricate
    version = mine.get("rubricate_version")
    if mine.get("rubricate_metric") == metric and isinstance(version, int) and version > 0:
        return version
    return None


# -- the scale --------------------------------------------------------------------------------


def scale_from_langfuse(
    client: LangfuseClient, request: ImportRequest, scores: list[LfScore]
) -> tuple[Scale, str]:
    """The scale (and description) of a metric this import creates: the score config the
    scores link (``configId``), else the one named like the score; a boolean score needs
    none."""
    configs = read_configs(client)
    linked = Counter(s.config_id for s in scores if s.config_id)
    by_id = {c.id: c for c in configs}
    config = next((by_id[i] for i, _ in linked.most_common() if i in by_id), None)
    if config is None:
        named = [c for c in configs if c.name == request.score]
        config = min(named, key=lambda c: c.is_archived, default=None)
    values = [s.value for s in scores if s.value is not None]
    if config is not None:
        description = config.description or f"Imported from the Langfuse score {config.name!r}."
        return config_scale(config, values), description
    if scores and all(s.data_type == BOOLEAN for s in scores):
        return Scale(type="labels", labels=BOOLEAN_LABELS), ""
    raise InvalidInput(
        f"there is no metric {request.metric!r} and Langfuse has no score config for "
        f"{request.score!r} to take its scale from: create the metric first (rubricate "
        f"metrics create {request.metric} --scale 1-5 --prompt-file PROMPT), give the score "
        "a score config in Langfuse, or store the scores under an existing metric with --metric",
        field="metric",
    )


def score_value(score: LfScore, scale: Scale) -> tuple[float | None, str | None]:
    """The score, or its label: a category is matched by its label when the scale has it
    (the numbers of two tools' categories may differ), else by its number."""
    label = score.string_value
    if score.data_type == CATEGORICAL and label is not None:
        wanted = label.strip().casefold()
        if any(name.casefold() == wanted for name in scale.labels.values()):
            return None, label
        return (score.value, None) if score.value is not None else (None, label)
    if score.value is None:
        return None, label
    return score.value, None


# -- records ----------------------------------------------------------------------------------


def records(plan: Plan, scores: list[LfScore], request: ImportRequest) -> None:
    """The annotations and judge results the scores give, newest of each key only."""
    sorted_scores: dict[str, list[LfScore]] = {"annotation": [], "judge": []}
    for score in scores:
        kind = kind_of(score, request)
        if kind in sorted_scores:
            sorted_scores[kind].append(score)
        else:
            plan.skipped[kind] += 1
    ann = latest(sorted_scores["annotation"], lambda s: (s.trace_id, reviewer(s)), plan.skipped)
    judged = latest(
        sorted_scores["judge"],
        lambda s: (s.trace_id, judge_model(s), pinned_version(s, request.metric)),
        plan.skipped,
    )
    for score in ann:
        value, label = score_value(score, plan.scale)
        fields = {"row_id": score.trace_id, "metric": request.metric, "annotator": reviewer(score),
                  "score": value, "label": label, "comment": score.comment}  # fmt: skip
        plan.annotations.append((score, validated(FlatAnnotation, fields, score_place(score))))
    for score in judged:
        value, label = score_value(score, plan.scale)
        fields = {"row_id": score.trace_id, "metric": request.metric, "score": value,
                  "label": label, "rationale": score.comment, "model": judge_model(score),
                  "metric_version": pinned_version(score, request.metric)}  # fmt: skip
        plan.judged.append((score, validated(FlatJudgeResult, fields, score_place(score))))


def score_place(score: LfScore) -> str:
    return f"Langfuse score {score.id} (trace {score.trace_id})"


# -- traces -----------------------------------------------------------------------------------


def read_traces(client: LangfuseClient, plan: Plan, known: set[str], progress: Progress) -> None:
    """Fetch the traces the scores name that the evaluation lacks; scores of traces without
    an input and an output, or gone from Langfuse, are skipped and counted."""
    wanted = plan.trace_ids()
    missing = [trace_id for trace_id in wanted if trace_id not in known]
    plan.known = [trace_id for trace_id in wanted if trace_id in known]
    fetched: list[tuple[LfTrace, FlatRow]] = []
    unusable: dict[str, str] = {}
    progress("traces", 0, len(missing))
    for trace_id in missing:
        try:
            found = client.get(TRACE.format(_segment(trace_id)))
        except LangfuseNotFound:
            unusable[trace_id] = GONE
        else:
            trace: LfTrace = parse(LfTrace, found, f"Langfuse trace {trace_id}")
            row = _row(trace, trace_id)
            if row is None:
                unusable[trace_id] = NO_TEXT
            else:
                fetched.append((trace, row))
        plan.traces_fetched += 1
        progress("traces", 1, None)
    # rows in the order the traces happened, as a trace viewer lists them
    fetched.sort(key=lambda pair: pair[0].timestamp or datetime.min.replace(tzinfo=UTC))
    plan.rows = [row for _, row in fetched]
    plan.drop(unusable)


def _row(trace: LfTrace, trace_id: str) -> FlatRow | None:
    given, answer = as_text(trace.input), as_text(trace.output)
    if given is None or answer is None:
        return None
    fields = {"id": trace_id, "input": given, "output": answer, "metadata": trace_metadata(trace)}
    return validated(FlatRow, fields, f"Langfuse trace {trace_id}")


def _segment(text: str) -> str:
    return quote(text, safe="")  # an id is one path segment, whatever it holds
