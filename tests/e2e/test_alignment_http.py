"""Alignment runs end to end over HTTP, on a real data set: writingprompts' ``relevant``
(400 rows, three teachers each, median-resolved) with synthetic judge scores from fixed
rules (tests/e2e/alignment_data.py). The reflection model (``openai-chat:fake-reflect``)
and the judge model (``openai-chat:fake-judge``) are the fake OpenAI-compatible server,
reached through the real client path. Every expectation is computed here from rows.jsonl
with json and statistics, not from rubricate's code; only which part of the held-out split
a row falls in is rubricate's seeded hash, part_of(group_key(input), seed), which is what
the split is defined as."""

from __future__ import annotations

import re
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
    expected,
    load,
)
from tests.e2e.conftest import FAST, SECRET, every_stored_value

from rubricate import Rubricate, Settings
from rubricate.alignment.plan import SELECTION_ROWS, TEST_ROWS
from rubricate.alignment.split import Part, group_key, part_of
from rubricate.alignment.trace_format import data_blocks, parse_blocks
from rubricate.domain.alignment import AgreementFigures, parse_guidelines_text
from rubricate.domain.alignment_runs import AlignmentRun, Budget, RunStatus
from rubricate.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.domain.traces import Direction
from rubricate.scoring.render import render_prompt
from rubricate.store.tables import (
    AlignmentRunRecord,
    JudgeResultRecord,
    ResolutionRecord,
    RowRecord,
)
from rubricate.testing.fake_openai import FakeOpenAI, FakeReply, FakeRequest

pytestmark = pytest.mark.slow

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


# --- phases 1 and 2 on the real rows ------------------------------------------------------


def test_the_workspace_holds_the_median_resolved_values_and_the_synthetic_scores(
    real: Real,
) -> None:
    by_external = real.data.by_external()
    with real.rb.db.read() as session:
        judged = dict(
            session.execute(
                select(RowRecord.external_id, JudgeResultRecord.score).join(
                    JudgeResultRecord, JudgeResultRecord.row_id == RowRecord.id
                )
            ).all()
        )
        resolved = dict(
            session.execute(
                select(RowRecord.external_id, ResolutionRecord.value).join(
                    ResolutionRecord, ResolutionRecord.row_id == RowRecord.id
                )
            ).all()
        )
    assert judged == {e: r.judge for e, r in by_external.items() if r.judge is not None}
    assert resolved == {e: r.human for e, r in by_external.items() if r.human is not None}
    # 40 rows keep two reviewers; those whose two teachers differ stay unresolved.
    two = [r for r in real.data.rows if len(r.reviews) == 2]
    assert len(two) == 40 and len(resolved) == 400 - sum(1 for r in two if r.human is None)
    assert 0 < 400 - len(resolved) < 40
    assert {r.long for r in real.data.rows} == {True, False}


