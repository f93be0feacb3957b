"""Alignment runs over HTTP on writingprompts' ``relevant`` (see alignment_http_support):
phases 1 and 2 on the real rows (what the workspace holds, the counts at each delta, the
preview), and every refusal of bad parameters, which changes nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.e2e.alignment_data import CRITERION, EVALUATION, build, expected
from tests.e2e.alignment_http_support import JUDGE, REFLECT, Real, contrast_in
from tests.e2e.alignment_http_support import data as data  # the fixtures, as pytest finds them
from tests.e2e.alignment_http_support import real as real
from tests.e2e.conftest import SECRET, every_stored_value

from rubricate.alignment.trace_format import parse_blocks
from rubricate.domain.alignment_runs import Budget, RunStatus
from rubricate.domain.errors import InvalidInput, NotFound, Unavailable
from rubricate.store.tables import (
    AlignmentRunRecord,
    JudgeResultRecord,
    ResolutionRecord,
    RowRecord,
)

pytestmark = pytest.mark.slow


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
