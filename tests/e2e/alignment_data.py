"""A workspace built from a real data set for the alignment end-to-end tests:
writingprompts (400 stories, each rated by three English teachers), criterion ``relevant``
(1-5), with synthetic judge scores from fixed rules written into each row's ``judge``
field, imported and resolved with the median policy.

Every expectation is computed here from ``rows.jsonl`` with ``json`` and ``statistics``
only, never with rubricate's own code. The fixed rules (nobody tunes them per test):

- *long*: the output has more characters than the median output of the 400 rows;
- *question*: the input, without trailing white space, ends with ``?``;
- *model-written*: ``metadata.human_written`` is false;
- the rows whose position (0-based) is 7 modulo 10 keep only their first two reviewers:
  the median of two decides only when they agree, so some of them stay unresolved;
- the rows whose position is 5 modulo 16 carry no judge result;
- the stored judge's score is the human score (the first reviewer's where the median
  cannot decide), +2 on a long output, +1 on a question, -1 on a short model-written
  output, clipped to 1..5.

The fake judge model used for verification scores a row the same way, except that the
length guideline in its prompt removes the +2 and the model-written guideline removes
the -1.
"""

from __future__ import annotations

import functools
import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from rubricate import Rubricate
from rubricate.store.tables import EvaluationRecord, RowRecord
from rubricate.testing.datasets import dataset_row, write_dataset_folder

DATA_SET = "writingprompts"
CRITERION = "relevant"
EVALUATION = "wp-relevant"
STORED_JUDGE = "sim:judge"  # the model named on the stored (synthetic) judge results
LOW, HIGH = 1.0, 5.0

LENGTH_BONUS = 2
QUESTION_BONUS = 1
MODEL_WRITTEN_PENALTY = 1
TWO_REVIEWERS = (10, 7)  # position % 10 == 7: the first two reviewers only
NO_JUDGE = (16, 5)  # position % 16 == 5: no judge result

# The guidelines the fake reflection model proposes and the fake judge understands.
LENGTH_GUIDELINE = "Do not reward length: a long story is not more relevant for being long."
MODEL_GUIDELINE = "Score a short story written by a model as you would one written by a person."


@dataclass(frozen=True)
class RealRow:
    position: int
    external_id: str
    input: str
    output: str
    metadata: dict[str, Any]
    reviews: tuple[dict[str, Any], ...]  # the reviewers' annotations kept
    human: float | None  # median-resolved; None where the median cannot decide
    judge: float | None  # the stored judge's score; None where the row carries none
    long: bool
    question: bool
    model_written: bool

    @property
    def usable(self) -> bool:
        return self.human is not None and self.judge is not None

    def gap(self) -> float:
        """Judge minus human (usable rows only)."""
        assert self.judge is not None and self.human is not None
        return self.judge - self.human

    def disagrees(self, delta: float) -> bool:
        return self.usable and abs(self.gap()) >= delta

    def judged_with(self, guidelines: str) -> float:
        """The fake judge model's score under a prompt holding ``guidelines``."""
        assert self.human is not None
        return score(
            self.human,
            long=self.long and LENGTH_GUIDELINE not in guidelines,
            question=self.question,
            model_written=self.model_written and MODEL_GUIDELINE not in guidelines,
        )


def clip(value: float) -> float:
    return min(HIGH, max(LOW, value))


def score(human: float, *, long: bool, question: bool, model_written: bool) -> float:
    value = human
    if long:
        value += LENGTH_BONUS
    if question:
        value += QUESTION_BONUS
    if model_written and not long:
        value -= MODEL_WRITTEN_PENALTY
    return clip(value)


