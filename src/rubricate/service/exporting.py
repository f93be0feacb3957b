"""Export: an evaluation written back in the layouts import reads, so that import ->
export -> import keeps everything. Files appear whole or not at all; memory stays flat
(rows are read CHUNK at a time)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import VersionOrigin, active_version
from rubricate.domain.scale import Scale, plain_number
from rubricate.io.writers import FLAT_COLUMNS, AtomicFiles, RecordWriter, json_line
from rubricate.scoring import imported_prompt
from rubricate.service.evaluations import find_evaluation
from rubricate.service.metrics import load_versions
from rubricate.store.database import Database
from rubricate.store.export_reads import metrics_used, of_rows, rows_after, version_numbers
from rubricate.store.mapping import to_metric
from rubricate.store.tables import (
    AnnotationRecord,
    JudgeResultRecord,
    ResolutionRecord,
    RowRecord,
)

LAYOUTS = ("dataset", "jsonl", "csv")
CHUNK = 1000
Versions = dict[int, tuple[int, int]]  # version id -> (metric id, number)
T = TypeVar("T")
R = TypeVar("R", AnnotationRecord, JudgeResultRecord, ResolutionRecord)


@dataclass
class ExportReport:
    evaluation: str
    layout: str
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    annotations: int = 0
    judge_results: int = 0
    resolutions: int = 0


@dataclass(frozen=True, slots=True)
class _MetricInfo:
    name: str
    description: str
    scale: Scale
    default_version_id: int | None  # where import pins judge results without metric_version


@dataclass(frozen=True, slots=True)
class _Row:
    row: RowRecord
    annotations: list[AnnotationRecord]
    judged: list[JudgeResultRecord]
    resolved: list[ResolutionRecord]


def export_evaluation(
    db: Database, name: str, out: Path, *, layout: str, viewer: str | None = None
) -> ExportReport:
    """The evaluation's files in ``layout``; with ``viewer``, what that person may see (a
    blind review queue's rows they have yet to review carry only their own scores)."""
    if layout not in LAYOUTS:
        raise InvalidInput(f"unknown layout {layout!r}: use {', '.join(LAYOUTS)}", field="layout")
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} exists and is not a folder", field="out")
    _check_folder(out, layout)
    report = ExportReport(name, layout)
    with db.read() as session:
        evaluation = find_evaluation(session, name)
        out.mkdir(parents=True, exist_ok=True)
        with AtomicFiles(out) as files:
            writer = _Writer(session, evaluation.id, viewer)
            if layout == "dataset":
                writer.dataset(files, evaluation.description, report)
            else:
                writer.flat(files, layout, report)
            report.files = [out / f for f in files.names]
    return report


def _check_folder(out: Path, layout: str) -> None:
    """Refuse a folder holding files of another layout: importing it would mix them up."""
    if layout == "dataset":
        ours = {"dataset.json", "rows.jsonl"}
    else:
        ours = {f"{kind}.{layout}" for kind in FLAT_COLUMNS}
    known = {"dataset.json"} | {f"{kind}.{s}" for kind in FLAT_COLUMNS for s in ("jsonl", "csv")}
    others = sorted(name for name in known - ours if (out / name).exists())
    if others:
        raise InvalidInput(
            f"{out} already holds {', '.join(others)} of another layout: export into an empty "
            "folder, or remove them",
            field="out",
        )


