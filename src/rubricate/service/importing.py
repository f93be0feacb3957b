"""Import: the annotation dataset layout and the flat JSONL/CSV layouts, each in one
transaction, streamed in batches, and idempotent (identical data is skipped)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from rubricate.domain.errors import InvalidInput
from rubricate.domain.evaluations import EvaluationSource
from rubricate.domain.metrics import (
    MetricKind,
    MetricVersion,
    VersionOrigin,
    active_version,
)
from rubricate.domain.names import check_evaluation_name
from rubricate.domain.scale import Scale
from rubricate.io.layout import (
    DATASET,
    DATASET_ROWS,
    FLAT_KINDS,
    FLAT_MODELS,
    earlier_line,
    plan,
    read_flat,
    read_manifest,
    same_as,
)
from rubricate.io.places import Repeated, Where
from rubricate.io.readers import JsonDocument, read_jsonl
from rubricate.io.records import Criterion, Manifest, RowIn
from rubricate.scoring import imported_prompt
from rubricate.service.import_batches import BatchWriter, Item, Target
from rubricate.service.metrics import add_version, load_versions
from rubricate.store.database import Database
from rubricate.store.evaluations import evaluation_named, last_position
from rubricate.store.mapping import to_metric
from rubricate.store.metrics import metric_named
from rubricate.store.tables import EvaluationRecord, MetricRecord
from rubricate.util import batched

__all__ = ["FLAT_KINDS", "ImportReport", "Importer", "Progress", "import_path", "import_records"]
FLAT_KEYS = ("row_id", "metric", "annotator", "model", "metric_version")  # tell records apart
Progress = Callable[[int], None]  # called with the number of lines just read
Manifested = tuple[Manifest, JsonDocument]


@dataclass
class ImportReport:
    evaluation: str
    evaluation_created: bool = False
    metrics_created: list[str] = field(default_factory=list)
    rows_added: int = 0
    rows_unchanged: int = 0
    annotations_added: int = 0
    judge_results_added: int = 0
    resolutions_added: int = 0
    dry_run: bool = False  # counted, then rolled back: nothing was kept

    @property
    def changed(self) -> bool:
        return bool(
            self.evaluation_created
            or self.metrics_created
            or self.rows_added
            or self.annotations_added
            or self.judge_results_added
            or self.resolutions_added
        )


def import_path(
    db: Database,
    path: Path,
    evaluation: str,
    *,
    kind: str | None = None,
    description: str | None = None,
    batch_size: int = 2000,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import a dataset folder (dataset.json + rows.jsonl), a folder of flat files, or
    one flat file; all of it or nothing. A dry run checks and counts, then keeps nothing."""
    check_evaluation_name(evaluation)
    files = plan(path, kind)
    manifest: Manifested | None = None
    if files[0][0] == DATASET:
        manifest = read_manifest(files[0][1])
        files = files[1:]
    report = ImportReport(evaluation)

    def fill(importer: Importer) -> None:
        if manifest is not None:
            criteria, document = manifest[0].criteria, manifest[1]
            importer.writer.targets = {
                c.name: _criterion_metric(importer.session, c, i, document, report)
                for i, c in enumerate(criteria)
            }
        for file_kind, file_path in files:
            importer.run(file_kind, file_path, batch_size)

    return _import(db, evaluation, report, fill, description, manifest, dry_run, progress)


class _DryRun(Exception):
    def __init__(self, report: ImportReport) -> None:
        self.report = report


