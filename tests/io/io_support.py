"""Helpers of the import/export tests: small input files, and what the database holds."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, func, select

from rubricate import InvalidInput, Rubricate
from rubricate.store.tables import (
    AnnotationRecord,
    EvaluationRecord,
    JudgeResultRecord,
    MetricRecord,
    MetricVersionRecord,
    ResolutionRecord,
    RowRecord,
)

TABLES = (
    MetricRecord,
    MetricVersionRecord,
    EvaluationRecord,
    RowRecord,
    AnnotationRecord,
    JudgeResultRecord,
    ResolutionRecord,
)
Record = dict[str, Any]


def write_jsonl(path: Path, records: Iterable[Record | str]) -> Path:
    """One JSON record a line; a str is written as given (a broken line)."""
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_dataset(
    folder: Path, criteria: Sequence[Record], rows: Iterable[Record | str], **manifest: Any
) -> Path:
    """dataset.json (indented, as people write it) and rows.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    document = {"name": folder.name, **manifest, "criteria": list(criteria)}
    (folder / "dataset.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    write_jsonl(folder / "rows.jsonl", rows)
    return folder


def snapshot(rb: Rubricate) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table an import writes to, in id order: equal snapshots mean an
    unchanged database."""
    with rb.db.read() as session:
        return {
            table.__tablename__: [
                tuple(found)
                for found in session.execute(select(*table.__table__.c).order_by(table.id))
            ]
            for table in TABLES
        }


def counts(rb: Rubricate) -> dict[str, int]:
    with rb.db.read() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in TABLES
        }


def stored(rb: Rubricate, evaluation: str) -> dict[str, list[tuple[Any, ...]]]:
    """What an evaluation holds, by row id, metric name and version number (not by
    database ids), so that two evaluations can be compared."""
    with rb.db.read() as session:
        evaluation_id = session.scalar(
            select(EvaluationRecord.id).where(EvaluationRecord.name == evaluation)
        )
        rows = session.execute(
            select(
                RowRecord.external_id,
                RowRecord.input,
                RowRecord.output,
                RowRecord.context,
                RowRecord.expected,
                RowRecord.row_metadata,
            )
            .where(RowRecord.evaluation_id == evaluation_id)
            .order_by(RowRecord.position)
        ).all()
        in_evaluation = RowRecord.evaluation_id == evaluation_id
        annotations = session.execute(
            _by_row_and_metric(
                AnnotationRecord,
                AnnotationRecord.annotator,
                AnnotationRecord.score,
                AnnotationRecord.comment,
            ).where(in_evaluation)
        ).all()
        judged = session.execute(
            select(
                RowRecord.external_id,
                MetricRecord.name,
                MetricVersionRecord.number,
                MetricVersionRecord.origin,
                JudgeResultRecord.judge_model,
                JudgeResultRecord.score,
                JudgeResultRecord.rationale,
                JudgeResultRecord.error,
                JudgeResultRecord.raw_output,
                JudgeResultRecord.input_tokens,
                JudgeResultRecord.output_tokens,
                JudgeResultRecord.cost_usd,
            )
            .join(RowRecord, RowRecord.id == JudgeResultRecord.row_id)
            .join(
                MetricVersionRecord, MetricVersionRecord.id == JudgeResultRecord.metric_version_id
            )
            .join(MetricRecord, MetricRecord.id == MetricVersionRecord.metric_id)
            .where(in_evaluation)
        ).all()
        resolutions = session.execute(
            _by_row_and_metric(
                ResolutionRecord, ResolutionRecord.value, ResolutionRecord.resolved_by
            ).where(in_evaluation)
        ).all()
    return {
        "rows": [tuple(r) for r in rows],
        "annotations": sorted((tuple(a) for a in annotations), key=repr),
        "judge_results": sorted((tuple(j) for j in judged), key=repr),
        "resolutions": sorted((tuple(r) for r in resolutions), key=repr),
    }


def _by_row_and_metric(
    record: type[AnnotationRecord] | type[ResolutionRecord], *columns: Any
) -> Select[Any]:
    """``columns`` of a record kept per row and metric, after the row's external id and
    the metric's name."""
    return (
        select(RowRecord.external_id, MetricRecord.name, *columns)
        .join(RowRecord, RowRecord.id == record.row_id)
        .join(MetricRecord, MetricRecord.id == record.metric_id)
    )


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def refused(
    rb: Rubricate,
    path: Path,
    evaluation: str,
    *,
    file: Path,
    line: int | None,
    field: str | None,
    text: str,
    kind: str | None = None,
) -> InvalidInput:
    """Import ``path``; check that it fails naming file, line and field, with ``text`` in
    the message, and that the database is exactly as before."""
    before = snapshot(rb)
    with pytest.raises(InvalidInput) as caught:
        rb.import_path(path, evaluation, kind=kind)
    error = caught.value
    assert (error.file, error.line, error.field) == (str(file), line, field), str(error)
    where = str(file) if line is None else f"{file}:{line}"
    if field is not None:
        where += f", field '{field}'"
    assert str(error) == f"{where}: {error.message}"
    assert text in error.message, error.message
    assert snapshot(rb) == before
    return error