@pytest.mark.parametrize(
    ("delta", "disagreements", "lenient", "harsh"),
    [(1, 212, 147, 65), (2, 104, 104, 0), (3, 2, 2, 0)],
    ids=["delta-1", "delta-2", "delta-3-low-confidence"],
)
def test_counts_at_each_delta_match_the_rows(
    real: Real, delta: float, disagreements: int, lenient: int, harsh: int
) -> None:
    want = expected(real.data, delta)
    # The figures in the parameters are the data's, counted once by hand; the helper's
    # independent count must agree with them, so a change to the rules shows here.
    assert (want.disagreements, len(want.lenient), len(want.harsh)) == (
        disagreements,
        lenient,
        harsh,
    )
    assert (want.usable, want.missing_judge, want.missing_human) == (357, 25, 18)
    low = disagreements < 10

    preview = real.rb.alignment_runs.preview(
        metric=CRITERION, evaluations=[EVALUATION], delta=delta, reflection_lm=REFLECT
    )
    assert (preview.disagreements, preview.agreeing) == (disagreements, want.agreeing)
    assert (preview.missing_judge, preview.missing_human) == (25, 18)
    assert preview.low_confidence is low
    assert real.fake.requests_total == 0  # a preview calls no model

    run = real.align(delta)
    assert run.status is RunStatus.ALIGNED, run.error
    result = run.result
    assert result is not None
    assert result.rows_used == 357
    assert result.disagreements == run.disagreements == disagreements
    assert result.agreeing_skipped == run.agreeing_skipped == 357 - disagreements
    assert (result.missing_judge, result.missing_human) == (25, 18)
    assert run.missing_skipped == 43
    assert result.low_confidence is low
    assert run.low_confidence is low
    with real.rb.db.read() as session:
        record = session.get(AlignmentRunRecord, run.id)
        assert record is not None and record.low_confidence is low
    # Every disagreement reached the reflection model once, with its direction.
    seen = real.reflected()
    assert len(seen) == len({row_id for row_id, _ in seen})
    shown = {real.ids[row_id]: is_lenient for row_id, is_lenient in seen}
    assert shown == dict.fromkeys(want.lenient, True) | dict.fromkeys(want.harsh, False)
    assert result.usage.reflection_calls == len(real.requests("fake-reflect")) >= 1
    assert real.fake.requests_total == result.usage.reflection_calls
    # Each batch shows agreeing rows beside its disagreements, of the same human scores.
    for request in real.requests("fake-reflect"):
        blocks = parse_blocks(request.last_user_message)
        needed = {b.human_score for b in blocks if not b.agrees}
        for row_id, human in contrast_in(request):
            assert human in needed and not real.row(row_id).disagrees(delta)


# --- guidelines from the reflection model ---------------------------------------------------


def test_guidelines_cite_disagreements_of_their_own_direction(real: Real) -> None:
    run = real.align(1)
    result = run.result
    assert result is not None and run.status is RunStatus.ALIGNED
    want = expected(real.data, 1)
    assert result.engine == REFLECT
    assert [(g.text, g.direction) for g in result.guidelines] == [
        (LENGTH_GUIDELINE, Direction.TOO_LENIENT),  # 147 rows
        (MODEL_GUIDELINE, Direction.TOO_HARSH),  # 65 rows
    ]
    length, model = result.guidelines
    # A batch's single row of a direction, or only contested ones, is no support.
    assert real.externals(length.row_ids) == kept_support(real, True) <= want.lenient
    assert real.externals(model.row_ids) == kept_support(real, False) <= want.harsh
    for guideline in result.guidelines:
        assert guideline.row_ids == sorted(set(guideline.row_ids))
        assert set(guideline.row_ids) <= set(real.ids)  # rows of the source evaluation
        for row_id in guideline.row_ids:
            row = real.row(row_id)
            assert row.disagrees(1) and direction_of(row) is guideline.direction
    assert result.verification.status == "not run"
    assert result.usage.judge_calls == 0
    assert real.requests("fake-judge") == []
    # The batches fit the model: more than one request, each with at most a few traces.
    assert len(real.requests("fake-reflect")) > 1


def test_invalid_row_ids_in_a_reflection_answer_are_left_out(real: Real) -> None:
    agreeing_id = next(i for i in real.ids if real.row(i).usable and not real.row(i).disagrees(1))
    unused = max(real.ids) + 1000

    def sloppy(seen: Seen) -> dict[str, Any]:
        answer = propose(seen)
        for item in answer["guidelines"]:
            # Not a row of the batch, not a row at all, not an integer.
            item["row_ids"] += [agreeing_id, unused, 0, -3, "7", 2.5, None]
        answer["guidelines"].append(
            {
                "text": "Prefer stories that mention the weather.",
                "direction": "too_harsh",
                "row_ids": [agreeing_id, unused, -1],
            }
        )
        return answer

    real.reflect = sloppy
    run = real.align(1)
    assert run.result is not None
    want = expected(real.data, 1)
    texts = [g.text for g in run.result.guidelines]
    assert texts == [LENGTH_GUIDELINE, MODEL_GUIDELINE]  # the unsupported one is gone
    length, model = run.result.guidelines
    assert real.externals(length.row_ids) == kept_support(real, True) <= want.lenient
    assert real.externals(model.row_ids) == kept_support(real, False) <= want.harsh
    assert agreeing_id not in length.row_ids + model.row_ids


