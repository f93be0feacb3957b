"""What every connector's import shares: the plan read whole before anything is written
(rows for the traces the evaluation lacks, the annotations and judge results each source
item gives), and its writing through the import every layout uses (service/importing.py:
one transaction, all or nothing, a dry run rolled back). A score stored by an earlier
import that the source now gives with another value or comment is handed to the
connector's ``changed`` (reported), never overwritten."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.domain.scale import Scale
from rubricate.io.places import Where
from rubricate.io.records import FlatAnnotation, FlatJudgeResult, FlatRow
from rubricate.scoring import imported_prompt
from rubricate.service.import_batches import BatchWriter, Item, RowRef, Target
from rubricate.service.importing import Importer, ImportReport, import_records
from rubricate.service.metrics import add_version
from rubricate.store.database import Database
from rubricate.store.evaluation_reads import annotations_of, judge_results_of
from rubricate.store.evaluations import evaluation_named
from rubricate.store.metrics import metric_named
from rubricate.store.tables import MetricRecord
from rubricate.util import batched

if TYPE_CHECKING:
    from rubricate.service.workspace import Rubricate

S = TypeVar("S")  # a connector's source item: a Langfuse score, an MLflow assessment
R = TypeVar("R", bound=ImportReport)  # a connector's report
ROWS_A_QUERY = 900  # row ids per lookup of stored scores
Stored = tuple[Any, Any]  # (score, comment or rationale) as stored
M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], fields: dict[str, Any], place: str) -> M:
    """A source item as an import record (unset fields left out), or an error naming
    the item (``place``) and the field."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field_name = ".".join(str(p) for p in first["loc"]) or None
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(message, file=place, field=field_name) from None


def existing_scale(rb: Rubricate, metric: str) -> Scale | None:
    """The active version's scale of the metric, when there is one."""
    try:
        return rb.metrics.version(metric).scale
    except NotFound:
        return None


