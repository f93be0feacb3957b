"""A Langfuse import's plan written through the import every layout uses
(service/importing.py: one transaction, all or nothing, a dry run rolled back): rows for the
new traces, then annotations and judge results. A score stored before with another value
or comment (changed in Langfuse since) is reported and left as it is, never overwritten."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rubricate.domain.errors import Conflict, InvalidInput
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.integrations._langfuse_plan import ImportRequest, Plan, score_place
from rubricate.io.places import Where
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

SOURCE = "Langfuse"  # the "file" of the rows' error messages
ROWS_A_QUERY = 900  # row ids per lookup of stored scores


@dataclass(frozen=True)
class ChangedScore:
    """A score stored by an earlier import that Langfuse now gives otherwise."""

    score_id: str
    trace_id: str
    kind: str  # annotation or judge result
    by: str  # the reviewer, or the judge's model ("" when none is known)
    stored: float | None
    langfuse: float | None  # on the metric's scale
    comment_changed: bool


@dataclass
class LangfuseImportReport(ImportReport):
    host: str = ""
    scores_read: int = 0
    traces_fetched: int = 0
    scores_changed: list[ChangedScore] = field(default_factory=list)
    scores_skipped: dict[str, int] = field(default_factory=dict)  # reason -> how many


@dataclass(frozen=True, slots=True)
class _ScorePlace(Where):
    """A score in messages: Langfuse's id and trace, no line."""

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


def write_plan(
    db: Database,
    request: ImportRequest,
    plan: Plan,
    report: LangfuseImportReport,
    *,
    description: str,
    dry_run: bool,
) -> LangfuseImportReport:
    def fill(importer: Importer) -> None:
        _Filler(importer, request, plan, report).run()

    import_records(
        db, request.evaluation, fill, description=description, dry_run=dry_run, report=report
    )
    return report


class _Filler:
    def __init__(
        self, importer: Importer, request: ImportRequest, plan: Plan, report: LangfuseImportReport
    ) -> None:
        self.importer, self.request, self.plan, self.report = importer, request, plan, report
        self.session = importer.session
        self.writer = importer.writer

    def run(self) -> None:
        target = self._target()
        if self.plan.rows:
            self.writer.add_rows(SOURCE, list(enumerate(self.plan.rows, start=1)))
        self.report.rows_unchanged += len(self.plan.known)
        wanted = self.plan.trace_ids()
        refs = self.writer.find_rows(wanted)
        for trace_id in wanted:
            if trace_id not in refs:  # deleted by someone else since the plan was made
                raise Conflict(f"row {trace_id!r} left {self.request.evaluation} meanwhile: "
                               "import again")  # fmt: skip
        known = [refs[t].id for t in self.plan.known]
        self.writer.add_annotations(self._annotations(target, refs, known))
        self.writer.add_judge_results(self._judged(target, refs, known))

    def _target(self) -> Target:
        name, plan = self.request.metric, self.plan
        place = _ScorePlace(SOURCE, 0)
        if plan.create_metric and metric_named(self.session, name) is None:
            record = MetricRecord(name=name, description=plan.description, kind=MetricKind.CUSTOM)
            self.session.add(record)
            self.session.flush()
            prompt = imported_prompt(name, plan.description, plan.scale)
            add_version(self.session, record, prompt=prompt, scale=plan.scale,
                        origin=VersionOrigin.IMPORT)  # fmt: skip
            self.report.metrics_created.append(name)
        return self.importer.metric(place, name)

    def _annotations(self, target: Target, refs: dict[str, RowRef], known: list[int]) -> list[Item]:
        stored = {
            (a.row_id, a.annotator): (a.score, a.comment)
            for chunk in batched(known, ROWS_A_QUERY)
            for a in annotations_of(self.session, target.id, chunk)
        }
        items: list[Item] = []
        for score, record in self.plan.annotations:
            place = _ScorePlace(score_place(score), 0)
            ref = refs[record.row_id]
            value = target.score(record.score, record.label, place)
            old = stored.get((ref.id, record.annotator))
            if old is not None and old != (value, record.comment):
                self._changed(score, "annotation", record.annotator, old, value, record.comment)
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
        for score, record in self.plan.judged:
            place = _ScorePlace(score_place(score), 0)
            ref = refs[record.row_id]
            value = None
            if record.score is not None or record.label is not None:
                value = target.score(record.score, record.label, place)
            number = record.metric_version or numbers.get(target.imported_version_id or 0)
            old = stored.get((ref.id, number, record.model)) if number else None
            if old is not None and old != (value, record.rationale):
                self._changed(score, "judge result", record.model or "", old, value,
                              record.rationale)  # fmt: skip
                continue
            items.append((place, ref, target, record))
        return items

    def _changed(
        self, score: Any, kind: str, by: str, old: tuple[Any, Any], value: float | None,
        comment: str | None,
    ) -> None:  # fmt: skip
        self.report.scores_changed.append(
            ChangedScore(
                score_id=score.id, trace_id=score.trace_id, kind=kind, by=by, stored=old[0],
                langfuse=value, comment_changed=old[1] != comment,
            )
        )  # fmt: skip