def test_a_row_id_of_the_other_direction_does_not_support_a_guideline(real: Real) -> None:
    """A too-lenient guideline citing a row where the judge was too harsh claims support
    it does not have (the row is in the batch, but disagrees the other way)."""

    def crossed(seen: Seen) -> dict[str, Any]:
        answer = propose(seen)
        lenient = [row_id for row_id, is_lenient in seen if is_lenient]
        harsh = [row_id for row_id, is_lenient in seen if not is_lenient]
        for item in answer["guidelines"]:
            item["row_ids"] += harsh if item["direction"] == "too_lenient" else lenient
        return answer

    real.reflect = crossed
    run = real.align(1)
    assert run.result is not None
    want = expected(real.data, 1)
    by_direction = {g.direction: real.externals(g.row_ids) for g in run.result.guidelines}
    assert by_direction == {
        Direction.TOO_LENIENT: kept_support(real, True),
        Direction.TOO_HARSH: kept_support(real, False),
    }
    assert kept_support(real, True) <= want.lenient and kept_support(real, False) <= want.harsh


# --- verification with a judge model ---------------------------------------------------


def figures_ok(figures: AgreementFigures | None, rows: int) -> AgreementFigures:
    assert figures is not None and figures.rows == rows
    for figure in (figures.exact, figures.within_delta, figures.mae, figures.kappa):
        assert figure.value is not None and figure.low is not None and figure.high is not None
        assert figure.low <= figure.value <= figure.high
    return figures