class _Writer:
    def __init__(self, session: Session, evaluation_id: int, viewer: str | None) -> None:
        self.session = session
        self.evaluation_id = evaluation_id
        self.viewer = viewer
        self.metrics = _metrics(session, evaluation_id)
        self.versions: Versions = version_numbers(session)

    def dataset(self, files: AtomicFiles, task: str, report: ExportReport) -> None:
        rows_file = files.open("rows.jsonl")
        for item in self._rows():
            row = item.row
            line: dict[str, Any] = {"id": row.external_id, "input": row.input, "output": row.output}
            if row.context is not None:
                line["context"] = row.context
            if row.expected is not None:
                line["expected"] = row.expected
            line["metadata"] = row.row_metadata
            name = self._name
            if item.annotations:
                line["annotations"] = _group(
                    (name(a.metric_id), self._annotation(a)) for a in item.annotations
                )
            if item.judged:
                grouped = _group((name(self._metric_of(j)), self._judge(j)) for j in item.judged)
                line["judge"] = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
            if item.resolved:
                line["resolved"] = {name(r.metric_id): _resolution(r) for r in item.resolved}
            rows_file.write(json_line(line))
            _count(report, item)
        manifest = {
            "rows": report.rows,
            "task": task,
            "criteria": [
                {"name": m.name, "scale": m.scale.to_json(), "description": m.description}
                for m in sorted(self.metrics.values(), key=lambda m: m.name)
            ],
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False)
        files.open("dataset.json").write(text + "\n")

    def flat(self, files: AtomicFiles, layout: str, report: ExportReport) -> None:
        writers = {
            kind: RecordWriter(files.open(f"{kind}.{layout}"), kind, layout)
            for kind in FLAT_COLUMNS
        }
        for item in self._rows():
            row = item.row
            writers["rows"].write(
                {"id": row.external_id, "input": row.input, "output": row.output,
                 "context": row.context, "expected": row.expected, "metadata": row.row_metadata}
            )  # fmt: skip
            ref = {"row_id": row.external_id}
            for a in item.annotations:
                metric = {"metric": self._name(a.metric_id)}
                writers["annotations"].write(ref | metric | self._annotation(a))
            for j in item.judged:
                metric = {"metric": self._name(self._metric_of(j))}
                writers["judge_results"].write(ref | metric | self._judge(j))
            for r in item.resolved:
                metric = {"metric": self._name(r.metric_id)}
                writers["resolutions"].write(ref | metric | _resolution(r))
            _count(report, item)

    def _rows(self) -> Iterator[_Row]:
        """Rows in file order with what belongs to them, CHUNK rows a query (keyset paging);
        within a row, sorted by metric name so that every export of the same data is the
        same file."""
        after, name = (-1, -1), self._name
        while True:
            rows = rows_after(self.session, self.evaluation_id, after, CHUNK)
            if not rows:
                return
            after = (rows[-1].position, rows[-1].id)
            ids = [r.id for r in rows]
            notes = self._by_row(AnnotationRecord, ids, lambda a: (name(a.metric_id), a.annotator))
            judged = self._by_row(
                JudgeResultRecord, ids, lambda j: (name(self._metric_of(j)), j.id)
            )
            resolved = self._by_row(ResolutionRecord, ids, lambda r: (name(r.metric_id), 0))
            for row in rows:
                yield _Row(
                    row, notes.get(row.id, []), judged.get(row.id, []), resolved.get(row.id, [])
                )
            self.session.expunge_all()  # keep memory flat on large evaluations

    def _by_row(
        self, record: type[R], ids: list[int], order: Callable[[R], tuple[str, Any]]
    ) -> dict[int, list[R]]:
        grouped: dict[int, list[R]] = {}
        for item in of_rows(self.session, record, ids, self.viewer):
            grouped.setdefault(item.row_id, []).append(item)
        return {row_id: sorted(items, key=order) for row_id, items in grouped.items()}

    def _name(self, metric_id: int) -> str:
        return self.metrics[metric_id].name

    def _metric_of(self, j: JudgeResultRecord) -> int:
        return self.versions[j.metric_version_id][0]

    def _annotation(self, a: AnnotationRecord) -> dict[str, Any]:
        item: dict[str, Any] = {"annotator": a.annotator, "score": plain_number(a.score)}
        label = self.metrics[a.metric_id].scale.label_of(a.score)
        if label is not None:
            item["label"] = label
        if a.comment is not None:
            item["comment"] = a.comment
        return item

    def _judge(self, j: JudgeResultRecord) -> dict[str, Any]:
        metric_id, number = self.versions[j.metric_version_id]
        item: dict[str, Any] = {}
        if j.metric_version_id != self.metrics[metric_id].default_version_id:
            item["metric_version"] = number
        for key, value in (
            ("score", None if j.score is None else plain_number(j.score)),
            ("rationale", j.rationale),
            ("model", j.judge_model),
            ("error", j.error),
            ("raw_output", j.raw_output),
            ("input_tokens", j.input_tokens),
            ("output_tokens", j.output_tokens),
            ("cost_usd", j.cost_usd),
        ):
            if value is not None:
                item[key] = value
        return item


def _metrics(session: Session, evaluation_id: int) -> dict[int, _MetricInfo]:
    """Every metric the evaluation's annotations, resolutions or judge results use."""
    infos: dict[int, _MetricInfo] = {}
    for record in metrics_used(session, evaluation_id):
        versions = load_versions(session, record.id)
        scale = active_version(to_metric(record), versions).scale
        # the version that import (of this export) pins judge results to by default
        prompt = imported_prompt(record.name, record.description, scale)
        default = next(
            (v.id for v in versions if v.origin is VersionOrigin.IMPORT and v.prompt == prompt),
            None,
        )
        infos[record.id] = _MetricInfo(record.name, record.description, scale, default)
    return infos


def _resolution(r: ResolutionRecord) -> dict[str, Any]:
    return {"value": plain_number(r.value), "by": r.resolved_by}


def _group(pairs: Iterator[tuple[T, dict[str, Any]]]) -> dict[T, list[dict[str, Any]]]:
    grouped: dict[T, list[dict[str, Any]]] = {}
    for key, item in pairs:
        grouped.setdefault(key, []).append(item)
    return grouped


def _count(report: ExportReport, item: _Row) -> None:
    report.rows += 1
    report.annotations += len(item.annotations)
    report.judge_results += len(item.judged)
    report.resolutions += len(item.resolved)