def median_resolved(scores: Iterable[float]) -> float | None:
    """The median policy as the product describes it: with an even number of reviewers,
    only when the two middle values are equal."""
    ordered = sorted(scores)
    if not ordered:
        return None
    if len(ordered) % 2:
        return float(statistics.median(ordered))
    low, high = ordered[len(ordered) // 2 - 1], ordered[len(ordered) // 2]
    return float(low) if low == high else None


@dataclass(frozen=True)
class RealData:
    criterion: dict[str, Any]  # the criterion as dataset.json gives it
    task: str
    median_length: float
    rows: tuple[RealRow, ...]

    def by_external(self) -> dict[str, RealRow]:
        return {row.external_id: row for row in self.rows}

    def by_output(self) -> dict[str, RealRow]:
        found = {row.output: row for row in self.rows}
        assert len(found) == len(self.rows), "outputs are not unique: the fake judge needs them"
        return found


@functools.cache
def load(root: Path) -> RealData:
    """The 400 rows of writingprompts with the fixed rules applied."""
    folder = root / DATA_SET
    manifest = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    criterion = next(c for c in manifest["criteria"] if c["name"] == CRITERION)
    lines = (folder / "rows.jsonl").read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    median_length = statistics.median(len(item["output"]) for item in items)
    rows = []
    for position, item in enumerate(items):
        reviews = tuple(item["annotations"][CRITERION])
        if position % TWO_REVIEWERS[0] == TWO_REVIEWERS[1]:
            reviews = reviews[:2]
        human = median_resolved(float(r["score"]) for r in reviews)
        long = len(item["output"]) > median_length
        question = item["input"].rstrip().endswith("?")
        model_written = item.get("metadata", {}).get("human_written") is False
        judged = position % NO_JUDGE[0] != NO_JUDGE[1]
        base = human if human is not None else float(reviews[0]["score"])
        rows.append(
            RealRow(
                position=position,
                external_id=str(item["id"]),
                input=item["input"],
                output=item["output"],
                metadata=dict(item.get("metadata") or {}),
                reviews=reviews,
                human=human,
                judge=score(base, long=long, question=question, model_written=model_written)
                if judged
                else None,
                long=long,
                question=question,
                model_written=model_written,
            )
        )
    return RealData(
        criterion=criterion,
        task=str(manifest.get("task", "")),
        median_length=float(median_length),
        rows=tuple(rows),
    )


@dataclass(frozen=True)
class Expected:
    """What phases 1 and 2 must find at a delta, counted from the rows."""

    usable: int
    missing_judge: int  # no judge result
    missing_human: int  # a judge result, but no resolved value
    lenient: frozenset[str]  # external ids: judge - human >= delta
    harsh: frozenset[str]  # human - judge >= delta

    @property
    def disagreements(self) -> int:
        return len(self.lenient) + len(self.harsh)

    @property
    def agreeing(self) -> int:
        return self.usable - self.disagreements


def expected(data: RealData, delta: float) -> Expected:
    usable = [row for row in data.rows if row.usable]
    return Expected(
        usable=len(usable),
        missing_judge=sum(1 for row in data.rows if row.judge is None),
        missing_human=sum(1 for row in data.rows if row.judge is not None and row.human is None),
        lenient=frozenset(r.external_id for r in usable if r.gap() >= delta),
        harsh=frozenset(r.external_id for r in usable if -r.gap() >= delta),
    )


def write_dataset(
    data: RealData,
    folder: Path,
    *,
    metric: str = CRITERION,
    metric_version: int | None = None,
) -> Path:
    """``dataset.json`` and ``rows.jsonl``: the rows with their kept reviewers and their
    synthetic judge result, under criterion ``metric`` (its judge results pinned to
    ``metric_version`` when given)."""
    criterion = {**data.criterion, "name": metric}
    manifest = {
        "name": f"{DATA_SET}-{metric}",
        "rows": len(data.rows),
        "source": f"../shared/data/{DATA_SET} (with synthetic judge scores)",
        "task": data.task,
        "criteria": [criterion],
    }
    pinned = {} if metric_version is None else {"metric_version": metric_version}

    def item(row: RealRow) -> dict[str, Any]:
        judge = {"score": row.judge, "rationale": "synthetic", "model": STORED_JUDGE} | pinned
        return dataset_row(
            row.external_id,
            row.input,
            row.output,
            row.metadata,
            metric,
            row.reviews,
            None if row.judge is None else judge,
        )

    return write_dataset_folder(folder, manifest, map(item, data.rows))


def row_ids(rb: Rubricate, evaluation: str) -> dict[int, str]:
    """The workspace's row ids (the ids traces and guidelines name) to external ids."""
    with rb.db.read() as session:
        found = session.execute(
            select(RowRecord.id, RowRecord.external_id)
            .join(EvaluationRecord, EvaluationRecord.id == RowRecord.evaluation_id)
            .where(EvaluationRecord.name == evaluation)
        ).all()
    return {int(row_id): str(external) for row_id, external in found}


def build(
    rb: Rubricate,
    data: RealData,
    folder: Path,
    *,
    evaluation: str = EVALUATION,
    metric: str = CRITERION,
    metric_version: int | None = None,
    resolve: bool = True,
) -> dict[int, str]:
    """Write the data set, import it into ``evaluation`` and (unless ``resolve`` is
    False) resolve it with the median policy; the workspace's row ids to external ids."""
    written = write_dataset(data, folder, metric=metric, metric_version=metric_version)
    rb.import_path(written, evaluation)
    if resolve:
        rb.annotations.resolve(evaluation, metric, "median")
    ids = row_ids(rb, evaluation)
    assert len(ids) == len(data.rows)
    return ids