def test_verification_reports_test_rows_only_and_distills_from_distillation_rows(
    real: Real,
) -> None:
    seed = 7
    run = real.align(1, judge_model=JUDGE, budget=MANY, seed=seed)
    result = run.result
    assert result is not None and run.status is RunStatus.ALIGNED, run.error
    v = result.verification
    assert v.status == "verified", v.message
    want = expected(real.data, 1)
    by_external = real.data.by_external()

    def part(external: str) -> Part:
        return part_of(group_key(by_external[external].input), seed)

    usable = [r for r in real.data.rows if r.usable]
    disagreeing = want.lenient | want.harsh

    # The reflection model saw every disagreement of the distillation part, and no other row.
    seen = real.externals({row_id for row_id, _ in real.reflected()})
    assert seen == {e for e in disagreeing if part(e) is Part.DISTILL}
    for request in real.requests("fake-reflect"):
        for row_id, _ in traces_in(request):
            assert part(real.ids[row_id]) is Part.DISTILL
    assert v.distill_rows == len(seen)

    # Test rows: a seeded draw of the test part (all of it when it is small), each row
    # weighted by how many rows of the whole evaluation it stands for.
    in_part = {r.external_id for r in usable if part(r.external_id) is Part.TEST}
    verdicts = {r.external_id: r for r in v.rows}
    assert len(verdicts) == len(v.rows) == v.test_rows == min(TEST_ROWS, len(in_part)) >= 30
    assert set(verdicts) <= in_part
    assert sum(r.weight for r in v.rows) == pytest.approx(len(in_part), rel=1e-3)
    assert v.test_design in ("random", "stratified")

    # Selection rows were scored by the judge; distillation rows never were.
    rows_by_output = real.data.by_output()
    judged = [rows_by_output[output_of(r)].external_id for r in real.requests("fake-judge")]
    judged_parts = {part(e) for e in judged}
    assert judged_parts == {Part.SELECTION, Part.TEST}
    sel_usable = {r.external_id for r in usable if part(r.external_id) is Part.SELECTION}
    assert v.selection_rows == min(SELECTION_ROWS, len(sel_usable))
    assert v.selection_design == "random"

    # Both guidelines beat the current prompt; the verdicts are the fake judge's rule,
    # the current prompt scored fresh (this fake judge repeats the stored judge's rule).
    assert [g.text for g in result.guidelines] == [LENGTH_GUIDELINE, MODEL_GUIDELINE]
    assert all(g.verified for g in result.guidelines)
    chosen = result.guidelines_text()
    for external, verdict in verdicts.items():
        row = by_external[external]
        assert verdict.human == row.human
        assert verdict.before == row.judge
        assert verdict.after == row.judged_with(chosen)

    # The figures are weighted estimates for the whole evaluation.
    before = figures_ok(v.before, len(verdicts))
    after = figures_ok(v.after, len(verdicts))
    weights = [verdicts[e].weight for e in verdicts]
    rows = [by_external[e] for e in verdicts]

    def weighted(values: list[float]) -> float:
        return sum(w * x for w, x in zip(weights, values, strict=True)) / sum(weights)

    exact_before = weighted([1.0 if r.judge == r.human else 0.0 for r in rows])
    exact_after = weighted([1.0 if r.judged_with(chosen) == r.human else 0.0 for r in rows])
    mae_before = weighted([abs(r.gap()) for r in rows])
    assert before.exact.value == pytest.approx(exact_before, abs=5e-5)
    assert after.exact.value == pytest.approx(exact_after, abs=5e-5)
    assert before.mae.value == pytest.approx(mae_before, abs=5e-5)
    assert exact_after > exact_before
    assert (after.kappa.value or 0.0) > (before.kappa.value or 0.0)
    d = v.difference
    assert d is not None and d.value is not None and d.low is not None and d.high is not None
    assert d.value == pytest.approx((after.kappa.value or 0) - (before.kappa.value or 0), abs=2e-4)
    assert v.raised is (d.low > 0) and not v.test_drop

    # Proposals: the current prompt and every guideline on the selection rows; then each
    # guideline left out on the rows it acted on, and the test rows twice; none twice alike.
    assert [p.guideline_ids for p in v.proposals] == [[], [1, 2]]
    assert {d.guideline_id: d.outcome for d in v.decisions} == {1: "kept", 2: "kept"}
    ablated = sum(d.rows for d in v.decisions)
    assert result.usage.judge_calls == 2 * v.selection_rows + 2 * v.test_rows + ablated
    assert result.usage.judge_calls <= v.planned_calls
    assert real.fake.duplicate_requests == 0
    # The usage the run reports is what the server saw.
    assert result.usage.reflection_calls == len(real.requests("fake-reflect"))
    assert result.usage.judge_calls == len(real.requests("fake-judge"))
    assert real.fake.requests_total == result.usage.calls


# --- accepting -------------------------------------------------------------------------


