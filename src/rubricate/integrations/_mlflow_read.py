"""What an import from MLflow brings, read whole before anything is written: the
experiment's traces (paged), each one a row (the root span's inputs and outputs as text, a
RETRIEVER span's documents as the context, an expectation as the expected answer), and the
feedback named after the judge: a HUMAN source's an annotation, an LLM_JUDGE's a judge
result. mlflow is imported by the caller (integrations/mlflow.py), never at module load;
its objects are ``Any`` here, read by attribute."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale
from rubricate.integrations._common import Progress
from rubricate.integrations._import_write import ConnectorPlan, validated
from rubricate.integrations._langfuse_models import as_text
from rubricate.io.records import FlatAnnotation, FlatJudgeResult, FlatRow

PAGE_SIZE = 100  # traces a search_traces call returns
REVIEWER = "mlflow"  # an annotation's reviewer when the source names none
HUMAN, JUDGES = "HUMAN", ("LLM_JUDGE", "AI_JUDGE")
YES_NO = {0.0: "no", 1.0: "yes"}  # MLflow's built-in judges answer yes or no
BOOLEAN_LABELS = {0.0: "False", 1.0: "True"}
NAMES_LISTED = 30  # names an error lists

# Why an assessment or a trace was not imported, as the summary says it.
NO_TEXT = "on a trace without an input or an output"
TRACE_NO_TEXT = "without an input or an output in its root span"
NOT_JUDGED = "from another source than HUMAN or LLM_JUDGE (code)"
FAILED = "that failed (an error, no value)"
OVERRIDDEN = "overridden by a later assessment (valid: false)"
SUPERSEDED = "older than another of the same reviewer or judge on the trace"
NO_VALUE = "whose value is not a number, true/false or a label"
ON_SPAN = "on a span, not the whole trace"


@dataclass(frozen=True)
class MlflowRequest:
    evaluation: str
    experiment_id: str
    experiment_name: str
    judge: str | None
    metric: str
    expectation: str
    since: datetime | None


@dataclass(frozen=True)
class Assessment:
    """What the import keeps of one MLflow feedback."""

    id: str
    trace_id: str
    source_type: str
    source_id: str
    score: float | None
    label: str | None
    rationale: str | None
    updated_ms: int
    boolean: bool = False  # given as true/false (score 1 or 0)


@dataclass
class MlflowPlan(ConnectorPlan[Assessment]):
    traces_read: int = 0
    traces_skipped: Counter[str] = field(default_factory=Counter)
    feedback_names: Counter[str] = field(default_factory=Counter)


@dataclass
class Read:
    """The traces read: rows by trace id, in the traces' order, and the judge's feedback."""

    rows: dict[str, FlatRow] = field(default_factory=dict)
    feedback: list[tuple[Assessment, str]] = field(default_factory=list)  # (item, skip reason)
    names: Counter[str] = field(default_factory=Counter)
    traces: int = 0
    unusable: dict[str, str] = field(default_factory=dict)


def find_experiment(client: Any, given: str) -> tuple[str, str]:
    """The experiment's id and name, by its name or its id; an unknown one lists those
    that exist."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(given)
    if found is None and given.isdigit():
        try:
            found = client.get_experiment(given)
        except MlflowException:
            found = None
    if found is None:
        names = sorted(e.name for e in client.search_experiments(max_results=NAMES_LISTED))
        raise InvalidInput(
            f"MLflow has no experiment named or numbered {given!r}: the experiments it has "
            f"are {', '.join(names) or 'none'}; names are case-sensitive",
            field="experiment",
        )
    return str(found.experiment_id), str(found.name)


def read_traces(client: Any, request: MlflowRequest, progress: Progress, page_size: int) -> Read:
    """Every trace of the experiment (since ``request.since``), page by page, oldest first."""
    read = Read()
    where = None
    if request.since is not None:
        where = f"trace.timestamp_ms >= {int(request.since.timestamp() * 1000)}"
    token: str | None = None
    progress("traces", 0, None)
    while True:
        page = client.search_traces(
            locations=[request.experiment_id], filter_string=where, max_results=page_size,
            order_by=["timestamp_ms ASC"], page_token=token,
        )  # fmt: skip
        for trace in page:
            _take(read, trace, request)
        progress("traces", len(page), None)
        token = page.token
        if not token:
            return read


