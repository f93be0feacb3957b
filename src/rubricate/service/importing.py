"""Import: the annotation dataset layout and the flat JSONL/CSV layouts, each in one
transaction, streamed in batches, and idempotent (identical data is skipped)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rubricate.domain.errors import InvalidInput
from rubricate.domain.evaluations import EvaluationSource
from rubricate.domain.metrics import MetricKind, VersionOrigin, active_version, check_metric_name
from rubricate.io.readers import read_json_document, read_jsonl
from rubricate.io.records import (
    AnnotationIn,
    Criterion,
    JudgeIn,
    Manifest,
    ResolvedIn,
    RowIn,
)
from rubricate.scoring import imported_prompt
from rubricate.service.import_batches import (
    FLAT_MODELS,
    BatchWriter,
    RowRef,
    Target,
    Where,
    flat_reader,
)
from rubricate.service.metrics import add_version, load_versions
from rubricate.store.database import Database
from rubricate.store.mapping import to_metric
from rubricate.store.tables import (
    EvaluationRecord,
    MetricRecord,
    RowRecord,
)
from rubricate.util import batched

FLAT_KINDS = ("rows", "annotations", "judge_results", "resolutions")
Progress = Callable[[int], None]  # called with the number of lines just read


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
) -> ImportReport:
    """Import a dataset folder (dataset.json + rows.jsonl), a folder of flat files, or
    one flat file; all of it or nothing."""
    if not evaluation.strip():
        raise InvalidInput("evaluation name must not be empty", field="evaluation")
    files = _plan(path, kind)
    manifest = None
    if files and files[0][0] == "dataset":
        manifest = read_json_document(files[0][1], Manifest)
        _check_criteria(manifest, str(files[0][1]))
        files = files[1:]
    with db.write() as session:
        report = ImportReport(evaluation)
        evaluation_id, base = _evaluation(session, evaluation, description, manifest, report)
        importer = _Importer(session, evaluation_id, base, report, progress)
        if manifest is not None:
            importer.writer.targets = {
                c.name: _criterion_metric(session, c, i, report)
                for i, c in enumerate(manifest.criteria)
            }
        for file_kind, file_path in files:
            importer.run(file_kind, file_path, batch_size)
        return report


def _plan(path: Path, kind: str | None) -> list[tuple[str, Path]]:
    if not path.exists():
        raise InvalidInput(f"no such file or folder: {path}", field="path")
    if path.is_dir():
        if (path / "dataset.json").exists():
            return [("dataset", path / "dataset.json"), ("dataset_rows", path / "rows.jsonl")]
        found = [
            (k, path / f"{k}{ext}")
            for k in FLAT_KINDS
            for ext in (".jsonl", ".csv")
            if (path / f"{k}{ext}").exists()
        ]
        if not found:
            raise InvalidInput(
                f"{path} holds neither dataset.json nor rows/annotations/judge_results/"
                "resolutions .jsonl or .csv files",
                field="path",
            )
        return found
    if path.name == "dataset.json":
        return _plan(path.parent, kind)
    if path.suffix not in {".jsonl", ".csv"}:
        raise InvalidInput(f"{path}: expected a .jsonl or .csv file or a folder", field="path")
    chosen = kind or path.stem
    if chosen not in FLAT_KINDS:
        raise InvalidInput(
            f"cannot tell what {path.name} holds: name it rows, annotations, judge_results or "
            "resolutions, or pass --kind",
            field="kind",
        )
    return [(chosen, path)]


def _check_criteria(manifest: Manifest, file: str) -> None:
    seen: set[str] = set()
    for index, criterion in enumerate(manifest.criteria):
        where = f"criteria[{index}].name"
        try:
            check_metric_name(criterion.name)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, file=file, field=where) from None
        if criterion.name in seen:
            raise InvalidInput(
                f"criterion {criterion.name!r} is listed twice", file=file, field=where
            )
        seen.add(criterion.name)


def _evaluation(
    session: Session,
    name: str,
    description: str | None,
    manifest: Manifest | None,
    report: ImportReport,
) -> tuple[int, int]:
    """The evaluation's id and the position after its last row."""
    record = session.scalar(select(EvaluationRecord).where(EvaluationRecord.name == name))
    if record is None:
        text = description or (manifest.task if manifest and manifest.task else "")
        record = EvaluationRecord(name=name, description=text, source=EvaluationSource.IMPORTED)
        session.add(record)
        session.flush()
        report.evaluation_created = True
        return record.id, 0
    last = session.scalar(
        select(func.max(RowRecord.position)).where(RowRecord.evaluation_id == record.id)
    )
    return record.id, last or 0