def test_accept_on_a_built_in_metric_forks_it(
    database_url: str, fake: FakeOpenAI, data: RealData, tmp_path: Path
) -> None:
    rb = Rubricate(Settings(database_url=database_url, **FAST))
    try:
        builtin = rb.metrics.version("helpfulness")
        assert builtin.origin is VersionOrigin.BUILTIN
        # Scores from elsewhere cannot be pinned to a built-in's prompt: the import is
        # refused as a whole.
        with pytest.raises(InvalidInput, match="built-in metric"):
            build(rb, data, tmp_path / "unpinned", metric="helpfulness")
        with pytest.raises(NotFound):
            rb.evaluations.get(EVALUATION)
        assert [v.number for v in rb.metrics.versions("helpfulness")] == [builtin.number]
    finally:
        rb.close()

    # Given the built-in's version, its judge results are that version's.
    with open_real(
        database_url,
        fake,
        data,
        tmp_path / "pinned",
        metric="helpfulness",
        metric_version=builtin.number,
    ) as real:
        rb = real.rb
        with rb.db.read() as session:
            versions = session.scalars(select(JudgeResultRecord.metric_version_id)).all()
        assert len(versions) == 375 and set(versions) == {builtin.id}
        before = rb.metrics.versions("helpfulness")
        metrics_before = {m.metric.name for m in rb.metrics.list()}

        run = real.align(1, metric="helpfulness")
        assert run.result is not None and run.status is RunStatus.ALIGNED
        want = expected(data, 1)
        assert run.result.disagreements == want.disagreements
        accepted = rb.reviews.accept(run.id, confirm_unverified=True)
        assert accepted.created and accepted.forked and not accepted.merged
        assert accepted.metric == "helpfulness-aligned"

        fork = rb.metrics.get("helpfulness-aligned")
        assert fork.kind is MetricKind.CUSTOM
        assert fork.forked_from_id == rb.metrics.get("helpfulness").id
        (version,) = rb.metrics.versions("helpfulness-aligned")
        assert version.id == accepted.version.id
        assert version.origin is VersionOrigin.FORK
        assert version.source_run_id == run.id
        assert version.prompt == builtin.prompt
        assert parse_guidelines_text(version.guidelines) == [LENGTH_GUIDELINE, MODEL_GUIDELINE]
        row = data.rows[0]
        seen_by_judge = render_prompt(
            version.prompt,
            input=row.input,
            output=row.output,
            guidelines=version.guidelines,
            scale=version.scale,
        )
        # numbered, so that the judge can name the ones it applied
        assert f"1. {LENGTH_GUIDELINE}\n2. {MODEL_GUIDELINE}" in seen_by_judge.system
        exported = rb.reviews.export_prompt("helpfulness-aligned")
        assert f"1. {LENGTH_GUIDELINE}" in exported and f"2. {MODEL_GUIDELINE}" in exported
        assert LENGTH_GUIDELINE not in rb.reviews.export_prompt("helpfulness")

        # The built-in is unchanged.
        assert rb.metrics.versions("helpfulness") == before
        assert rb.metrics.get("helpfulness").kind is MetricKind.BUILTIN
        # Accepting again creates nothing.
        again = rb.reviews.accept(run.id, confirm_unverified=True)
        assert not again.created and again.version.id == version.id
        assert again.metric == "helpfulness-aligned"
        names = {m.metric.name for m in rb.metrics.list()}
        assert names == metrics_before | {"helpfulness-aligned"}
        assert len(rb.metrics.versions("helpfulness-aligned")) == 1
        assert rb.alignment_runs.get(run.id).accepted_version_id == version.id


RESTATED = "Do not reward length: a long story is not more relevant just for being long."
NEW_GUIDELINE = "Judge whether the story follows the prompt, not how polished its prose is."


def test_accept_on_a_custom_metric_then_align_the_new_version(real: Real) -> None:
    rb = real.rb
    (v1,) = rb.metrics.versions(CRITERION)
    assert v1.origin is VersionOrigin.IMPORT
    first = real.align(1)
    accepted = rb.reviews.accept(first.id, confirm_unverified=True)
    assert accepted.created and not accepted.forked and accepted.metric == CRITERION
    v2 = rb.metrics.version(CRITERION)  # the active version
    assert v2.id == accepted.version.id and v2.number == 2
    assert v2.origin is VersionOrigin.ALIGNMENT and v2.parent_version_id == v1.id
    assert parse_guidelines_text(v2.guidelines) == [LENGTH_GUIDELINE, MODEL_GUIDELINE]

    # The next run reads v2's guidelines; the model restates the length one (merged into
    # it, rows pooled) and adds a new one.
    real.fake.reset()
    real.reflect = proposing(RESTATED, NEW_GUIDELINE)
    second = real.align(1)
    assert second.base_version_id == v2.id
    for request in real.requests("fake-reflect"):
        if parse_blocks(request.last_user_message):  # a batch (not the consolidation call)
            # The prompt as the judge sees it: its guidelines numbered.
            assert f"1. {LENGTH_GUIDELINE}\n2. {MODEL_GUIDELINE}" in request.last_user_message
    result = second.result
    assert result is not None
    want = expected(real.data, 1)
    assert [(g.text, g.existing) for g in result.proposed] == [
        (LENGTH_GUIDELINE, True),
        (MODEL_GUIDELINE, True),
        (NEW_GUIDELINE, False),
    ]
    length, model, new = result.proposed
    # pooled from every batch
    assert real.externals(length.row_ids) == kept_support(real, True) <= want.lenient
    assert model.row_ids == []
    assert real.externals(new.row_ids) == kept_support(real, False) <= want.harsh
    assert new.direction is Direction.TOO_HARSH
    assert RESTATED not in {g.text for g in result.proposed}

    third = rb.reviews.accept(second.id, confirm_unverified=True)
    v3 = rb.metrics.version(CRITERION)
    assert third.created and v3.id == third.version.id and v3.number == 3
    assert v3.parent_version_id == v2.id
    lines = guideline_section(v3.guidelines)
    assert lines == [f"- {LENGTH_GUIDELINE}", f"- {MODEL_GUIDELINE}", f"- {NEW_GUIDELINE}"]
    assert len({line.casefold() for line in lines}) == len(lines)
    assert [v.number for v in rb.metrics.versions(CRITERION)] == [1, 2, 3]


