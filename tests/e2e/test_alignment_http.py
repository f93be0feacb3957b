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
import statistics
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
from rubricate.alignment.split import Part, group_key, part_of
from rubricate.domain.alignment import AgreementFigures, parse_guidelines_text
from rubricate.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.domain.runs import AlignmentRun, Budget, RunStatus
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

TRACE = re.compile(r"^### Row (\d+) \((judge too lenient|judge too harsh)\)$", re.M)
BLOCK = re.compile(r"<<<BEGIN (\w+) ([0-9a-f]+)>>>\n(.*?)\n<<<END \1 \2>>>", re.S)

Seen = list[tuple[int, bool]]  # (row id, judge too lenient) of each trace in a request
Reflect = Callable[[Seen], dict[str, Any]]


def propose(seen: Seen) -> dict[str, Any]:
    """The fake reflection model: the length guideline with the batch's too-lenient rows,
    the model-written guideline with its too-harsh rows (each only when there are some)."""
    lenient = [row_id for row_id, is_lenient in seen if is_lenient]
    harsh = [row_id for row_id, is_lenient in seen if not is_lenient]
    found: list[dict[str, Any]] = []
    if lenient:
        found.append({"text": LENGTH_GUIDELINE, "direction": "too_lenient", "row_ids": lenient})
    if harsh:
        found.append({"text": MODEL_GUIDELINE, "direction": "too_harsh", "row_ids": harsh})
    return {"guidelines": found}


def traces_in(request: FakeRequest) -> Seen:
    return [
        (int(m.group(1)), m.group(2) == "judge too lenient")
        for m in TRACE.finditer(request.last_user_message)
    ]


