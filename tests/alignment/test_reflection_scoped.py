"""Reflection that writes scoped rules (issue 11, items 3 and 6): the rows a batch shows
(a bounded stratified sample, mixed directions, contrast rows of the same human score,
contested rows marked), what code enforces on the answer (two supporting rows shown, not
only contested ones), and the consolidation call with its fallback. The fake reflection
model goes through the real client; it reads only the request text."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from rubricate.alignment.collecting import KeptRow
from rubricate.alignment.contrast import make_batches, sample_disagreements
from rubricate.alignment.loading import SourceRow
from rubricate.alignment.reflection import distill_rows, read_guidelines
from rubricate.alignment.reflection_prompt import Setting, batch_request
from rubricate.alignment.split import Part
from rubricate.alignment.trace_format import parse_blocks
from rubricate.domain.scale import Scale
from rubricate.domain.traces import Direction, GuidelineKind, ReviewerNote, Trace
from rubricate.models import fake
from rubricate.models.client import ModelClient, Reply
from rubricate.settings import Settings

SCALE = Scale(type="ordinal", min=1, max=5, labels={1: "Bad", 5: "Excellent"})
SETTING = Setting(scale=SCALE, delta=1.0, judge_prompt="Judge [OUTPUT].", reviewer_alpha=0.61)


def kept(
    row_id: int,
    judge: float,
    human: float,
    *,
    evaluation: int = 1,
    reviewers: tuple[float, ...] = (),
    output: str | None = None,
) -> KeptRow:
    text = output if output is not None else f"Output {row_id}."
    source = SourceRow(
        row_id=row_id,
        external_id=f"ext-{row_id}",
        evaluation_id=evaluation,
        input=f"Question {row_id}?",
        output=text,
        context=None,
        expected=None,
        metadata={},
        judge_score=judge,
        judge_rationale=None,
        judge_model="m",
        judge_temperature=0.0,
        judge_version_id=1,
        human=human,
    )
    notes = tuple(ReviewerNote(f"r{i}", s) for i, s in enumerate(reviewers))
    trace = Trace(row_id, f"ext-{row_id}", source.input, text, judge, human, reviewers=notes)
    return KeptRow(source, trace, f"g{row_id}", Part.DISTILL)


def reply(arguments: dict[str, Any]) -> Reply:
    return Reply(None, arguments, "raw", 10, 5, None, 0.1)


def guideline(row_ids: list[int], **extra: Any) -> dict[str, Any]:
    item = {
        "text": "Outputs that pad the answer should get about 2 (Poor), not more.",
        "applies_when": "the output repeats itself",
        "target": "2",
        "kind": "clarifies_rubric",
        "direction": "too_lenient",
        "row_ids": row_ids,
        "counter_row_ids": [],
    }
    return item | extra


# -- what a batch shows ----------------------------------------------------------------


def test_each_disagreement_comes_with_agreeing_rows_of_the_same_human_score() -> None:
    disagreements = [kept(i, 4, 1 + i % 3) for i in range(1, 13)]
    agreeing = [kept(100 + i, 1 + i % 5, 1 + i % 5) for i in range(40)]
    (batch,) = make_batches(disagreements, agreeing, delta=1, seed=3)
    assert len(batch.disagreements) == 12
    assert len(batch.contrast) == 24  # two each: the pool has eight of every score
    assert all(b.agrees for b in batch.contrast) and not any(b.agrees for b in batch.disagreements)
    needed = Counter(b.human_score for b in batch.disagreements)
    shown = Counter(b.human_score for b in batch.contrast)
    assert shown == Counter({score: 2 * n for score, n in needed.items()})
    assert len({b.row_id for b in batch.contrast}) == 24  # none shown twice


def test_contrast_rows_appear_in_the_request_as_judge_agrees() -> None:
    disagreements = [kept(i, 5, 2) for i in range(1, 4)]
    agreeing = [kept(10, 2, 2), kept(11, 4, 4)]
    (batch,) = make_batches(disagreements, agreeing, delta=1, seed=1)
    request = batch_request(batch, SETTING)
    read = parse_blocks(request.user)
    assert {b.row_id for b in read if b.agrees} == {10}  # only the same human score
    assert {b.row_id for b in read if not b.agrees} == {1, 2, 3}


def test_batches_are_seeded_mixed_and_about_thirty_rows() -> None:
    rows = [kept(i, 5 if i % 3 else 1, 3) for i in range(1, 76)]
    batches = make_batches(rows, [], delta=1, seed=7)
    assert [len(b.disagreements) for b in batches] == [25, 25, 25]  # sizes evened out
    for batch in batches:
        lenient = sum(b.direction is Direction.TOO_LENIENT for b in batch.disagreements)
        assert 14 <= lenient <= 19  # two thirds of each batch, as overall
    again = make_batches(rows, [], delta=1, seed=7)
    assert [b.disagreements for b in again] == [b.disagreements for b in batches]
    other = make_batches(rows, [], delta=1, seed=8)
    assert [b.disagreements for b in other] != [b.disagreements for b in batches]
    ids = [b.row_id for batch in batches for b in batch.disagreements]
    assert sorted(ids) == list(range(1, 76)) and ids != sorted(ids)  # shuffled, all shown


def test_rows_whose_reviewers_are_delta_apart_are_marked_contested() -> None:
    rows = [kept(1, 5, 2, reviewers=(1, 3)), kept(2, 5, 2, reviewers=(2, 2, 3))]
    (batch,) = make_batches(rows, [], delta=2, seed=0)
    marks = {b.row_id: b.contested for b in parse_blocks(batch_request(batch, SETTING).user)}
    assert marks == {1: True, 2: False}


def test_the_request_gives_the_runs_figures_and_the_prompt_the_judge_sees() -> None:
    setting = Setting(
        scale=SCALE,
        delta=2,
        judge_prompt="Judge [OUTPUT] strictly.\n\n## Guidelines\n1. Be brief.",
        reviewer_alpha=0.42,
        rows=1000,
        lenient=70,
        harsh=30,
    )
    (batch,) = make_batches([kept(1, 5, 2, reviewers=(1, 4)), kept(2, 1, 4)], [], delta=2, seed=0)
    user = batch_request(batch, setting).user
    assert "delta = 2 apart" in user and "Krippendorff's alpha: 0.42" in user
    assert "Disagreements of 1,000 rows: 100, the judge too lenient on 70 and too harsh on 30" in (
        user
    )
    assert "1 too lenient, 1 too harsh" in user and "1 of these rows are contested" in user
    assert "Judge [OUTPUT] strictly.\n\n## Guidelines\n1. Be brief." in user
    assert "{{" not in user


def test_the_judge_view_is_the_rendered_system_message_not_jinja() -> None:
    from datetime import UTC, datetime

    from rubricate.alignment.reflection_prompt import judge_view
    from rubricate.domain.metrics import MetricVersion, VersionOrigin

    version = MetricVersion(
        id=1,
        metric_id=1,
        number=1,
        prompt="Score {{ output }} for {{ input }} on {{ scale.description }}.",
        guidelines="- Be brief.\n- Be kind.",
        scale=SCALE,
        origin=next(iter(VersionOrigin)),
        created_at=datetime.now(UTC),
    )
    view = judge_view(version)
    assert view.startswith("Score [OUTPUT] for [INPUT] on 1–5.")
    assert "1. Be brief.\n2. Be kind." in view and "## Answer format" in view
    assert "{{" not in view and "(the row's" not in view  # fields are references


# -- what code enforces on the answer ----------------------------------------------------


def batch_of(*rows: KeptRow) -> Any:
    (batch,) = make_batches(list(rows), [], delta=1, seed=0)
    return batch


def test_a_guideline_needs_two_supporting_rows_shown_in_its_batch() -> None:
    batch = batch_of(kept(1, 5, 2), kept(2, 5, 2), kept(3, 1, 4))
    answer = {
        "guidelines": [
            guideline([1]),  # one row: an anecdote
            guideline([1, 99]),  # 99 was never shown
            guideline([1, 3]),  # 3 is a too-harsh row: no support for a lower score
            guideline([1, 2], counter_row_ids=[3, 1, 77], target="1-2"),
        ]
    }
    reading = read_guidelines(reply(answer), batch, SETTING)
    (kept_one,) = reading.guidelines
    assert kept_one.row_ids == (1, 2) and kept_one.counter_ids == (3,)
    assert kept_one.target == (1.0, 2.0) and kept_one.kind is GuidelineKind.CLARIFIES
    assert kept_one.applies_when == "the output repeats itself"
    assert reading.dropped["fewer than 2 supporting rows shown"] == 3


def test_contested_rows_never_stand_as_sole_support() -> None:
    contested = [kept(i, 5, 2, reviewers=(1, 3)) for i in (1, 2, 3)]
    batch = batch_of(*contested, kept(4, 5, 2, reviewers=(2, 2)))
    alone = read_guidelines(reply({"guidelines": [guideline([1, 2, 3])]}), batch, SETTING)
    assert alone.guidelines == [] and alone.dropped == Counter(
        {"only contested rows in support": 1}
    )
    mixed = read_guidelines(reply({"guidelines": [guideline([1, 2, 4])]}), batch, SETTING)
    assert [g.row_ids for g in mixed.guidelines] == [(1, 2, 4)]


def test_an_unreadable_target_or_kind_is_left_empty_not_guessed() -> None:
    batch = batch_of(kept(1, 5, 2), kept(2, 5, 2))
    answer = {"guidelines": [guideline([1, 2], target="9", kind="vibes")]}
    (found,) = read_guidelines(reply(answer), batch, SETTING).guidelines
    assert found.target is None and found.kind is None


# -- the sample cap and the consolidation call -----------------------------------------


def test_reflection_reads_a_stratified_sample_of_at_most_the_cap() -> None:
    rows = [
        kept(i, 5 if i % 4 else 1, 3, evaluation=1 + i % 2)  # 3/4 lenient, two evaluations
        for i in range(1, 1001)
    ]
    sample = sample_disagreements(rows, 240, seed=5)
    assert len(sample.rows) == 240 and sample.total == 1000 and sample.capped
    strata = Counter((k.trace.direction, k.source.evaluation_id) for k in sample.rows)
    population = Counter((k.trace.direction, k.source.evaluation_id) for k in rows)
    for key, n in population.items():
        assert abs(strata[key] - 240 * n / 1000) < 1  # each stratum its proportional share
    assert sample_disagreements(rows, 240, seed=5).rows == sample.rows
    assert sample_disagreements(rows[:100], 240, seed=5).rows == rows[:100]


@pytest.fixture
def client() -> ModelClient:
    return ModelClient(Settings(model_attempts=1, model_timeout=2.0))


@pytest.fixture
def paraphrasing() -> Iterator[fake.FakeModel]:
    """A reflection model that proposes the same rule in its batch's own words, and
    merges candidates 1..n into one group when asked to consolidate."""

    def respond(call: fake.FakeCall) -> dict[str, Any]:
        if "candidates:" in call.user:
            count = call.user.count("   applies when:")
            return {
                "merged": [
                    {
                        "from": list(range(1, count + 1)),
                        "text": "Long padded outputs should get about 2 (Poor), not more.",
                        "applies_when": "the output is padded",
                        "target": "2",
                        "kind": "clarifies_rubric",
                    }
                ]
            }
        blocks = parse_blocks(call.user)
        ids = [b.row_id for b in blocks if b.direction is Direction.TOO_LENIENT]
        text = f"Wording {ids[0]}: padding is not quality."
        return {"guidelines": [guideline(ids, text=text)]}

    with fake.registered("paraphrase", respond) as model:
        yield model


def test_the_consolidation_call_merges_paraphrases_across_batches(
    client: ModelClient, paraphrasing: fake.FakeModel
) -> None:
    rows = [kept(i, 5, 2) for i in range(1, 61)]
    found, notes = asyncio.run(distill_rows(client, "fake:paraphrase", rows, [], SETTING, seed=1))
    assert len(paraphrasing.calls) == 3  # two batches of 30, then one consolidation call
    (merged,) = found
    assert merged.text == "Long padded outputs should get about 2 (Poor), not more."
    assert merged.row_ids == tuple(range(1, 61))  # support pooled, never more than shown
    assert merged.evidence == "Proposed in 2 batches."
    assert any("merged the 2 guidelines proposed across batches into 1" in n for n in notes)
    assert notes[0].startswith("Reflection (fake:paraphrase) read all 60 disagreements")


@pytest.mark.parametrize(
    "consolidation", [RuntimeError("provider down"), {"guidelines": []}, "not json"]
)
def test_a_failed_consolidation_falls_back_to_the_unmerged_candidates(
    client: ModelClient, consolidation: Any
) -> None:
    def respond(call: fake.FakeCall) -> Any:
        if "candidates:" in call.user:
            if isinstance(consolidation, BaseException):
                raise consolidation
            return consolidation
        ids = [b.row_id for b in parse_blocks(call.user)]
        return {"guidelines": [guideline(ids, text=f"Wording {ids[0]}.")]}

    rows = [kept(i, 5, 2) for i in range(1, 61)]
    with fake.registered("flaky", respond):
        found, notes = asyncio.run(distill_rows(client, "fake:flaky", rows, [], SETTING, seed=1))
    assert len(found) == 2  # both batches' candidates go on to the deterministic merge
    assert any("merged by word overlap instead" in n for n in notes)


def test_one_batch_needs_no_consolidation_and_the_note_says_what_was_sampled(
    client: ModelClient, paraphrasing: fake.FakeModel
) -> None:
    rows = [kept(i, 5, 2, evaluation=1 + i % 3) for i in range(1, 301)]
    found, notes = asyncio.run(
        distill_rows(client, "fake:paraphrase", rows, [], SETTING, seed=1, cap=25)
    )
    assert len(paraphrasing.calls) == 1 and len(found) == 1
    assert (
        "read a seeded sample of 25 of the 300 disagreements, stratified by direction and "
        "evaluation, in" in (notes[0])
    )


def test_the_estimate_counts_the_requests_a_run_sends_at_most() -> None:
    from rubricate.alignment.reflection import planned_requests

    rows = [kept(i, 5 if i % 2 else 1, 3) for i in range(1, 5001)]
    agreeing = [kept(10_000 + i, 3, 3) for i in range(100)]
    requests = planned_requests(SETTING, rows, agreeing, seed=2)
    assert len(requests) == 8 + 1  # 240 sampled rows in batches of 30, then consolidation
    assert requests[-1].schema is not None and requests[-1].schema.name == "merge_guidelines"
    shown = [b for r in requests[:-1] for b in parse_blocks(r.user)]
    assert sum(not b.agrees for b in shown) == 240
    assert sum(b.agrees for b in shown) > 240  # contrast rows count towards the tokens