def test_a_run_on_a_stale_base_is_refused_then_merged(real: Real) -> None:
    rb = real.rb
    (v1,) = rb.metrics.versions(CRITERION)
    length_only = real.align(2)  # at delta 2 only the too-lenient rows disagree
    both = real.align(1)
    assert length_only.result is not None and both.result is not None
    assert [g.text for g in length_only.result.guidelines] == [LENGTH_GUIDELINE]
    assert length_only.base_version_id == both.base_version_id == v1.id

    v2 = rb.reviews.accept(length_only.id, confirm_unverified=True).version
    with pytest.raises(Conflict, match="version 2 of 'relevant' is active now"):
        rb.reviews.accept(both.id, confirm_unverified=True)
    # The refusal changed nothing.
    assert [v.number for v in rb.metrics.versions(CRITERION)] == [1, 2]
    assert rb.alignment_runs.get(both.id).accepted_version_id is None
    assert rb.metrics.version(CRITERION).id == v2.id

    merged = rb.reviews.accept(both.id, merge=True, confirm_unverified=True)
    assert merged.created and merged.merged
    v3 = rb.metrics.version(CRITERION)
    assert v3.id == merged.version.id and v3.number == 3 and v3.parent_version_id == v2.id
    assert guideline_section(v3.guidelines) == [f"- {LENGTH_GUIDELINE}", f"- {MODEL_GUIDELINE}"]
    stored = rb.alignment_runs.get(both.id)
    assert stored.result is not None and stored.result.review.merged
    assert stored.accepted_version_id == v3.id
    again = rb.reviews.accept(both.id, merge=True, confirm_unverified=True)
    assert not again.created and again.version.id == v3.id


# --- refusals --------------------------------------------------------------------------


