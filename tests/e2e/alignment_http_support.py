"""Shared by the test_alignment_http*.py modules, which run alignment end to end over HTTP
on a real data set: writingprompts' ``relevant`` (400 rows, three teachers each,
median-resolved) with synthetic judge scores from fixed rules (tests/e2e/alignment_data.py).
The reflection model (``openai-chat:fake-reflect``) and the judge model
(``openai-chat:fake-judge``) are the fake OpenAI-compatible server, reached through the real
client path. Every expectation is computed from rows.jsonl with json and statistics, not from
rubricate's code; only which part of the held-out split a row falls in is rubricate's seeded
hash, part_of(group_key(input), seed), which is what the split is defined as.

Here: the fake reflection model (``proposing``), what a reflection or judge request shows,
and ``Real``, the workspace holding the data set, with its fixtures ``data`` and ``real``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.e2e.alignment_data import (
    CRITERION,
    EVALUATION,
    LENGTH_GUIDELINE,
    MODEL_GUIDELINE,
    RealData,
    RealRow,
    build,
    load,
)
from tests.e2e.conftest import FAST

from rubricate import Rubricate, Settings
from rubricate.alignment.trace_format import data_blocks, parse_blocks
from rubricate.domain.alignment_runs import AlignmentRun, Budget
from rubricate.domain.traces import Direction
from rubricate.store.tables import AlignmentRunRecord
from rubricate.testing.fake_openai import FakeOpenAI, FakeReply, FakeRequest

REFLECT = "openai-chat:fake-reflect"
JUDGE = "openai-chat:fake-judge"
MANY = Budget(max_calls=5000, max_tokens=50_000_000, max_cost_usd=None)


Seen = list[tuple[int, bool]]  # (row id, judge too lenient) of each trace in a request
Reflect = Callable[[Seen], dict[str, Any]]


def proposing(when_lenient: str, when_harsh: str) -> Reflect:
    """A fake reflection model: ``when_lenient`` with the batch's too-lenient rows,
    ``when_harsh`` with its too-harsh rows (each only when there are some)."""

    def reflect(seen: Seen) -> dict[str, Any]:
        lenient = [row_id for row_id, is_lenient in seen if is_lenient]
        harsh = [row_id for row_id, is_lenient in seen if not is_lenient]
        found: list[dict[str, Any]] = []
        if lenient:
            found.append({"text": when_lenient, "direction": "too_lenient", "row_ids": lenient})
        if harsh:
            found.append({"text": when_harsh, "direction": "too_harsh", "row_ids": harsh})
        return {"guidelines": found}

    return reflect


# The length guideline and the model-written one.
propose = proposing(LENGTH_GUIDELINE, MODEL_GUIDELINE)


def traces_in(request: FakeRequest) -> Seen:
    """The disagreements a reflection request shows (its contrast rows left out)."""
    return [
        (block.row_id, block.direction is Direction.TOO_LENIENT)
        for block in parse_blocks(request.last_user_message)
        if not block.agrees
    ]


def kept_support(real: Real, lenient: bool) -> set[str]:
    """The rows ``propose`` cites for one direction that code keeps as support: a batch's
    rows of that direction when it showed at least two, not all of them contested."""
    found: set[str] = set()
    for request in real.requests("fake-reflect"):
        blocks = [
            b
            for b in parse_blocks(request.last_user_message)
            if not b.agrees and (b.direction is Direction.TOO_LENIENT) is lenient
        ]
        if len(blocks) >= 2 and not all(b.contested for b in blocks):
            found |= real.externals(b.row_id for b in blocks)
    return found


def contrast_in(request: FakeRequest) -> list[tuple[int, float]]:
    """The agreeing rows a reflection request shows for contrast, with their human scores."""
    return [(b.row_id, b.human_score) for b in parse_blocks(request.last_user_message) if b.agrees]


def output_of(request: FakeRequest) -> str:
    """The OUTPUT block of a judge request: the row being scored."""
    return data_blocks(request.last_user_message)["OUTPUT"]


@dataclass
class Real:
    """A workspace holding the real data set, and the fake server answering for both
    models: the reflection model with ``reflect`` (replaceable per test), the judge model
    with the data set's fixed rule (alignment_data.RealRow.judged_with)."""

    rb: Rubricate
    data: RealData
    ids: dict[int, str]  # workspace row id -> external id
    fake: FakeOpenAI
    reflect: Reflect = propose

    def __post_init__(self) -> None:
        rows = self.data.by_output()

        def respond(request: FakeRequest) -> FakeReply:
            if request.model == "fake-reflect":
                return FakeReply(tool_args=self.reflect(traces_in(request)))
            if request.model == "fake-judge":
                prompt = "\n".join(message["content"] for message in request.messages)
                score = rows[output_of(request)].judged_with(prompt)
                return FakeReply(tool_args={"score": score, "rationale": "fake judge"})
            raise ValueError(f"the fake server has no model {request.model!r}")

        self.fake.responder = respond

    def row(self, row_id: int) -> RealRow:
        return self.data.by_external()[self.ids[row_id]]

    def externals(self, row_ids: Iterable[int]) -> set[str]:
        return {self.ids[row_id] for row_id in row_ids}

    def requests(self, model: str) -> list[FakeRequest]:
        return [r for r in self.fake.requests if r.model == model]

    def reflected(self) -> Seen:
        return [seen for request in self.requests("fake-reflect") for seen in traces_in(request)]

    def align(self, delta: float, **options: Any) -> AlignmentRun:
        options.setdefault("reflection_lm", REFLECT)
        options.setdefault("cache", False)
        return self.rb.alignment_runs.align(
            metric=options.pop("metric", CRITERION),
            evaluations=options.pop("evaluations", [EVALUATION]),
            delta=delta,
            **options,
        )

    def run_records(self) -> int:
        with self.rb.db.read() as session:
            return session.scalar(select(func.count()).select_from(AlignmentRunRecord)) or 0


@pytest.fixture
def data(shared_data: Path) -> RealData:
    return load(shared_data)


@contextmanager
def open_real(
    database_url: str, fake: FakeOpenAI, data: RealData, folder: Path, **options: Any
) -> Iterator[Real]:
    """A workspace on ``database_url`` with the data set built in (see alignment_data.build
    for ``options``), closed on exit."""
    rb = Rubricate(Settings(database_url=database_url, **FAST))
    try:
        ids = build(rb, data, folder, **options)
        yield Real(rb, data, ids, fake)
    finally:
        rb.close()


@pytest.fixture
def real(database_url: str, fake: FakeOpenAI, data: RealData, tmp_path: Path) -> Iterator[Real]:
    """writingprompts under the custom metric ``relevant`` (created by the import)."""
    with open_real(database_url, fake, data, tmp_path / "relevant") as built:
        yield built


def direction_of(row: RealRow) -> Direction:
    return Direction.TOO_LENIENT if row.gap() > 0 else Direction.TOO_HARSH


def guideline_section(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
