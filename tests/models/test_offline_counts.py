"""The offline engine's notes count in plain English: "1 disagreement", not "1
disagreements" (issue 13)."""

from __future__ import annotations

from tests.models.test_offline_engine import background, distill, trace

from rubricate.domain.traces import Direction
from rubricate.models.offline import wording


def test_one_disagreement_is_singular() -> None:
    result = distill([trace(1, 4, 2, ["Too long."])], background())
    assert any(
        note.startswith("Only 1 disagreement where the judge was too lenient:")
        for note in result.notes
    ), result.notes
    assert not any("1 disagreements" in note for note in result.notes)


def test_where_counts() -> None:
    assert wording.where(Direction.TOO_HARSH, 1).startswith("disagreement where")
    assert wording.where(Direction.TOO_HARSH, 0).startswith("disagreements where")
    assert wording.where(Direction.TOO_HARSH, 7).startswith("disagreements where")