def test_every_refusal_for_bad_parameters_changes_nothing(
    real: Real, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rb = real.rb
    # An evaluation with judge results but no resolutions.
    build(rb, real.data, tmp_path / "unresolved", evaluation="wp-unresolved", resolve=False)
    snapshot = sorted(every_stored_value(rb))
    good: dict[str, Any] = {
        "metric": CRITERION,
        "evaluations": [EVALUATION],
        "delta": 1.0,
        "reflection_lm": REFLECT,
        "judge_model": JUDGE,
    }
    refusals: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"delta": 0.0}, InvalidInput, "delta"),
        ({"delta": -1.0}, InvalidInput, "delta"),
        ({"delta": 4.5}, InvalidInput, "at most 4"),
        ({"evaluations": ["no-such-evaluation"]}, NotFound, "no-such-evaluation"),
        ({"evaluations": []}, InvalidInput, "at least one"),
        ({"evaluations": ["wp-unresolved"]}, InvalidInput, "no resolved annotations"),
        ({"evaluations": [EVALUATION, "wp-unresolved"]}, InvalidInput, "wp-unresolved"),
        ({"metric": "no-such-metric"}, NotFound, "no-such-metric"),
        ({"reflection_lm": "fake-reflect"}, InvalidInput, "provider:model"),
        ({"reflection_lm": "nosuch:model"}, InvalidInput, "unknown provider"),
        ({"reflection_lm": "builtin:other"}, InvalidInput, "built-in engine"),
        ({"reflection_lm": "openai-chat: "}, InvalidInput, "provider:model"),
        ({"judge_model": "nosuch:judge"}, InvalidInput, "unknown provider"),
        ({"judge_model": "judge"}, InvalidInput, "provider:model"),
        ({"judge_model": "builtin:offline"}, InvalidInput, "cannot judge"),
        ({"budget": Budget(max_calls=0)}, InvalidInput, "max_calls"),
        ({"budget": Budget(max_calls=-5)}, InvalidInput, "max_calls"),
        ({"budget": Budget(max_tokens=0)}, InvalidInput, "max_tokens"),
        ({"budget": Budget(max_cost_usd=0.0)}, InvalidInput, "max_cost_usd"),
        ({"budget": Budget(max_cost_usd=-1.0)}, InvalidInput, "max_cost_usd"),
    ]
    runs = rb.alignment_runs
    for change, error, message in refusals:
        params = good | change
        with pytest.raises(error, match=re.escape(message)):
            runs.start(**params)
        with pytest.raises(error, match=re.escape(message)):
            runs.align(**params)
        with pytest.raises(error, match=re.escape(message)):
            runs.preview(**params)
        assert real.run_records() == 0, change

    # No key: neither OPENAI_BASE_URL nor OPENAI_API_KEY.
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    for change in ({}, {"reflection_lm": "builtin:offline"}):
        with pytest.raises(Unavailable, match="OPENAI_API_KEY"):
            runs.align(**(good | change))
        # A dry run calls no model, so it needs no key, and says the run cannot start.
        said = runs.preview(**(good | change)).cannot_start
        assert said is not None and "OPENAI_API_KEY" in said
    assert real.run_records() == 0
    assert runs.list(CRITERION) == []
    assert real.fake.requests_total == 0
    assert sorted(every_stored_value(rb)) == snapshot
    assert SECRET not in str(snapshot)


# --- the response cache ------------------------------------------------------------------


def test_a_repeated_alignment_is_answered_from_the_cache(real: Real) -> None:
    """Reflection is answered from the cache; verification's judge calls never are (a
    stored answer would not be a fresh score), so they are asked again."""
    first = real.align(2, judge_model=JUDGE, budget=MANY, cache=True)
    assert first.result is not None and first.status is RunStatus.ALIGNED
    assert first.result.verification.status == "verified", first.result.verification.message
    calls = real.fake.requests_total
    usage = first.result.usage
    assert calls == usage.calls > 0
    # The only repeats are within the run (leaving out the only guideline asks the
    # current prompt again): the run's journal answers them, not the server.
    assert real.fake.duplicate_requests == 0

    second = real.align(2, judge_model=JUDGE, budget=MANY, cache=True)
    assert second.id != first.id and second.result is not None
    again = second.result.usage
    assert again.reflection_calls == 0 and again.judge_calls == usage.judge_calls
    assert again.cache_hits == usage.cache_hits + usage.reflection_calls
    assert real.fake.requests_total == calls + usage.judge_calls
    assert second.result.guidelines == first.result.guidelines
    assert second.result.verification.rows == first.result.verification.rows
    assert second.result.verification.after == first.result.verification.after

    # Without the cache the same alignment is asked again, reflection too.
    third = real.align(2, judge_model=JUDGE, budget=MANY, cache=False)
    assert third.result is not None
    assert real.fake.requests_total == 2 * calls + usage.judge_calls
