"""Shared by the alignment benchmarks: real rows from ``../shared/data`` with synthetic
judge scores, written as a dataset folder, imported into a workspace and resolved with the
median policy; and the simulation's fixed rules (the blind-spot judge and the reflection
model that reads traces), as functions of the text a model is sent.

The rules, fixed so that nobody tunes them (see bench/README.md, "Alignment"):

- A row's *human* score is its resolved value: the median of its reviewers' scores (every
  row of both sets has three reviewers, so the median always decides).
- *Long*: the output has more characters than the median output of the data set.
- *Question*: the input, without trailing white space, ends with ``?``.
- The fake judge gives the human score, plus 2 on a long output unless the length
  guideline is in its prompt, plus 1 on a question unless the question guideline is,
  clipped to the scale; when the spurious guideline is in its prompt, a seeded 20% of rows
  (by a hash of the run's seed and the row's id) lose 1 more (clipped).
- The fake reflection model proposes a blind spot's guideline, with those rows' ids, when
  at least 3 of its batch's traces show it (judge too lenient on a long output / on a
  question), and in 30% of batches (seeded by the run's seed and the batch's row ids) also
  the spurious guideline with up to 3 of the batch's rows.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import shared_data
from rubricate import Direction
from rubricate.alignment.trace_format import data_blocks, parse_blocks
from rubricate.testing.datasets import dataset_row, write_dataset_folder
from sim.judge import text_key

SHARED_DATA = shared_data()

# The data sets and the criterion of each that is used (writingprompts' `relevant` has
# the flattest distribution of its four, so a +2 blind spot shows on most rows).
CRITERIA = {"writingprompts": "relevant", "feedbackqa": "answer_quality"}

LENGTH_GUIDELINE = "Do not reward length: a long output is not better for being long."
QUESTION_GUIDELINE = "Do not give extra credit because the input is a question."
SPURIOUS_GUIDELINE = "Penalise answers that mention numbers."
SHORT_NAMES = {
    LENGTH_GUIDELINE: "length",
    QUESTION_GUIDELINE: "question",
    SPURIOUS_GUIDELINE: "spurious",
}
STORED_JUDGE = "sim:judge"  # the model name on the stored (synthetic) judge results

LENGTH_BONUS = 2
QUESTION_BONUS = 1
MIN_SUPPORT = 3  # traces in a batch that must show a blind spot for its guideline
SPURIOUS_BATCHES = 0.3  # share of reflection batches that also propose the spurious one
SPURIOUS_ROWS = 0.2  # share of rows the spurious guideline lowers by 1
SPURIOUS_SUPPORT = 3  # row ids the spurious guideline cites (at most)


def is_question(text: str) -> bool:
    return text.rstrip().endswith("?")


def median_resolved(scores: Iterable[float]) -> float | None:
    """The median policy: the middle score; with an even count, only when both middles
    agree (as ``rubricate.domain.resolution``)."""
    ordered = sorted(scores)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    low, high = ordered[middle - 1], ordered[middle]
    return float(low) if low == high else None


def _fraction(*parts: object) -> float:
    """A number in [0, 1) from a hash of ``parts``: stable across runs and processes."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class SimRow:
    external_id: str
    input: str
    output: str
    metadata: dict[str, Any]
    annotations: tuple[dict[str, Any], ...]
    human: float | None  # the median-resolved value
    long: bool
    question: bool


@dataclass
class SimData:
    name: str
    criterion: dict[str, Any]  # the criterion of dataset.json (name, scale, description)
    task: str
    low: float
    high: float
    median_length: float  # characters of output
    rows: list[SimRow]
    dropped_duplicates: int = 0
    by_text: dict[str, SimRow] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_text = {text_key(r.input, r.output): r for r in self.rows}

    @property
    def metric(self) -> str:
        return str(self.criterion["name"])

    @property
    def points(self) -> list[float]:
        return [float(p) for p in range(int(self.low), int(self.high) + 1)]

    def clip(self, score: float) -> float:
        return min(self.high, max(self.low, score))

    def resolved(self) -> list[SimRow]:
        return [r for r in self.rows if r.human is not None]