def read_given(traces: Iterable[Any], request: MlflowRequest) -> Read:
    """Traces already in hand (those ``judge.align`` is given), each once, in their order."""
    read = Read()
    seen: set[str] = set()
    for trace in traces:
        info = getattr(trace, "info", None)
        if info is None or not hasattr(trace, "data"):
            raise InvalidInput(
                f"expected MLflow traces (mlflow.entities.Trace), not {type(trace).__name__}: "
                "pass mlflow.search_traces(..., return_type='list')",
                field="traces",
            )
        if str(info.trace_id) not in seen:
            seen.add(str(info.trace_id))
            _take(read, trace, request)
    return read


def _take(read: Read, trace: Any, request: MlflowRequest) -> None:
    info = trace.info
    trace_id = str(info.trace_id)
    read.traces += 1
    assessments = list(info.assessments or [])
    spans = list(trace.data.spans) if trace.data is not None else []
    root = next((s.span_id for s in spans if s.parent_id is None), None)
    for item in assessments:
        if getattr(item, "feedback", None) is not None:
            read.names[str(item.name)] += 1
            if item.name == request.judge:
                found, reason = _feedback(item, trace_id)
                if not reason and item.span_id and item.span_id != root:
                    reason = ON_SPAN  # a row is the whole trace
                read.feedback.append((found, reason))
    row = _row(trace, trace_id, assessments, request.expectation)
    if row is None:
        read.unusable[trace_id] = NO_TEXT
    else:
        read.rows[trace_id] = row


def _feedback(item: Any, trace_id: str) -> tuple[Assessment, str]:
    source = item.source
    kind = str(getattr(source, "source_type", "") or "")
    value = item.feedback.value
    score, label = _value(value)
    found = Assessment(
        id=str(item.assessment_id), trace_id=trace_id, source_type=kind,
        source_id=str(getattr(source, "source_id", "") or ""), score=score, label=label,
        rationale=item.rationale or None, updated_ms=int(item.last_update_time_ms or 0),
        boolean=isinstance(value, bool),
    )  # fmt: skip
    if item.valid is False:
        return found, OVERRIDDEN
    if item.feedback.error is not None or value is None:
        return found, FAILED
    if kind != HUMAN and kind not in JUDGES:
        return found, NOT_JUDGED
    if score is None and label is None:
        return found, NO_VALUE
    return found, ""


def _value(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, bool):
        return (1.0 if value else 0.0), None
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str) and value.strip():
        return None, value.strip()
    return None, None


def _row(trace: Any, trace_id: str, assessments: list[Any], expectation: str) -> FlatRow | None:
    spans = list(trace.data.spans) if trace.data is not None else []
    root = next((s for s in spans if s.parent_id is None), None)
    if root is None:
        return None
    given, answer = as_text(root.inputs), as_text(root.outputs)
    if given is None or answer is None:
        return None
    fields: dict[str, Any] = {"id": trace_id, "input": given, "output": answer,
                              "metadata": _metadata(trace, root)}  # fmt: skip
    documents = [_documents(s.outputs) for s in spans if str(s.span_type) == "RETRIEVER"]
    context = "\n\n".join(d for d in documents if d)
    if context:
        fields["context"] = context
    expected = _expected(assessments, expectation)
    if expected is not None:
        fields["expected"] = expected
    return validated(FlatRow, fields, f"MLflow trace {trace_id}")


def _documents(outputs: Any) -> str | None:
    """A retriever's documents (``page_content`` each, as MLflow's Document has it)."""
    if isinstance(outputs, list) and all(isinstance(d, dict) for d in outputs):
        texts = [str(d.get("page_content") or d.get("content") or "") for d in outputs]
        if any(texts):
            return "\n\n".join(t for t in texts if t)
    return as_text(outputs)


def _expected(assessments: list[Any], name: str) -> str | None:
    """The latest valid expectation named ``name`` as text."""
    found = [
        a for a in assessments
        if getattr(a, "expectation", None) is not None and a.name == name and a.valid is not False
    ]  # fmt: skip
    if not found:
        return None
    latest = max(found, key=lambda a: (a.last_update_time_ms or 0, a.assessment_id))
    return as_text(latest.expectation.value)


def _metadata(trace: Any, root: Any) -> dict[str, Any]:
    info = trace.info
    tags = {k: v for k, v in (info.tags or {}).items() if not k.startswith("mlflow.")}
    own = {k: v for k, v in (info.trace_metadata or {}).items() if not k.startswith("mlflow.")}
    when = datetime.fromtimestamp(info.request_time / 1000, UTC) if info.request_time else None
    mlflow = {
        "trace_id": info.trace_id, "name": (info.tags or {}).get("mlflow.traceName", root.name),
        "state": str(getattr(info.state, "value", info.state)),
        "timestamp": when.isoformat() if when else None,
    }  # fmt: skip
    found: dict[str, Any] = {"mlflow": {k: v for k, v in mlflow.items() if v is not None}}
    if tags:
        found["tags"] = tags
    if own:
        found["trace_metadata"] = own
    return found