def _criterion_metric(
    session: Session, criterion: Criterion, index: int, report: ImportReport
) -> Target:
    """Reuse the metric of this name (its scale must match) or create a custom one whose
    first version is an imported one."""
    record = session.scalar(select(MetricRecord).where(MetricRecord.name == criterion.name))
    prompt = imported_prompt(criterion.name, criterion.description, criterion.scale)
    if record is None:
        record = MetricRecord(
            name=criterion.name, description=criterion.description, kind=MetricKind.CUSTOM
        )
        session.add(record)
        session.flush()
        report.metrics_created.append(criterion.name)
    versions = load_versions(session, record.id)
    if versions and versions[-1].scale != criterion.scale:
        raise InvalidInput(
            f"metric {criterion.name!r} exists with the scale {versions[-1].scale.describe()}"
            f" ({versions[-1].scale.type}), not {criterion.scale.describe()}"
            f" ({criterion.scale.type})",
            file="dataset.json",
            field=f"criteria[{index}].scale",
        )
    imported = next(
        (v for v in versions if v.origin is VersionOrigin.IMPORT and v.prompt == prompt), None
    )
    if imported is None and record.kind == MetricKind.CUSTOM:
        imported = add_version(
            session, record, prompt=prompt, scale=criterion.scale, origin=VersionOrigin.IMPORT
        )
        versions.append(imported)
    return Target(
        id=record.id,
        name=record.name,
        scale=criterion.scale,
        imported_version_id=imported.id if imported else None,
        versions={v.number: v.id for v in versions},
    )


class _Importer:
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
        self.report = report
        self.progress = progress or (lambda _: None)

    def run(self, kind: str, path: Path, batch_size: int) -> None:
        file = str(path)
        if kind == "dataset_rows":
            if not path.exists():
                raise InvalidInput("rows.jsonl is missing beside dataset.json", file=file)
            for batch in batched(read_jsonl(path, RowIn), batch_size):
                self._dataset_batch(file, batch)
                self.progress(len(batch))
            return
        for batch in batched(flat_reader(path, FLAT_MODELS[kind]), batch_size):
            if kind == "rows":
                self.writer.add_rows(file, batch)
            else:
                self._flat_batch(kind, file, batch)
            self.progress(len(batch))

    def _dataset_batch(self, file: str, batch: tuple[tuple[int, RowIn], ...]) -> None:
        refs = self.writer.add_rows(file, batch)
        annotations: list[tuple[Where, RowRef, Target, AnnotationIn]] = []
        judged: list[tuple[Where, RowRef, Target, JudgeIn]] = []
        resolved: list[tuple[Where, RowRef, Target, ResolvedIn]] = []
        for line, row in batch:
            ref = refs[row.id]
            for name, given in row.annotations.items():
                target = self._criterion(file, line, f"annotations.{name}", name)
                annotations += [
                    (Where(file, line, f"annotations.{name}[{i}]"), ref, target, a)
                    for i, a in enumerate(given)
                ]
            for name, given_judge in row.judge.items():
                target = self._criterion(file, line, f"judge.{name}", name)
                if isinstance(given_judge, list):
                    judged += [
                        (Where(file, line, f"judge.{name}[{i}]"), ref, target, j)
                        for i, j in enumerate(given_judge)
                    ]
                else:
                    judged.append((Where(file, line, f"judge.{name}"), ref, target, given_judge))
            for name, value in row.resolved.items():
                target = self._criterion(file, line, f"resolved.{name}", name)
                resolved.append((Where(file, line, f"resolved.{name}"), ref, target, value))
        self.writer.add_annotations(annotations)
        self.writer.add_judge_results(judged)
        self.writer.add_resolutions(resolved)

    def _criterion(self, file: str, line: int, field: str, name: str) -> Target:
        target = self.writer.targets.get(name)
        if target is None:
            known = ", ".join(sorted(self.writer.targets))
            raise InvalidInput(
                f"criterion {name!r} is not in dataset.json (criteria: {known})",
                file=file,
                line=line,
                field=field,
            )
        return target

    def _flat_batch(self, kind: str, file: str, batch: tuple[tuple[int, Any], ...]) -> None:
        refs = self.writer.find_rows(file, [(line, record.row_id) for line, record in batch])
        items = [
            (
                Where(file, line, ""),
                refs[record.row_id],
                self._metric(file, line, record.metric),
                record,
            )
            for line, record in batch
        ]
        if kind == "annotations":
            self.writer.add_annotations(items)
        elif kind == "judge_results":
            self.writer.add_judge_results(items)
        else:
            self.writer.add_resolutions(items)

    def _metric(self, file: str, line: int, name: str) -> Target:
        """A metric named by a flat record; it must exist already (it gives the scale)."""
        if name not in self.writer.targets:
            record = self.session.scalar(select(MetricRecord).where(MetricRecord.name == name))
            if record is None:
                raise InvalidInput(
                    f"no metric named {name!r}: create it first (rubricate metrics create) or "
                    "import a dataset that defines it",
                    file=file,
                    line=line,
                    field="metric",
                )
            self.writer.targets[name] = _flat_target(self.session, record)
        return self.writer.targets[name]


def _flat_target(session: Session, record: MetricRecord) -> Target:
    versions = load_versions(session, record.id)
    metric = to_metric(record)
    scale = active_version(metric, versions).scale
    imported = next((v for v in reversed(versions) if v.origin is VersionOrigin.IMPORT), None)
    if imported is None and record.kind == MetricKind.CUSTOM:
        prompt = imported_prompt(record.name, record.description, scale)
        imported = add_version(
            session, record, prompt=prompt, scale=scale, origin=VersionOrigin.IMPORT
        )
        versions.append(imported)
    return Target(
        id=record.id,
        name=record.name,
        scale=scale,
        imported_version_id=imported.id if imported else None,
        versions={v.number: v.id for v in versions},
    )
