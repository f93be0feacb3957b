"""The batch writer behind import: rows, annotations, judge results and resolutions.

Every batch asks the database what already exists, skips what is identical, refuses what
differs, and inserts the rest with one statement per table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale, ScaleError
from rubricate.io.readers import read_csv, read_jsonl
from rubricate.io.records import (
    AnnotationIn,
    FlatAnnotation,
    FlatJudgeResult,
    FlatResolution,
    FlatRow,
    JudgeIn,
    ResolvedIn,
    RowIn,
)
from rubricate.store.tables import (
    AnnotationRecord,
    Base,
    JudgeResultRecord,
    ResolutionRecord,
    RowRecord,
    table_of,
)
from rubricate.util import batched

RowLike = RowIn | FlatRow


@dataclass(frozen=True, slots=True)
class Where:
    """A place in the input, for error messages."""

    file: str
    line: int
    field: str

    def error(self, message: str, suffix: str = "") -> InvalidInput:
        name = f"{self.field}{suffix}" if self.field else suffix.lstrip(".") or None
        return InvalidInput(message, file=self.file, line=self.line, field=name)


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    name: str
    scale: Scale
    imported_version_id: int | None
    versions: dict[int, int]


@dataclass(frozen=True, slots=True)
class RowRef:
    id: int
    existed: bool  # stored before this import began


class BatchWriter:
    def __init__(self, session: Session, evaluation_id: int, base: int, report: Any) -> None:
        self.session = session
        self.evaluation_id = evaluation_id
        self.base = base  # positions above this were written by this import
        self.report = report
        self.targets: dict[str, Target] = {}

    # rows

    def add_rows(self, file: str, batch: Sequence[tuple[int, RowLike]]) -> dict[str, RowRef]:
        ids = [row.id for _, row in batch]
        stored = {
            r.external_id: r
            for r in self.session.scalars(
                select(RowRecord).where(
                    RowRecord.evaluation_id == self.evaluation_id, RowRecord.external_id.in_(ids)
                )
            )
        }
        refs: dict[str, RowRef] = {}
        first_line: dict[str, int] = {}
        new: list[dict[str, Any]] = []
        for line, row in batch:
            where = Where(file, line, "id")
            if row.id in first_line:
                raise where.error(f"duplicate id {row.id!r} (first on line {first_line[row.id]})")
            first_line[row.id] = line
            old = stored.get(row.id)
            if old is not None and old.position > self.base:
                raise where.error(
                    f"duplicate id {row.id!r} (first on line {old.position - self.base})"
                )
            if old is not None:
                _same_row(old, row, Where(file, line, ""))
                refs[row.id] = RowRef(old.id, existed=True)
                self.report.rows_unchanged += 1
                continue
            new.append(
                {
                    "evaluation_id": self.evaluation_id,
                    "external_id": row.id,
                    "position": self.base + line,
                    "input": row.input,
                    "output": row.output,
                    "context": row.context,
                    "expected": row.expected,
                    "metadata": row.metadata,
                }
            )
        if new:
            inserted = self.session.execute(
                table_of(RowRecord).insert().returning(RowRecord.id, RowRecord.external_id), new
            )
            for row_id, external_id in inserted.tuples():
                refs[external_id] = RowRef(row_id, existed=False)
            self.report.rows_added += len(new)
        return refs

    def find_rows(self, file: str, items: Sequence[tuple[int, str]]) -> dict[str, RowRef]:
        """Rows that flat records refer to; each must exist in the evaluation."""
        wanted = {row_id for _, row_id in items}
        found = dict(
            self.session.execute(
                select(RowRecord.external_id, RowRecord.id).where(
                    RowRecord.evaluation_id == self.evaluation_id,
                    RowRecord.external_id.in_(wanted),
                )
            )
            .tuples()
            .all()
        )
        for line, row_id in items:
            if row_id not in found:
                raise InvalidInput(
                    f"no row {row_id!r} in this evaluation: import its row first",
                    file=file,
                    line=line,
                    field="row_id",
                )
        return {k: RowRef(v, existed=True) for k, v in found.items()}

    # annotations, judge results, resolutions

    def add_annotations(self, items: Sequence[tuple[Where, RowRef, Target, AnnotationIn]]) -> None:
        values = [
            (
                where,
                {
                    "row_id": ref.id,
                    "metric_id": target.id,
                    "annotator": a.annotator,
                    "score": score_of(target.scale, a.score, a.label, where),
                    "comment": a.comment,
                },
            )
            for where, ref, target, a in items
        ]
        self.report.annotations_added += self._merge(
            AnnotationRecord, ("row_id", "metric_id", "annotator"), ("score", "comment"), values
        )

    def add_judge_results(self, items: Sequence[tuple[Where, RowRef, Target, JudgeIn]]) -> None:
        values = []
        for where, ref, target, j in items:
            score = None
            if j.score is not None or j.label is not None:
                score = score_of(target.scale, j.score, j.label, where)
            values.append(
                (
                    where,
                    {
                        "row_id": ref.id,
                        "metric_version_id": _version_for(target, j, where),
                        "judge_model": j.model,
                        "score": score,
                        "rationale": j.rationale,
                        "error": j.error,
                    },
                )
            )
        self.report.judge_results_added += self._merge(
            JudgeResultRecord,
            ("row_id", "metric_version_id", "judge_model"),
            ("score", "rationale", "error"),
            values,
        )

    def add_resolutions(self, items: Sequence[tuple[Where, RowRef, Target, ResolvedIn]]) -> None:
        values = [
            (
                where,
                {
                    "row_id": ref.id,
                    "metric_id": target.id,
                    "value": _resolved_value(target.scale, r, where),
                    "resolved_by": r.by,
                },
            )
            for where, ref, target, r in items
        ]
        self.report.resolutions_added += self._merge(
            ResolutionRecord, ("row_id", "metric_id"), ("value", "resolved_by"), values
        )

    def _merge(
        self,
        record: type[Base],
        key: tuple[str, ...],
        payload: tuple[str, ...],
        items: Sequence[tuple[Where, dict[str, Any]]],
    ) -> int:
        """Insert what is new; skip what is stored identically; refuse what differs."""
        if not items:
            return 0
        table = table_of(record)
        row_ids = {values["row_id"] for _, values in items}
        stored: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for chunk in batched(sorted(row_ids), 5000):
            query = select(*(table.c[c] for c in key + payload)).where(table.c.row_id.in_(chunk))
            for found in self.session.execute(query).tuples():
                stored[tuple(found[: len(key)])] = tuple(found[len(key) :])
        first: dict[tuple[Any, ...], int] = {}
        new = []
        for where, values in items:
            identity = tuple(values[c] for c in key)
            if identity in first:
                raise where.error(f"given twice for this row (first on line {first[identity]})")
            first[identity] = where.line
            old = stored.get(identity)
            if old is None:
                new.append(values)
            elif old != tuple(values[c] for c in payload):
                fields = ", ".join(
                    c
                    for c, a, b in zip(payload, old, (values[c] for c in payload), strict=True)
                    if a != b
                )
                raise where.error(
                    f"differs from what is stored ({fields}); import into a new "
                    "evaluation to keep both"
                )
        if new:
            self.session.execute(table.insert(), new)
        return len(new)


def score_of(scale: Scale, score: float | None, label: str | None, where: Where) -> float:
    """A number on the scale from a score, a label, or both when they agree."""
    try:
        by_label = scale.value_of(label) if label is not None else None
    except ScaleError as exc:
        raise where.error(str(exc), ".label") from None
    if score is None:
        assert by_label is not None  # the record's validator asks for one of them
        return by_label
    try:
        number = scale.check(score)
    except ScaleError as exc:
        raise where.error(str(exc), ".score") from None
    if by_label is not None and by_label != number:
        raise where.error(
            f"label {label!r} means {by_label:g}, but the score is {number:g}", ".label"
        )
    return number


def _resolved_value(scale: Scale, resolved: ResolvedIn, where: Where) -> float:
    if resolved.value is not None and resolved.label is None and scale.is_numeric:
        # a mean of reviewers may be fractional, so only the range is checked
        if not scale.low <= resolved.value <= scale.high:
            raise where.error(
                f"value {resolved.value:g} is outside the scale {scale.describe()}", ".value"
            )
        return resolved.value
    return score_of(scale, resolved.value, resolved.label, where)


def _version_for(target: Target, judge: JudgeIn, where: Where) -> int:
    if judge.metric_version is not None:
        version_id = target.versions.get(judge.metric_version)
        if version_id is None:
            raise where.error(
                f"metric {target.name!r} has no version {judge.metric_version}", ".metric_version"
            )
        return version_id
    if target.imported_version_id is None:
        raise where.error(
            f"{target.name!r} is a built-in metric: scores from elsewhere cannot be pinned to "
            "its prompt; import them under another criterion name"
        )
    return target.imported_version_id


def _same_row(old: RowRecord, new: RowLike, where: Where) -> None:
    for name, before, after in (
        ("input", old.input, new.input),
        ("output", old.output, new.output),
        ("context", old.context, new.context),
        ("expected", old.expected, new.expected),
        ("metadata", old.row_metadata, new.metadata),
    ):
        if before != after:
            raise where.error(
                f"row {new.id!r} is already in this evaluation with a different {name}; "
                "import into a new evaluation to keep both",
                name,
            )


def flat_reader(path: Path, model: type[BaseModel]) -> Iterator[tuple[int, Any]]:
    return read_csv(path, model) if path.suffix == ".csv" else read_jsonl(path, model)


FLAT_MODELS: dict[str, type[BaseModel]] = {
    "rows": FlatRow,
    "annotations": FlatAnnotation,
    "judge_results": FlatJudgeResult,
    "resolutions": FlatResolution,
}
