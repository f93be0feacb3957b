"""Judge scores back to MLflow: each row that came from an MLflow trace and has a score of
the metric version (its newest scored result, store.latest_scores) becomes a Feedback
assessment on that trace, named after the metric, from an LLM_JUDGE source (the judge
model), with the rationale and the metric, version and evaluation run in its metadata.

Safe to repeat: rubricate's newest feedback of the same name, metric and version on a trace
(the one still valid first) holding the same value leaves the trace unchanged; another
value is logged as a new feedback that overrides it (MLflow's ``overrides``, as
``mlflow.override_feedback`` does: the earlier one stays, marked not valid). Feedback of
another version, or from anyone else, is never touched. mlflow is imported by the caller
(integrations/mlflow.py) or inside the functions here, never at module load; its objects
are ``Any`` here, read by attribute."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import MetricVersion
from rubricate.domain.scale import Scale
from rubricate.integrations._common import Progress, not_scored, source_trace, version_to_send
from rubricate.store.evaluations import find_evaluation, row_count
from rubricate.store.latest_scores import RowScore, row_scores
from rubricate.store.version_comparison import scored_counts

if TYPE_CHECKING:
    from rubricate.service.workspace import Rubricate

PAGE_SIZE = 500  # rows read from the database at a time
METRIC_KEY, VERSION_KEY, RUN_KEY = "rubricate_metric", "rubricate_version", "rubricate_run"
JUDGE = "LLM_JUDGE"
NO_MODEL = "rubricate"  # the source id of a result that names no model
MISSING = "RESOURCE_DOES_NOT_EXIST"  # MLflow's error code for a trace it does not have
Value = bool | int | float | str


@dataclass
class MlflowScoresReport:
    tracking_uri: str
    evaluation: str
    metric: str
    version: int
    assessment_name: str
    dry_run: bool = False
    logged: int = 0  # new feedback (or, in a dry run, what would be logged)
    overriding: int = 0  # of those, how many override rubricate's earlier one of the version
    unchanged: int = 0  # the trace holds rubricate's feedback of the version with this value
    skipped_not_mlflow: int = 0  # rows that did not come from an MLflow trace
    skipped_no_score: int = 0  # rows from a trace without a score of the version
    traces_missing: int = 0  # rows whose trace this MLflow does not have


@dataclass(frozen=True)
class ScoreTarget:
    """What is sent: one metric version's scores on one evaluation, under one name."""

    evaluation: str
    evaluation_id: int
    rows: int
    metric: str
    version: MetricVersion
    name: str  # the assessment's name in MLflow


def score_target(
    rb: Rubricate, evaluation: str, ref: str, assessment_name: str | None
) -> ScoreTarget:
    """The version ``ref`` names (``NAME`` for the active one, ``NAME@N``) on ``evaluation``,
    checked before MLflow is reached: not an imported version, scored on some row."""
    metric, version = version_to_send(rb, ref, "MLflow", "log the scores")
    name = metric if assessment_name is None else assessment_name.strip()
    if not name:
        raise InvalidInput("the assessment name must not be empty", field="assessment_name")
    with rb.db.read() as session:
        record = find_evaluation(session, evaluation)
        scored, _ = scored_counts(session, record.id, version.metric_id, version.id)
        rows = row_count(session, record.id)
    if not scored:
        raise not_scored(evaluation, metric, version.number, "judge scores")
    return ScoreTarget(evaluation, record.id, rows, metric, version, name)


def send_scores(
    rb: Rubricate,
    client: Any,
    target: ScoreTarget,
    report: MlflowScoresReport,
    progress: Progress,
    page_size: int = PAGE_SIZE,
) -> MlflowScoresReport:
    """Every row of the evaluation, a page at a time (no database transaction stays open
    while MLflow is called), through ``client`` (MLflow's TracingClient)."""
    progress("rows", 0, target.rows)
    after: tuple[int, int] | None = None
    while True:
        with rb.db.read() as session:
            page = row_scores(session, target.evaluation_id, target.version.id, after,
                              page_size)  # fmt: skip
        if not page:
            return report
        for row in page:
            _send(client, target, row, report)
        progress("rows", len(page), None)
        after = (page[-1].position, page[-1].row_id)


def _send(client: Any, target: ScoreTarget, row: RowScore, report: MlflowScoresReport) -> None:
    from mlflow.entities import AssessmentSource, Feedback
    from mlflow.exceptions import MlflowException

    trace_id = source_trace(row.metadata, "mlflow")
    if trace_id is None:
        report.skipped_not_mlflow += 1
        return
    if row.score is None:
        report.skipped_no_score += 1
        return
    try:
        info = client.get_trace_info(trace_id)
    except MlflowException as exc:
        if exc.error_code != MISSING:
            raise
        report.traces_missing += 1
        return
    value = assessment_value(target.version.scale, row.score)
    earlier = rubricates(info.assessments or [], target)
    if earlier is not None and same_value(earlier.feedback.value, value):
        report.unchanged += 1
        return
    report.logged += 1
    if earlier is not None:
        report.overriding += 1
    if report.dry_run:
        return
    feedback = Feedback(
        name=target.name, value=value, rationale=row.rationale or None,
        source=AssessmentSource(source_type=JUDGE, source_id=row.model or NO_MODEL),
        metadata={METRIC_KEY: target.metric, VERSION_KEY: str(target.version.number),
                  RUN_KEY: row.run_id or ""},
        overrides=earlier.assessment_id if earlier is not None else None,
    )  # fmt: skip
    client.log_assessment(trace_id, feedback)


def rubricates(assessments: list[Any], target: ScoreTarget) -> Any | None:
    """rubricate's newest feedback of the target's name, metric and version on a trace,
    one still valid first (a person may have overridden rubricate's in MLflow)."""
    version = str(target.version.number)
    mine = [
        a for a in assessments
        if getattr(a, "feedback", None) is not None and a.name == target.name
        and (a.metadata or {}).get(METRIC_KEY) == target.metric
        and (a.metadata or {}).get(VERSION_KEY) == version
    ]  # fmt: skip
    return max(mine, key=lambda a: (a.valid is not False, a.create_time_ms or 0), default=None)


def assessment_value(scale: Scale, score: float) -> Value:
    """A score as MLflow's feedback holds it: a label's text (true/false labels as a
    boolean, as MLflow's own judges give them), a whole number on an ordinal scale as an
    integer, else the number."""
    if scale.type == "labels":
        if {label.casefold() for label in scale.labels.values()} == {"false", "true"}:
            return scale.labels.get(score, "").casefold() == "true"
        return scale.labels.get(score, f"{score:g}")
    if scale.type == "ordinal" and score.is_integer():
        return int(score)
    return score


def same_value(given: Any, wanted: Value) -> bool:
    """Equal as MLflow's feedback values (True is not 1 here, nor "4" 4)."""
    if isinstance(given, bool) or isinstance(wanted, bool):
        return isinstance(given, bool) and isinstance(wanted, bool) and given == wanted
    if isinstance(given, str) or isinstance(wanted, str):
        return bool(given == wanted)
    return isinstance(given, int | float) and float(given) == float(wanted)