# -- the judge's feedback ---------------------------------------------------------------------


def check_judge(request: MlflowRequest, read: Read) -> None:
    """A judge name no feedback carries lists the names the traces have."""
    if request.judge is None or request.judge in read.names:
        return
    names = ", ".join(n for n, _ in sorted(read.names.items())[:NAMES_LISTED]) or "none"
    raise InvalidInput(
        f"no trace of the MLflow experiment {request.experiment_name!r} has feedback named "
        f"{request.judge!r}: the feedback names its traces have are {names}; names are "
        "case-sensitive",
        field="judge",
    )


def infer_scale(read: Read, request: MlflowRequest) -> tuple[Scale, str]:
    """The scale of a metric this import creates, from the feedback values (MLflow keeps
    no scale): true/false, yes/no or pass/fail as labels; whole numbers within 1–5 as 1–5,
    else from the lowest to the highest; fractions within 0–1 as 0–1."""
    usable = [a for a, reason in read.feedback if not reason]
    labels = {a.label.casefold() for a in usable if a.label is not None}
    numbers = [a.score for a in usable if a.score is not None]
    description = f"Imported from the MLflow feedback {request.judge!r}."
    if usable and all(a.boolean for a in usable):
        return Scale(type="labels", labels=BOOLEAN_LABELS), description
    if labels and not numbers:
        for named in (YES_NO, {0.0: "fail", 1.0: "pass"}, BOOLEAN_LABELS):
            if labels <= {n.casefold() for n in named.values()}:
                return Scale(type="labels", labels=named), description
    elif numbers and not labels:
        low, high = min(numbers), max(numbers)
        if all(n.is_integer() for n in numbers):
            low, high = (1.0, 5.0) if low >= 1 and high <= 5 else (low, high)
            if high > low and high - low < 100:
                return Scale(type="ordinal", min=low, max=high), description
        elif low >= 0 and high <= 1:
            return Scale(type="interval", min=0, max=1), description
        elif high > low:
            return Scale(type="interval", min=low, max=high), description
    raise InvalidInput(
        f"there is no metric {request.metric!r} and the feedback {request.judge!r} does not "
        "tell its scale (MLflow keeps none): create the metric first (rubricate metrics create "
        f"{request.metric} --scale 1-5 --prompt-file PROMPT), or store the feedback under an "
        "existing metric with --metric",
        field="metric",
    )


def fill_plan(plan: MlflowPlan, read: Read, request: MlflowRequest, known: set[str]) -> None:
    """Rows for the traces the evaluation lacks; annotations and judge results of the
    judge's feedback, the newest of each reviewer (or judge) on a trace."""
    plan.rows = [row for trace_id, row in read.rows.items() if trace_id not in known]
    plan.known = [trace_id for trace_id in read.rows if trace_id in known]
    plan.traces_read, plan.feedback_names = read.traces, read.names
    plan.traces_skipped = Counter(TRACE_NO_TEXT for _ in read.unusable)
    latest: dict[tuple[str, str, str], Assessment] = {}
    for item, reason in read.feedback:
        if reason:
            plan.skipped[reason] += 1
            continue
        key = (item.trace_id, "human" if item.source_type == HUMAN else "judge", item.source_id)
        old = latest.get(key)
        if old is not None:
            plan.skipped[SUPERSEDED] += 1
            if (old.updated_ms, old.id) > (item.updated_ms, item.id):
                continue
        latest[key] = item
    for item in latest.values():
        common = {"row_id": item.trace_id, "metric": request.metric, "score": item.score,
                  "label": item.label}  # fmt: skip
        if item.source_type == HUMAN:
            fields = common | {"annotator": item.source_id or REVIEWER, "comment": item.rationale}
            plan.annotations.append(
                (item, validated(FlatAnnotation, fields, assessment_place(item)))
            )
        else:
            fields = common | {"rationale": item.rationale, "model": item.source_id or None}
            plan.judged.append((item, validated(FlatJudgeResult, fields, assessment_place(item))))
    plan.drop(read.unusable)


def assessment_place(item: Assessment) -> str:
    return f"MLflow assessment {item.id} (trace {item.trace_id})"