def output_of(request: FakeRequest) -> str:
    """The OUTPUT block of a judge request: the row being scored."""
    (output,) = [
        m.group(3) for m in BLOCK.finditer(request.last_user_message) if m.group(1) == "OUTPUT"
    ]
    return output


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
    assert real.externals(length.row_ids) == want.lenient
    assert real.externals(model.row_ids) == want.harsh
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
    assert real.externals(length.row_ids) == want.lenient
    assert real.externals(model.row_ids) == want.harsh
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
    assert by_direction == {Direction.TOO_LENIENT: want.lenient, Direction.TOO_HARSH: want.harsh}


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

    # Test rows: every test-part disagreement, and as many agreeing test rows (at least 10).
    test_dis = {e for e in disagreeing if part(e) is Part.TEST}
    test_agree = {r.external_id for r in usable if part(r.external_id) is Part.TEST} - test_dis
    verdicts = {r.external_id: r for r in v.rows}
    assert len(verdicts) == len(v.rows) == v.test_rows >= 30
    assert {part(e) for e in verdicts} == {Part.TEST}
    assert test_dis <= set(verdicts)
    assert len(set(verdicts) - test_dis) == min(len(test_agree), max(len(test_dis), 10))

    # Selection rows were scored by the judge; distillation rows never were.
    rows_by_output = real.data.by_output()
    judged = [rows_by_output[output_of(r)].external_id for r in real.requests("fake-judge")]
    judged_parts = {part(e) for e in judged}
    assert judged_parts == {Part.SELECTION, Part.TEST}
    sel_dis = {e for e in disagreeing if part(e) is Part.SELECTION}
    sel_agree = {r.external_id for r in usable if part(r.external_id) is Part.SELECTION} - sel_dis
    assert v.selection_rows == len(sel_dis) + min(len(sel_agree), max(len(sel_dis), 10))

    # Both guidelines beat the current prompt; the verdicts are the fake judge's rule.
    assert [g.text for g in result.guidelines] == [LENGTH_GUIDELINE, MODEL_GUIDELINE]
    chosen = result.guidelines_text()
    for external, verdict in verdicts.items():
        row = by_external[external]
        assert verdict.human == row.human
        assert verdict.before == row.judge  # the current prompt: the stored judge's rule
        assert verdict.after == row.judged_with(chosen)

    before = figures_ok(v.before, len(verdicts))
    after = figures_ok(v.after, len(verdicts))
    rows = [by_external[e] for e in verdicts]
    exact_before = statistics.fmean(1.0 if r.judge == r.human else 0.0 for r in rows)
    exact_after = statistics.fmean(1.0 if r.judged_with(chosen) == r.human else 0.0 for r in rows)
    mae_before = statistics.fmean(abs(r.gap()) for r in rows)
    assert before.exact.value == pytest.approx(exact_before, abs=5e-5)
    assert after.exact.value == pytest.approx(exact_after, abs=5e-5)
    assert before.mae.value == pytest.approx(mae_before, abs=5e-5)
    assert exact_after > exact_before
    assert (after.kappa.value or 0.0) > (before.kappa.value or 0.0)

    # Proposals: the current prompt, both guidelines, then each left out in turn; so each
    # selection row is scored four times and each test row twice, none of it twice alike.
    assert [p.guideline_ids for p in v.proposals] == [[], [1, 2], [2], [1]]
    assert result.usage.judge_calls == 4 * v.selection_rows + 2 * v.test_rows
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
        accepted = rb.reviews.accept(run.id)
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
        assert f"- {LENGTH_GUIDELINE}\n- {MODEL_GUIDELINE}" in seen_by_judge.system
        exported = rb.reviews.export_prompt("helpfulness-aligned")
        assert f"- {LENGTH_GUIDELINE}" in exported and f"- {MODEL_GUIDELINE}" in exported
        assert LENGTH_GUIDELINE not in rb.reviews.export_prompt("helpfulness")

        # The built-in is unchanged.
        assert rb.metrics.versions("helpfulness") == before
        assert rb.metrics.get("helpfulness").kind is MetricKind.BUILTIN
        # Accepting again creates nothing.
        again = rb.reviews.accept(run.id)
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
    accepted = rb.reviews.accept(first.id)
    assert accepted.created and not accepted.forked and accepted.metric == CRITERION
    v2 = rb.metrics.version(CRITERION)  # the active version
    assert v2.id == accepted.version.id and v2.number == 2
    assert v2.origin is VersionOrigin.ALIGNMENT and v2.parent_version_id == v1.id
    assert parse_guidelines_text(v2.guidelines) == [LENGTH_GUIDELINE, MODEL_GUIDELINE]

    # The next run reads v2's guidelines; the model restates the length one (merged into
    # it, rows pooled) and adds a new one.
    def restating(seen: Seen) -> dict[str, Any]:
        lenient = [row_id for row_id, is_lenient in seen if is_lenient]
        harsh = [row_id for row_id, is_lenient in seen if not is_lenient]
        found: list[dict[str, Any]] = []
        if lenient:
            found.append({"text": RESTATED, "direction": "too_lenient", "row_ids": lenient})
        if harsh:
            found.append({"text": NEW_GUIDELINE, "direction": "too_harsh", "row_ids": harsh})
        return {"guidelines": found}

    real.fake.reset()
    real.reflect = restating
    second = real.align(1)
    assert second.base_version_id == v2.id
    for request in real.requests("fake-reflect"):
        assert f"- {LENGTH_GUIDELINE}\n- {MODEL_GUIDELINE}" in request.last_user_message
    result = second.result
    assert result is not None
    want = expected(real.data, 1)
    assert [(g.text, g.existing) for g in result.proposed] == [
        (LENGTH_GUIDELINE, True),
        (MODEL_GUIDELINE, True),
        (NEW_GUIDELINE, False),
    ]
    length, model, new = result.proposed
    assert real.externals(length.row_ids) == want.lenient  # pooled from every batch
    assert model.row_ids == []
    assert real.externals(new.row_ids) == want.harsh and new.direction is Direction.TOO_HARSH
    assert RESTATED not in {g.text for g in result.proposed}

    third = rb.reviews.accept(second.id)
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

    v2 = rb.reviews.accept(length_only.id).version
    with pytest.raises(Conflict, match="version 2 of 'relevant' is active now"):
        rb.reviews.accept(both.id)
    # The refusal changed nothing.
    assert [v.number for v in rb.metrics.versions(CRITERION)] == [1, 2]
    assert rb.alignment_runs.get(both.id).accepted_version_id is None
    assert rb.metrics.version(CRITERION).id == v2.id

    merged = rb.reviews.accept(both.id, merge=True)
    assert merged.created and merged.merged
    v3 = rb.metrics.version(CRITERION)
    assert v3.id == merged.version.id and v3.number == 3 and v3.parent_version_id == v2.id
    assert guideline_section(v3.guidelines) == [f"- {LENGTH_GUIDELINE}", f"- {MODEL_GUIDELINE}"]
    stored = rb.alignment_runs.get(both.id)
    assert stored.result is not None and stored.result.review.merged
    assert stored.accepted_version_id == v3.id
    again = rb.reviews.accept(both.id, merge=True)
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
        with pytest.raises(Unavailable, match="OPENAI_API_KEY"):
            runs.preview(**(good | change))
    assert real.run_records() == 0
    assert runs.list(CRITERION) == []
    assert real.fake.requests_total == 0
    assert sorted(every_stored_value(rb)) == snapshot
    assert SECRET not in str(snapshot)


# --- the response cache ------------------------------------------------------------------


def test_a_repeated_alignment_is_answered_from_the_cache(real: Real) -> None:
    first = real.align(2, judge_model=JUDGE, budget=MANY, cache=True)
    assert first.result is not None and first.status is RunStatus.ALIGNED
    assert first.result.verification.status == "verified", first.result.verification.message
    calls = real.fake.requests_total
    assert calls == first.result.usage.calls > 0
    assert first.result.usage.cache_hits == 0

    second = real.align(2, judge_model=JUDGE, budget=MANY, cache=True)
    assert second.id != first.id and second.result is not None
    assert real.fake.requests_total == calls  # not one more HTTP request
    assert second.result.usage.cache_hits == calls
    assert second.result.guidelines == first.result.guidelines
    assert second.result.verification.rows == first.result.verification.rows
    assert second.result.verification.after == first.result.verification.after

    # Without the cache the same alignment is asked again.
    third = real.align(2, judge_model=JUDGE, budget=MANY, cache=False)
    assert third.result is not None
    assert real.fake.requests_total == 2 * calls