@dataclass
class ConnectorPlan(Generic[S]):
    scale: Scale
    create_metric: bool
    description: str  # of a metric created by this import
    rows: list[FlatRow] = field(default_factory=list)  # traces not yet in the evaluation
    known: list[str] = field(default_factory=list)  # traces already in it that scores name
    annotations: list[tuple[S, FlatAnnotation]] = field(default_factory=list)
    judged: list[tuple[S, FlatJudgeResult]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def trace_ids(self) -> list[str]:
        """The traces the annotations and judge results score, each once, in order."""
        found = [r.row_id for _, r in self.annotations] + [r.row_id for _, r in self.judged]
        return list(dict.fromkeys(found))

    def drop(self, unusable: dict[str, str]) -> None:
        """Leave out the scores of unusable traces, counting them by the reason."""
        for trace_id in [r.row_id for _, r in self.annotations] + [
            r.row_id for _, r in self.judged
        ]:
            if trace_id in unusable:
                self.skipped[unusable[trace_id]] += 1
        self.annotations = [(s, r) for s, r in self.annotations if r.row_id not in unusable]
        self.judged = [(s, r) for s, r in self.judged if r.row_id not in unusable]


class Change(NamedTuple):
    """A score stored by an earlier import that the source now gives otherwise: the fields
    a connector's report record of it has after the source item's id and trace."""

    kind: str  # annotation or judge result
    by: str  # the reviewer, or the judge's model ("" when none is known)
    stored: float | None
    given: float | None  # the source's, on the metric's scale
    comment_changed: bool


@dataclass(frozen=True, slots=True)
class SourcePlace(Where):
    """A source item in messages: its id and trace, no line."""

    def error(self, message: str, sub: str = "") -> InvalidInput:
        return InvalidInput(message, file=self.file, field=sub or None)


def known_rows(db: Database, evaluation: str, trace_ids: list[str]) -> set[str]:
    """The traces among ``trace_ids`` that the evaluation holds already."""
    with db.read() as session:
        record = evaluation_named(session, evaluation)
        if record is None or not trace_ids:
            return set()
        writer = BatchWriter(session, record.id, 0, ImportReport(evaluation))
        return set(writer.find_rows(trace_ids))


class PlanFiller(Generic[S, R]):
    """Writes a plan into the open import; a connector names its items (``place``) and
    reports a changed score (``changed``)."""

    source = "a connector"  # the "file" of the rows' error messages

    def __init__(
        self, importer: Importer, evaluation: str, metric: str, plan: ConnectorPlan[S], report: R
    ) -> None:
        self.importer, self.evaluation, self.metric, self.plan = importer, evaluation, metric, plan
        self.report = report
        self.session = importer.session
        self.writer = importer.writer

    def place(self, item: S) -> str:
        raise NotImplementedError

    def changed(self, item: S, change: Change) -> None:
        raise NotImplementedError

    def _changed(
        self, item: S, kind: str, by: str, old: Stored, value: float | None, comment: str | None
    ) -> None:
        self.changed(item, Change(kind, by, old[0], value, old[1] != comment))

    def run(self) -> None:
        report = self.report
        scored = self.plan.annotations or self.plan.judged or self.plan.create_metric
        target = self._target(report) if scored else None
        if self.plan.rows:
            self.writer.add_rows(self.source, list(enumerate(self.plan.rows, start=1)))
        report.rows_unchanged += len(self.plan.known)
        wanted = self.plan.trace_ids()
        refs = self.writer.find_rows(wanted)
        for trace_id in wanted:
            if trace_id not in refs:  # deleted by someone else since the plan was made
                raise Conflict(f"row {trace_id!r} left {self.evaluation} meanwhile: import again")
        if target is None:  # rows only
            return
        known = [refs[t].id for t in self.plan.known if t in refs]  # those with scores
        self.writer.add_annotations(self._annotations(target, refs, known))
        self.writer.add_judge_results(self._judged(target, refs, known))

    def _target(self, report: ImportReport) -> Target:
        name, plan = self.metric, self.plan
        place = SourcePlace(self.source, 0)
        if plan.create_metric and metric_named(self.session, name) is None:
            record = MetricRecord(name=name, description=plan.description, kind=MetricKind.CUSTOM)
            self.session.add(record)
            self.session.flush()
            prompt = imported_prompt(name, plan.description, plan.scale)
            add_version(self.session, record, prompt=prompt, scale=plan.scale,
                        origin=VersionOrigin.IMPORT)  # fmt: skip
            report.metrics_created.append(name)
        return self.importer.metric(place, name)

    def _annotations(self, target: Target, refs: dict[str, RowRef], known: list[int]) -> list[Item]:
        stored = {
            (a.row_id, a.annotator): (a.score, a.comment)
            for chunk in batched(known, ROWS_A_QUERY)
            for a in annotations_of(self.session, target.id, chunk)
        }
        items: list[Item] = []
        for item, record in self.plan.annotations:
            place = SourcePlace(self.place(item), 0)
            ref = refs[record.row_id]
            value = target.score(record.score, record.label, place)
            old = stored.get((ref.id, record.annotator))
            if old is not None and old != (value, record.comment):
                self._changed(item, "annotation", record.annotator, old, value, record.comment)
                continue
            items.append((place, ref, target, record))
        return items

    def _judged(self, target: Target, refs: dict[str, RowRef], known: list[int]) -> list[Item]:
        stored = {
            (j.row_id, number, j.judge_model): (j.score, j.rationale)
            for chunk in batched(known, ROWS_A_QUERY)
            for j, number in judge_results_of(self.session, target.id, chunk)
        }
        numbers = {version_id: number for number, version_id in target.versions.items()}
        items: list[Item] = []
        for item, record in self.plan.judged:
            place = SourcePlace(self.place(item), 0)
            ref = refs[record.row_id]
            value = None
            if record.score is not None or record.label is not None:
                value = target.score(record.score, record.label, place)
            number = record.metric_version or numbers.get(target.imported_version_id or 0)
            old = stored.get((ref.id, number, record.model)) if number else None
            if old is not None and old != (value, record.rationale):
                self._changed(item, "judge result", record.model or "", old, value,
                             record.rationale)  # fmt: skip
                continue
            items.append((place, ref, target, record))
        return items


def write_plan(
    db: Database, filler: type[PlanFiller[S, R]], evaluation: str, metric: str,
    plan: ConnectorPlan[S], report: R, *, description: str, dry_run: bool,
) -> R:  # fmt: skip
    """Write ``plan`` in one transaction (rolled back on a dry run or any error)."""

    def fill(importer: Importer) -> None:
        filler(importer, evaluation, metric, plan, report).run()

    import_records(db, evaluation, fill, description=description, dry_run=dry_run, report=report)
    return report