def load(name: str, *, limit: int | None = None, root: Path = SHARED_DATA) -> SimData:
    """The first ``limit`` rows (all by default) of a shared data set, for its criterion
    in ``CRITERIA``. A row whose input and output repeat an earlier row's is left out:
    the fake judge recognises a row by those texts (feedbackqa has one such pair, with
    different reviewers' scores)."""
    folder = root / name
    if not (folder / "rows.jsonl").is_file():
        raise SystemExit(
            f"no data set at {folder}: the shared data sets are read from {root} "
            "(set RUBRICATE_SHARED_DATA to another folder)"
        )
    manifest = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    criterion = next(c for c in manifest["criteria"] if c["name"] == CRITERIA[name])
    scale = criterion["scale"]
    if scale["type"] != "ordinal":
        raise SystemExit(f"{name}: the simulation needs an ordinal scale")
    raw: list[dict[str, Any]] = []
    seen: set[str] = set()
    dropped = 0
    with (folder / "rows.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and len(raw) >= limit:
                break
            if not line.strip():
                continue
            item = json.loads(line)
            key = text_key(item["input"], item["output"])
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            raw.append(item)
    median_length = statistics.median(len(item["output"]) for item in raw)
    rows = []
    for item in raw:
        given = tuple(item.get("annotations", {}).get(criterion["name"], []))
        rows.append(
            SimRow(
                external_id=str(item["id"]),
                input=item["input"],
                output=item["output"],
                metadata=item.get("metadata") or {},
                annotations=given,
                human=median_resolved(a["score"] for a in given if a.get("score") is not None),
                long=len(item["output"]) > median_length,
                question=is_question(item["input"]),
            )
        )
    return SimData(
        name=name,
        criterion={k: criterion[k] for k in ("name", "scale", "description") if k in criterion},
        task=str(manifest.get("task", "")),
        low=float(scale["min"]),
        high=float(scale["max"]),
        median_length=float(median_length),
        rows=rows,
        dropped_duplicates=dropped,
    )


# -- the fixed rules ---------------------------------------------------------------------


def spurious_hit(seed: int, row: SimRow) -> bool:
    """Whether the spurious guideline lowers this row in the run of ``seed``."""
    return _fraction("spurious-row", seed, row.external_id) < SPURIOUS_ROWS


def sim_score(
    data: SimData,
    row: SimRow,
    *,
    length_guided: bool,
    question_guided: bool,
    spurious: bool,
    seed: int,
) -> float:
    """The fake judge's score of ``row`` under a prompt with the given guidelines."""
    if row.human is None:
        raise ValueError(f"row {row.external_id} has no resolved human score")
    score = row.human
    if row.long and not length_guided:
        score += LENGTH_BONUS
    if row.question and not question_guided:
        score += QUESTION_BONUS
    score = data.clip(score)
    if spurious and spurious_hit(seed, row):
        score = data.clip(score - 1)
    return score


def unguided_score(data: SimData, row: SimRow) -> float:
    """The judge's score with the current (imported) prompt: both blind spots."""
    return sim_score(data, row, length_guided=False, question_guided=False, spurious=False, seed=0)


def oracle_score(data: SimData, row: SimRow) -> float:
    """The score with the oracle guidelines: both blind spots removed, nothing spurious."""
    return sim_score(data, row, length_guided=True, question_guided=True, spurious=False, seed=0)


# -- reading what a model is sent ----------------------------------------------------------

# The fakes read a request as a model would, through the format's own reader
# (rubricate.alignment.trace_format): data blocks of a judge's message, traces of a batch.


class Simulation:
    """The fake judge and the fake reflection model of one data set, for one run at a
    time (``seed`` is the run's). ``ids`` maps the workspace's row ids (which traces name)
    to the rows."""

    def __init__(self, data: SimData, ids: dict[int, SimRow]) -> None:
        self.data = data
        self.ids = ids
        self.seed = 0
        self.judge_calls = 0
        self.reflection_calls = 0
        self.spurious_batches = 0
        self.batches = 0

    def judge(self, system: str, user: str) -> dict[str, Any]:
        self.judge_calls += 1
        found = data_blocks(user)
        row = self.data.by_text.get(text_key(found.get("INPUT", ""), found.get("OUTPUT", "")))
        if row is None:
            raise RuntimeError("the fake judge was sent a row it does not know")
        score = sim_score(
            self.data,
            row,
            length_guided=LENGTH_GUIDELINE in system,
            question_guided=QUESTION_GUIDELINE in system,
            spurious=SPURIOUS_GUIDELINE in system,
            seed=self.seed,
        )
        return {"score": score, "rationale": "sim"}

    def reflect(self, user: str) -> dict[str, Any]:
        self.reflection_calls += 1
        self.batches += 1
        seen = parse_blocks(user)
        shown = [(t, self.ids[t.row_id]) for t in seen if t.row_id in self.ids]
        lenient = Direction.TOO_LENIENT
        long_ids = [t.row_id for t, row in shown if t.direction is lenient and row.long]
        question_ids = [t.row_id for t, row in shown if t.direction is lenient and row.question]
        proposed: list[dict[str, Any]] = []
        if len(long_ids) >= MIN_SUPPORT:
            proposed.append(
                {"text": LENGTH_GUIDELINE, "direction": "too_lenient", "row_ids": long_ids}
            )
        if len(question_ids) >= MIN_SUPPORT:
            proposed.append(
                {"text": QUESTION_GUIDELINE, "direction": "too_lenient", "row_ids": question_ids}
            )
        batch_ids = sorted(t.row_id for t in seen)
        rng = random.Random(f"spurious-batch:{self.seed}:{batch_ids}")
        if batch_ids and rng.random() < SPURIOUS_BATCHES:
            self.spurious_batches += 1
            cited = sorted(rng.sample(batch_ids, min(SPURIOUS_SUPPORT, len(batch_ids))))
            proposed.append(
                {"text": SPURIOUS_GUIDELINE, "direction": "too_lenient", "row_ids": cited}
            )
        return {"guidelines": proposed}


# -- a workspace holding the data ----------------------------------------------------------


def write_folder(
    data: SimData,
    folder: Path,
    judge: Callable[[SimRow], float | None] | None,
    *,
    model: str = STORED_JUDGE,
) -> Path:
    """``dataset.json`` and ``rows.jsonl`` of ``data`` (its one criterion), each row with
    the judge result ``judge(row)`` when that is not None."""
    manifest = {
        "name": data.name,
        "rows": len(data.rows),
        "source": f"../shared/data/{data.name} (with synthetic judge scores)",
        "task": data.task,
        "criteria": [data.criterion],
    }

    def item(row: SimRow) -> dict[str, Any]:
        score = judge(row) if judge is not None else None
        stored = None if score is None else {"score": score, "rationale": "synthetic"}
        return dataset_row(
            row.external_id,
            row.input,
            row.output,
            row.metadata,
            data.metric,
            row.annotations,
            None if stored is None else stored | {"model": model},
        )

    return write_dataset_folder(folder, manifest, map(item, data.rows))


def timed_alignment(rb: Any, data: SimData, **options: Any) -> tuple[Any, float]:
    """An alignment run of ``data`` (its metric, its evaluation named after it) without the
    response cache, carried out to its end with ``options``; the run and its wall time."""
    started = time.perf_counter()
    run = rb.alignment_runs.align(
        metric=data.metric, evaluations=[data.name], cache=False, **options
    )
    return run, time.perf_counter() - started


def result_of(run: Any, label: str) -> Any:
    """The ended run's result; the bench exits, saying how the run ended, when it has none."""
    if run.result is None:
        raise SystemExit(f"{label}: the alignment run ended {run.status}: {run.error}")
    return run.result


def verified_kappas(verification: Any) -> tuple[float | None, float | None]:
    """The weighted kappa on the test rows before and after the kept guidelines (None where
    verification measured none)."""
    before, after = verification.before, verification.after
    return (
        before.kappa.value if before is not None else None,
        after.kappa.value if after is not None else None,
    )


def import_and_resolve(rb: Any, data: SimData, folder: Path, evaluation: str) -> dict[int, SimRow]:
    """Import the folder into ``evaluation``, resolve with the median policy, check that
    the stored resolutions are the values computed here, and return the rows by their
    workspace id (the id traces show)."""
    from sqlalchemy import select

    from rubricate.store.tables import EvaluationRecord, MetricRecord, ResolutionRecord, RowRecord

    rb.import_path(folder, evaluation)
    rb.annotations.resolve(evaluation, data.metric, "median")
    by_external = {r.external_id: r for r in data.rows}
    with rb.db.read() as session:
        metric_id = session.scalar(select(MetricRecord.id).where(MetricRecord.name == data.metric))
        stored = session.execute(
            select(RowRecord.id, RowRecord.external_id, ResolutionRecord.value)
            .join(EvaluationRecord, EvaluationRecord.id == RowRecord.evaluation_id)
            .outerjoin(
                ResolutionRecord,
                (ResolutionRecord.row_id == RowRecord.id)
                & (ResolutionRecord.metric_id == metric_id),
            )
            .where(EvaluationRecord.name == evaluation)
        ).all()
    ids: dict[int, SimRow] = {}
    for row_id, external_id, value in stored:
        row = by_external[external_id]
        if (None if value is None else float(value)) != row.human:
            raise RuntimeError(
                f"{data.name} row {external_id}: resolved {value} in the workspace, "
                f"{row.human} computed by the benchmark"
            )
        ids[row_id] = row
    if len(ids) != len(data.rows):
        raise RuntimeError(f"{data.name}: {len(ids)} rows imported, {len(data.rows)} written")
    return ids
