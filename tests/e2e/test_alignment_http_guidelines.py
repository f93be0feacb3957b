"""Alignment runs over HTTP on writingprompts' ``relevant`` (see alignment_http_support):
the guidelines the reflection model proposes, the rows that support them, and the row ids
of a sloppy answer left out."""

from __future__ import annotations

from typing import Any

import pytest
from tests.e2e.alignment_data import LENGTH_GUIDELINE, MODEL_GUIDELINE, expected
from tests.e2e.alignment_http_support import (
    REFLECT,
    Real,
    Seen,
    direction_of,
    kept_support,
    propose,
)
from tests.e2e.alignment_http_support import data as data  # the fixtures, as pytest finds them
from tests.e2e.alignment_http_support import real as real

from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.traces import Direction

pytestmark = pytest.mark.slow


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