def import_records(
    db: Database,
    evaluation: str,
    fill: Callable[[Importer], None],
    *,
    description: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """The same all-or-nothing import for records read elsewhere (another format):
    ``fill`` hands them to the importer's batch writer. A dry run checks and counts
    everything, then rolls it all back."""
    check_evaluation_name(evaluation)
    report = report or ImportReport(evaluation)
    return _import(db, evaluation, report, fill, description, None, dry_run, progress)


def _import(
    db: Database,
    evaluation: str,
    report: ImportReport,
    fill: Callable[[Importer], None],
    description: str | None,
    manifest: Manifested | None,
    dry_run: bool,
    progress: Progress | None,
) -> ImportReport:
    """One transaction: the evaluation found or made, ``fill`` writing its records; a
    dry run rolls it all back."""
    try:
        with db.write() as session, _fewer_collections():
            evaluation_id, base = _evaluation(session, evaluation, description, manifest, report)
            fill(Importer(session, evaluation_id, base, report, progress))
            if dry_run:
                report.dry_run = True
                raise _DryRun(report)  # leaves the transaction: nothing is kept
            return report
    except _DryRun as done:
        return done.report


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Each batch keeps ~100k objects alive, which sets off the young-generation garbage
    collector thousands of times per import (a third of its time) for nothing to free."""
    saved = gc.get_threshold()
    gc.set_threshold(max(saved[0], 10_000), *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def _evaluation(
    session: Session,
    name: str,
    description: str | None,
    manifest: Manifested | None,
    report: ImportReport,
) -> tuple[int, int]:
    """The evaluation's id and the position after its last row."""
    record = evaluation_named(session, name)
    if record is None:
        task = manifest[0].task if manifest else None
        record = EvaluationRecord(
            name=name, description=description or task or "", source=EvaluationSource.IMPORTED
        )
        session.add(record)
        session.flush()
        report.evaluation_created = True
        return record.id, 0
    return record.id, last_position(session, record.id)


def _criterion_metric(
    session: Session,
    criterion: Criterion,
    index: int,
    document: JsonDocument,
    report: ImportReport,
) -> Target:
    """Reuse the metric of this name (its scale must match) or create a custom one whose
    first version is an imported one."""
    record = metric_named(session, criterion.name)
    prompt = imported_prompt(criterion.name, criterion.description, criterion.scale)
    if record is None:
        record = MetricRecord(
            name=criterion.name, description=criterion.description, kind=MetricKind.CUSTOM
        )
        session.add(record)
        session.flush()
        report.metrics_created.append(criterion.name)
        scale, origin = criterion.scale, VersionOrigin.IMPORT
        add_version(session, record, prompt=prompt, scale=scale, origin=origin)
    versions = load_versions(session, record.id)
    scale = active_version(to_metric(record), versions).scale
    if not scale.same_values(criterion.scale):
        raise document.error(
            f"metric {criterion.name!r} exists with the scale {scale.describe()} ({scale.type}),"
            f" not {criterion.scale.describe()} ({criterion.scale.type}): use its scale or "
            "another criterion name",
            ("criteria", index, "scale"),
        )
    # The file's own labels read its records; the stored metric keeps its scale.
    return _target(record, versions, criterion.scale, prompt)


def _flat_target(session: Session, record: MetricRecord) -> Target:
    versions = load_versions(session, record.id)
    scale = active_version(to_metric(record), versions).scale
    return _target(record, versions, scale, imported_prompt(record.name, record.description, scale))


def _target(
    record: MetricRecord, versions: list[MetricVersion], scale: Scale, prompt: str
) -> Target:
    """Judge results without a metric_version pin to the imported version with this prompt
    (created when first needed; never for a built-in metric)."""
    imported = next(
        (v for v in versions if v.origin is VersionOrigin.IMPORT and v.prompt == prompt), None
    )
    return Target(
        id=record.id,
        name=record.name,
        scale=scale,
        builtin=record.kind == MetricKind.BUILTIN,
        prompt=prompt,
        imported_version_id=imported.id if imported else None,
        versions={v.number: v.id for v in versions},
    )


class Importer:
    """Reads each file in batches and hands them to the batch writer."""

    def __init__(
        self,
        session: Session,
        evaluation_id: int,
        base: int,
        report: ImportReport,
        progress: Progress | None,
    ) -> None:
        self.session = session
        self.writer = BatchWriter(session, evaluation_id, base, report)
        self.progress = progress or (lambda _: None)

    def run(self, kind: str, path: Path, batch_size: int) -> None:
        if kind == DATASET_ROWS:
            for batch in batched(read_jsonl(path, RowIn), batch_size):
                try:
                    self._dataset_batch(str(path), batch)
                except Repeated as exc:  # a row stored before, given twice in this file
                    row = next(row for line, row in batch if line == exc.where.line)
                    first = earlier_line(path, RowIn, exc.where.line, same_as(row, ("id",)))
                    raise exc.with_first(first) from None
                self.progress(len(batch))
            return
        model = FLAT_MODELS[kind]
        for flat in batched(read_flat(path, model), batch_size):
            try:
                if kind == "rows":
                    self.writer.add_rows(str(path), flat)
                else:
                    self._flat_batch(kind, str(path), flat)
            except Repeated as exc:
                same = same_as(
                    exc.record, ("row_id", "metric", "annotator", "model", "metric_version")
                )
                raise exc.with_first(earlier_line(path, model, exc.where.line, same)) from None
            self.progress(len(flat))

    def _dataset_batch(self, file: str, batch: tuple[tuple[int, RowIn], ...]) -> None:
        refs = self.writer.add_rows(file, batch)
        annotations: list[Item] = []
        judged: list[Item] = []
        resolved: list[Item] = []
        for line, row in batch:
            ref = refs[row.id]
            for name, given in row.annotations.items():
                target = self._criterion(file, line, "annotations", name)
                annotations += [
                    (Where(file, line, "annotations", name, i), ref, target, a)
                    for i, a in enumerate(given)
                ]
            for name, entry in row.judge.items():
                target = self._criterion(file, line, "judge", name)
                if isinstance(entry, list):
                    judged += [
                        (Where(file, line, "judge", name, i), ref, target, j)
                        for i, j in enumerate(entry)
                    ]
                else:
                    judged.append((Where(file, line, "judge", name), ref, target, entry))
            for name, value in row.resolved.items():
                target = self._criterion(file, line, "resolved", name)
                resolved.append((Where(file, line, "resolved", name), ref, target, value))
        self.writer.add_annotations(annotations)
        self.writer.add_judge_results(judged)
        self.writer.add_resolutions(resolved)

    def _criterion(self, file: str, line: int, section: str, name: str) -> Target:
        target = self.writer.targets.get(name)
        if target is None:
            known = ", ".join(sorted(self.writer.targets)) or "none"
            raise InvalidInput(
                f"criterion {name!r} is not in dataset.json (criteria: {known})",
                file=file,
                line=line,
                field=f"{section}.{name}",
            )
        return target

    def _flat_batch(self, kind: str, file: str, batch: tuple[tuple[int, Any], ...]) -> None:
        refs = self.writer.find_rows([record.row_id for _, record in batch])
        items: list[Item] = []
        for line, record in batch:  # in line order, so that the first error is reported
            where = Where(file, line)
            if record.row_id not in refs:
                raise where.error(
                    f"no row {record.row_id!r} in this evaluation: import its row first",
                    "row_id",
                )
            items.append((where, refs[record.row_id], self.metric(where, record.metric), record))
        if kind == "annotations":
            self.writer.add_annotations(items)
        elif kind == "judge_results":
            self.writer.add_judge_results(items)
        else:
            self.writer.add_resolutions(items)

    def metric(self, where: Where, name: str) -> Target:
        """A metric named by a flat record; it must exist already (it gives the scale)."""
        if name not in self.writer.targets:
            record = metric_named(self.session, name)
            if record is None:
                raise where.error(
                    f"no metric named {name!r}: create it first (rubricate metrics create) or "
                    "import a dataset that defines it",
                    "metric",
                )
            self.writer.targets[name] = _flat_target(self.session, record)
        return self.writer.targets[name]
