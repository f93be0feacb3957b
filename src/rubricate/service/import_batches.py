"""The batch writer behind import: rows, annotations, judge results and resolutions.

Every batch asks the database what already exists, skips what is identical, refuses what
differs, and inserts the rest with one statement per table. What the import itself wrote
is told apart from what was stored before by its id (above the highest id at the start),
so that a record repeated in a later batch is an error, not "unchanged"; nothing of the
input is kept in memory beyond a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Table
from sqlalchemy.orm import Session

from rubricate.domain.metrics import VersionOrigin
from rubricate.domain.scale import Scale
from rubricate.io.places import Repeated, Where, resolved_value, score_of, show
from rubricate.io.records import FlatRow, JudgeIn
from rubricate.service.metrics import add_version
from rubricate.store.bulk import insert_many
from rubricate.store.import_lookups import analyze, largest_id, stored_where_in
from rubricate.store.tables import (
    AnnotationRecord,
    Base,
    JudgeResultRecord,
    MetricRecord,
    ResolutionRecord,
    RowRecord,
    table_of,
)

JUDGE_PAYLOAD = (
    "score", "rationale", "error", "raw_output", "input_tokens", "output_tokens", "cost_usd",
)  # fmt: skip
ROW_FIELDS = ("input", "output", "context", "expected", "metadata")
ANALYZE_FROM = 10_000  # rows written to a table before its first ANALYZE (PostgreSQL)
NAMES = {"resolved_by": "by", "judge_model": "model"}  # columns as the layouts call them


class Counts(Protocol):
    rows_added: int
    rows_unchanged: int
    annotations_added: int
    judge_results_added: int
    resolutions_added: int


@dataclass(slots=True)
class Target:
    """A metric that records of the input score, and the version judge results pin to."""

    id: int
    name: str
    scale: Scale
    builtin: bool
    prompt: str  # the prompt of its imported version, written from the criterion
    imported_version_id: int | None  # found, or created when a judge result needs it
    versions: dict[int, int] = field(default_factory=dict)  # number -> id

    def score(self, score: float | None, label: str | None, where: Where) -> float:
        # a quick check that never lists the scale's points
        if label is None and isinstance(score, float) and self.scale.is_point(score):
            return score
        return score_of(self.scale, score, label, where)


@dataclass(frozen=True, slots=True)
class RowRef:
    id: int  # the row's id in the database
    existed: bool = True  # False: inserted by this batch, so nothing of it is stored yet


Item = tuple[Where, RowRef, Target, Any]  # where, row, metric, the record of the input


@dataclass(frozen=True, slots=True)
class _Value:
    where: Where
    kind: str  # annotation, judge result, resolution
    target: str  # the metric's name
    key_field: str  # the field that tells two records of a row apart
    record: Any
    values: dict[str, Any]
    existed: bool  # whether the row was stored before this batch: only then look it up

    @property
    def what(self) -> str:
        """The record, in messages (made only for a message: most records never need it)."""
        if self.kind == "annotation":
            return f"the annotation by {self.record.annotator!r} for {self.target!r}"
        if self.kind == "judge result":
            model = f"model {self.record.model!r}" if self.record.model else "no model"
            return f"the judge result for {self.target!r} ({model})"
        return f"the resolution for {self.target!r}"


class BatchWriter:
    def __init__(self, session: Session, evaluation_id: int, base: int, report: Counts) -> None:
        self.session = session
        self.evaluation_id = evaluation_id
        self.base = base  # positions above this were written by this import
        self.report = report
        self.targets: dict[str, Target] = {}
        self._start_ids: dict[str, int] = {}  # table -> highest id before this import
        self._analyze = session.get_bind().dialect.name == "postgresql"
        self._inserted: dict[str, tuple[int, int]] = {}  # table -> (inserted, at last ANALYZE)

    def add_rows(self, file: str, batch: Sequence[tuple[int, FlatRow]]) -> dict[str, RowRef]:
        rows = table_of(RowRecord)
        in_evaluation = rows.c.evaluation_id == self.evaluation_id
        wanted = [row.id for _, row in batch]
        stored = {
            r.external_id: r
            for r in stored_where_in(self.session, rows, rows.c.external_id, wanted, in_evaluation)
        }
        refs: dict[str, RowRef] = {}
        first_line: dict[str, int] = {}
        new: list[dict[str, Any]] = []
        for line, row in batch:
            where = Where(file, line)
            old = stored.get(row.id)
            first = first_line.get(row.id)
            if first is None and old is not None and old.position > self.base:
                first = old.position - self.base
            if first is not None:
                raise where.error(f"duplicate id {row.id!r} (first on line {first})", "id")
            first_line[row.id] = line
            if old is not None:
                for name in ROW_FIELDS:
                    if getattr(old, name) != getattr(row, name):
                        raise where.error(
                            f"row {row.id!r} is already in this evaluation with a different "
                            f"{name}: import into a new evaluation to keep both",
                            name,
                        )
                refs[row.id] = RowRef(old.id)
                self.report.rows_unchanged += 1
                continue
            new.append(
                {"evaluation_id": self.evaluation_id, "external_id": row.id,
                 "position": self.base + line} | {name: getattr(row, name) for name in ROW_FIELDS}
            )  # fmt: skip
        if new:
            inserted = self.session.execute(
                rows.insert().returning(rows.c.id, rows.c.external_id), new
            )
            for row_id, external_id in inserted:
                refs[external_id] = RowRef(row_id, existed=False)
            self.report.rows_added += len(new)
            self._grown(rows, len(new))
        return refs

    def find_rows(self, ids: Sequence[str]) -> dict[str, RowRef]:
        """The rows of the evaluation among ``ids``."""
        rows = table_of(RowRecord)
        in_evaluation = rows.c.evaluation_id == self.evaluation_id
        found = stored_where_in(self.session, rows, rows.c.external_id, ids, in_evaluation)
        return {r.external_id: RowRef(r.id) for r in found}

    def add_annotations(self, items: Sequence[Item]) -> None:
        values = [
            _Value(where, "annotation", target.name, "annotator",
                   a, {"row_id": ref.id, "metric_id": target.id, "annotator": a.annotator,
                       "score": target.score(a.score, a.label, where),
                       "comment": a.comment}, ref.existed)
            for where, ref, target, a in items
        ]  # fmt: skip
        self.report.annotations_added += self._merge(
            AnnotationRecord, ("row_id", "metric_id", "annotator"), ("score", "comment"), values
        )

    def add_judge_results(self, items: Sequence[Item]) -> None:
        values = []
        for where, ref, target, j in items:
            score = None
            if j.score is not None or j.label is not None:
                score = target.score(j.score, j.label, where)
            result = {name: getattr(j, name) for name in JUDGE_PAYLOAD} | {
                "score": score,
                "row_id": ref.id,
                "metric_version_id": self._version_for(target, j, where),
                "judge_model": j.model,
            }
            values.append(
                _Value(where, "judge result", target.name, "model", j, result, ref.existed)
            )
        self.report.judge_results_added += self._merge(
            JudgeResultRecord, ("row_id", "metric_version_id", "judge_model"), JUDGE_PAYLOAD, values
        )

    def add_resolutions(self, items: Sequence[Item]) -> None:
        values = [
            _Value(where, "resolution", target.name, "metric", r,
                   {"row_id": ref.id, "metric_id": target.id, "resolved_by": r.by,
                    "value": resolved_value(target.scale, r, where)}, ref.existed)
            for where, ref, target, r in items
        ]  # fmt: skip
        self.report.resolutions_added += self._merge(
            ResolutionRecord, ("row_id", "metric_id"), ("value", "resolved_by"), values
        )

    def _merge(
        self,
        record: type[Base],
        key: tuple[str, ...],
        payload: tuple[str, ...],
        items: Sequence[_Value],
    ) -> int:
        """Insert what is new; skip what was stored identically before this import;
        refuse what differs, and what this import gives twice."""
        if not items:
            return 0
        table = table_of(record)
        if table.name not in self._start_ids:  # before this import's first insert into it
            self._start_ids[table.name] = largest_id(self.session, table)
        start = self._start_ids[table.name]
        columns = [table.c[c] for c in (*key, *payload)] + [table.c.id]
        row_ids = [item.values["row_id"] for item in items if item.existed]
        stored = {
            tuple(found[: len(key)]): tuple(found[len(key) :])
            for found in stored_where_in(
                self.session, table, table.c.row_id, row_ids, columns=columns
            )
        }
        first: dict[tuple[Any, ...], Where] = {}
        new = []
        for item in items:
            where, values = item.where, item.values
            identity = tuple(values[c] for c in key)
            if identity in first:
                since = where.since(first[identity])
                raise where.error(
                    f"{item.what} is given twice for this row ({since})", item.key_field
                )
            first[identity] = where
            old = stored.get(identity)
            if old is None:
                new.append(values)
                continue
            if old[-1] > start:  # written by an earlier batch of this import
                raise Repeated(item.what, where, item.key_field, item.record)
            for name, before in zip(payload, old, strict=False):
                if before != values[name]:
                    raise where.error(
                        f"{item.what} is already stored with a different {NAMES.get(name, name)}"
                        f" ({show(before)} stored, {show(values[name])} here): import into a "
                        "new evaluation to keep both",
                        NAMES.get(name, name),
                    )
        if new:  # created_at by the database: no Python default and conversion per record
            insert_many(self.session, table, new)
            self._grown(table, len(new))
        return len(new)

    def _grown(self, table: Table, count: int) -> None:
        """On PostgreSQL, ANALYZE a table each time this import has doubled what it wrote
        to it: the planner has no statistics on rows of an open transaction (ANALYZE in it
        counts them) and would otherwise filter every row of the evaluation per lookup,
        which makes a large import quadratic."""
        if not self._analyze:
            return
        done, analyzed = self._inserted.get(table.name, (0, 0))
        done += count
        if done >= max(2 * analyzed, ANALYZE_FROM):
            analyze(self.session, table)
            analyzed = done
        self._inserted[table.name] = (done, analyzed)

    def _version_for(self, target: Target, judge: JudgeIn, where: Where) -> int:
        if judge.metric_version is not None:
            version_id = target.versions.get(judge.metric_version)
            if version_id is None:
                known = ", ".join(str(n) for n in sorted(target.versions))
                raise where.error(
                    f"metric {target.name!r} has no version {judge.metric_version} "
                    f"(versions: {known})",
                    "metric_version",
                )
            return version_id
        if target.imported_version_id is None:
            if target.builtin:
                raise where.error(
                    f"{target.name!r} is a built-in metric: scores from elsewhere cannot be "
                    "pinned to its prompt; import them under another criterion name, or give "
                    "the metric_version that scored them",
                    "metric_version",
                )
            record = self.session.get_one(MetricRecord, target.id)
            version = add_version(
                self.session, record, prompt=target.prompt, scale=target.scale,
                origin=VersionOrigin.IMPORT,
            )  # fmt: skip
            target.imported_version_id = version.id
            target.versions[version.number] = version.id
        return target.imported_version_id
