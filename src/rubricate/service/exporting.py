"""Export: an evaluation written back in the layouts import reads, so that import ->
export -> import keeps everything. Files appear whole or not at all."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import VersionOrigin, active_version
from rubricate.domain.scale import Scale
from rubricate.service.evaluations import find_evaluation
from rubricate.service.metrics import load_versions
from rubricate.store.database import Database
from rubricate.store.mapping import to_metric
from rubricate.store.tables import (
    AnnotationRecord,
    JudgeResultRecord,
    MetricRecord,
    MetricVersionRecord,
    ResolutionRecord,
    RowRecord,
)

LAYOUTS = ("dataset", "jsonl", "csv")
CHUNK = 1000
Versions = dict[int, tuple[int, int]]  # version id -> (metric id, number)
COLUMNS = {
    "rows": ["id", "input", "output", "context", "expected", "metadata"],
    "annotations": ["row_id", "metric", "annotator", "score", "label", "comment"],
    "judge_results": [
        "row_id", "metric", "metric_version", "score", "rationale", "model", "error",
        "raw_output", "input_tokens", "output_tokens", "cost_usd",
    ],
    "resolutions": ["row_id", "metric", "value", "by"],
}  # fmt: skip


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
    imported_version_ids: frozenset[int]


def export_evaluation(db: Database, name: str, out: Path, *, layout: str) -> ExportReport:
    if layout not in LAYOUTS:
        raise InvalidInput(f"unknown layout {layout!r}: use {', '.join(LAYOUTS)}", field="layout")
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} exists and is not a folder", field="out")
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport(name, layout)
    with db.read() as session, _AtomicFiles(out) as files:
        evaluation_id = find_evaluation(session, name).id
        metrics = _metrics(session, evaluation_id)
        versions = {
            version_id: (metric_id, number)
            for version_id, metric_id, number in session.execute(
                select(
                    MetricVersionRecord.id,
                    MetricVersionRecord.metric_id,
                    MetricVersionRecord.number,
                )
            ).tuples()
        }
        if layout == "dataset":
            _write_dataset(session, evaluation_id, name, metrics, versions, files, report)
        else:
            _write_flat(session, evaluation_id, metrics, versions, files, layout, report)
        report.files = [out / f for f in files.names]
    return report


def _write_dataset(
    session: Session,
    evaluation_id: int,
    name: str,
    metrics: dict[int, _MetricInfo],
    versions: Versions,
    files: _AtomicFiles,
    report: ExportReport,
) -> None:
    rows_file = files.open("rows.jsonl")
    for row, notes, judged, resolved in _chunks(session, evaluation_id, metrics):
        line: dict[str, Any] = {"id": row.external_id, "input": row.input, "output": row.output}
        if row.context is not None:
            line["context"] = row.context
        if row.expected is not None:
            line["expected"] = row.expected
        line["metadata"] = row.row_metadata
        if notes:
            line["annotations"] = _group(
                (metrics[a.metric_id].name, _annotation(a, metrics[a.metric_id])) for a in notes
            )
        if judged:
            grouped = _group(
                (metrics[versions[j.metric_version_id][0]].name, _judge(j, metrics, versions))
                for j in judged
            )
            line["judge"] = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
        if resolved:
            line["resolved"] = {
                metrics[r.metric_id].name: {"value": _num(r.value), "by": r.resolved_by}
                for r in resolved
            }
        rows_file.write(json.dumps(line, ensure_ascii=False) + "\n")
        _count(report, notes, judged, resolved)
    evaluation = find_evaluation(session, name)
    manifest = {
        "name": name,
        "rows": report.rows,
        "task": evaluation.description,
        "criteria": [
            {"name": m.name, "scale": m.scale.to_json(), "description": m.description}
            for m in sorted(metrics.values(), key=lambda m: m.name)
        ],
    }
    files.open("dataset.json").write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _write_flat(
    session: Session,
    evaluation_id: int,
    metrics: dict[int, _MetricInfo],
    versions: Versions,
    files: _AtomicFiles,
    layout: str,
    report: ExportReport,
) -> None:
    writers = {
        kind: _RecordWriter(files.open(f"{kind}.{layout}"), kind, layout) for kind in COLUMNS
    }
    for row, notes, judged, resolved in _chunks(session, evaluation_id, metrics):
        writers["rows"].write(
            {"id": row.external_id, "input": row.input, "output": row.output,
             "context": row.context, "expected": row.expected, "metadata": row.row_metadata}
        )  # fmt: skip
        for a in notes:
            info = metrics[a.metric_id]
            writers["annotations"].write(
                {"row_id": row.external_id, "metric": info.name, **_annotation(a, info)}
            )
        for j in judged:
            metric = metrics[versions[j.metric_version_id][0]].name
            writers["judge_results"].write(
                {"row_id": row.external_id, "metric": metric, **_judge(j, metrics, versions)}
            )
        for r in resolved:
            writers["resolutions"].write(
                {"row_id": row.external_id, "metric": metrics[r.metric_id].name,
                 "value": _num(r.value), "by": r.resolved_by}
            )  # fmt: skip
        _count(report, notes, judged, resolved)


Chunk = tuple[RowRecord, list[AnnotationRecord], list[JudgeResultRecord], list[ResolutionRecord]]


def _chunks(
    session: Session, evaluation_id: int, metrics: dict[int, _MetricInfo]
) -> Iterator[Chunk]:
    """Rows in file order with what belongs to them, CHUNK rows per query (keyset paging)."""
    after = -1
    while True:
        rows = session.scalars(
            select(RowRecord)
            .where(RowRecord.evaluation_id == evaluation_id, RowRecord.position > after)
            .order_by(RowRecord.position)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        after = rows[-1].position
        ids = [r.id for r in rows]
        annotations = _by_row(session, AnnotationRecord, ids, AnnotationRecord.annotator)
        judged = _by_row(session, JudgeResultRecord, ids, JudgeResultRecord.id)
        resolved = _by_row(session, ResolutionRecord, ids, ResolutionRecord.metric_id)
        for row in rows:
            yield row, annotations.get(row.id, []), judged.get(row.id, []), resolved.get(row.id, [])
        session.expunge_all()  # keep memory flat on large evaluations


def _by_row(
    session: Session, record: type[Any], ids: list[int], order: Any
) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    query = select(record).where(record.row_id.in_(ids)).order_by(record.row_id, order)
    for item in session.scalars(query):
        grouped.setdefault(item.row_id, []).append(item)
    return grouped


def _metrics(session: Session, evaluation_id: int) -> dict[int, _MetricInfo]:
    """Every metric the evaluation's annotations, resolutions or judge results use; judge
    results are listed under their metric id too, via their version."""
    in_evaluation = select(RowRecord.id).where(RowRecord.evaluation_id == evaluation_id)
    ids = set(
        session.scalars(
            select(AnnotationRecord.metric_id)
            .where(AnnotationRecord.row_id.in_(in_evaluation))
            .distinct()
        )
    )
    ids |= set(
        session.scalars(
            select(ResolutionRecord.metric_id)
            .where(ResolutionRecord.row_id.in_(in_evaluation))
            .distinct()
        )
    )
    ids |= set(
        session.scalars(
            select(MetricVersionRecord.metric_id)
            .join(JudgeResultRecord, JudgeResultRecord.metric_version_id == MetricVersionRecord.id)
            .where(JudgeResultRecord.row_id.in_(in_evaluation))
            .distinct()
        )
    )
    infos: dict[int, _MetricInfo] = {}
    for record in session.scalars(select(MetricRecord).where(MetricRecord.id.in_(ids))):
        versions = load_versions(session, record.id)
        imported = [v for v in versions if v.origin is VersionOrigin.IMPORT]
        scale = (imported[-1] if imported else active_version(to_metric(record), versions)).scale
        infos[record.id] = _MetricInfo(
            record.name, record.description, scale, frozenset(v.id for v in imported)
        )
    return infos


def _annotation(a: AnnotationRecord, info: _MetricInfo) -> dict[str, Any]:
    item: dict[str, Any] = {"annotator": a.annotator, "score": _num(a.score)}
    label = info.scale.label_of(a.score)
    if label is not None:
        item["label"] = label
    if a.comment is not None:
        item["comment"] = a.comment
    return item


def _judge(
    j: JudgeResultRecord, metrics: dict[int, _MetricInfo], versions: Versions
) -> dict[str, Any]:
    metric_id, number = versions[j.metric_version_id]
    item: dict[str, Any] = {}
    if j.metric_version_id not in metrics[metric_id].imported_version_ids:
        item["metric_version"] = number
    for key, value in (
        ("score", None if j.score is None else _num(j.score)),
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


def _group(pairs: Iterator[tuple[str, dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for key, item in pairs:
        grouped.setdefault(key, []).append(item)
    return grouped


def _num(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _count(
    report: ExportReport, annotations: list[Any], judged: list[Any], resolved: list[Any]
) -> None:
    report.rows += 1
    report.annotations += len(annotations)
    report.judge_results += len(judged)
    report.resolutions += len(resolved)


class _RecordWriter:
    """One flat file: JSON Lines, or CSV with a header and metadata as JSON text."""

    def __init__(self, handle: IO[str], kind: str, layout: str) -> None:
        self._handle = handle
        self._columns = COLUMNS[kind]
        self._csv = csv.DictWriter(handle, self._columns) if layout == "csv" else None
        if self._csv is not None:
            self._csv.writeheader()

    def write(self, record: dict[str, Any]) -> None:
        if self._csv is None:
            clean = {k: v for k, v in record.items() if v is not None}
            self._handle.write(json.dumps(clean, ensure_ascii=False) + "\n")
            return
        cells = {k: ("" if v is None else v) for k, v in record.items()}
        if "metadata" in cells:
            cells["metadata"] = json.dumps(cells["metadata"], ensure_ascii=False)
        self._csv.writerow(cells)


class _AtomicFiles:
    """Files written beside their final names and moved into place only on success."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._stack = ExitStack()
        self.names: list[str] = []

    def open(self, name: str) -> IO[str]:
        self.names.append(name)
        path = self._folder / f".{name}.partial"
        return self._stack.enter_context(path.open("w", encoding="utf-8", newline=""))

    def __enter__(self) -> _AtomicFiles:
        return self

    def __exit__(self, error: type[BaseException] | None, *_: object) -> None:
        self._stack.close()
        for name in self.names:
            partial = self._folder / f".{name}.partial"
            if error is None:
                partial.replace(self._folder / name)
            else:
                partial.unlink(missing_ok=True)
