"""Stage outputs as a versioned model: what every earlier version stored is read, and the
stages and the run's phases are one vocabulary."""

from __future__ import annotations

from typing import Any

import pytest

from rubricate.alignment.stages import FORMAT, PHASES, STAGES, Carried, Stage, earlier, stage_of
from rubricate.domain.alignment_runs import Phase
from rubricate.domain.traces import Direction
from rubricate.models.cost import Tally

USAGE = {
    "reflection_calls": 2,
    "judge_calls": 0,
    "cache_hits": 0,
    "reused_judge_results": 0,
    "input_tokens": 13600,
    "output_tokens": 84,
    "cost_usd": None,
}
SPENT = {"calls": 2, "cache_hits": 0, "input_tokens": 13600, "output_tokens": 84, "cost_usd": None}
ITEM = {
    "id": 1,
    "text": "Do not reward length: a long answer is not better for being long.",
    "direction": "too_lenient",
    "row_ids": [1, 4, 16],
    "evidence": "",
    "existing": False,
}
# Format 0, as the engine returned it after distill and after verify (no judge model).
V0_DISTILL: dict[str, Any] = {
    "prepared": True,
    "usage": USAGE,
    "spent": SPENT,
    "items": [ITEM],
    "notes": ["Distilled by fake:reflect from 42 disagreement traces."],
}
V0_VERIFY: dict[str, Any] = V0_DISTILL | {
    "chosen": [ITEM],
    "report": {
        "status": "not run",
        "message": "No judge model was given, so the guidelines are not verified.",
        "distill_rows": 42,
        "selection_rows": 0,
        "test_rows": 0,
        "proposals": [],
        "before": None,
        "after": None,
        "rows": [],
    },
}


def test_the_untyped_format_is_read_and_upgraded() -> None:
    distilled = Carried.from_stored(V0_DISTILL)
    assert distilled.prepared and distilled.chosen is None and distilled.verification is None
    assert distilled.proposed is not None and distilled.proposed[0].row_ids == [1, 4, 16]
    assert distilled.proposed[0].direction is Direction.TOO_LENIENT
    assert distilled.spent == Tally(calls=2, input_tokens=13600, output_tokens=84, cost_usd=None)
    assert distilled.usage.reflection_calls == 2 and distilled.usage.cost_usd is None

    verified = Carried.from_stored(V0_VERIFY | {"reused": 3, "stopped": True})
    assert verified.chosen == verified.proposed
    assert verified.verification is not None and verified.verification.distill_rows == 42
    assert verified.reused_judge_results == 3 and verified.stopped
    assert Carried.from_stored({}) == Carried()  # what the old workflow gave its first stage


def test_the_stored_form_is_plain_json_with_its_version_and_reads_back() -> None:
    carried = Carried.from_stored(V0_VERIFY)
    stored = carried.to_stored()
    assert stored["format"] == FORMAT and stored["proposed"][0].items() >= ITEM.items()
    assert Carried.from_stored(stored) == carried
    assert all(type(v) in (bool, int, list, dict, str, type(None)) for v in stored.values())


@pytest.mark.parametrize(
    "stored", [{"format": FORMAT + 1}, {"format": FORMAT, "items": []}, {"format": "1"}]
)
def test_a_format_this_version_does_not_know_is_refused(stored: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Carried.from_stored(stored)


def test_stages_report_every_phase_once_and_in_order() -> None:
    assert STAGES == tuple(Stage) == tuple(PHASES)
    assert [phase for stage in STAGES for phase in stage.phases] == list(Phase)
    assert all(stage_of(phase) is stage for stage in STAGES for phase in stage.phases)
    assert earlier(Phase.DISTILLING, Phase.VERIFYING)
    assert not earlier(Phase.FINALIZING, Phase.LOADING_ANNOTATIONS)


def test_format_one_is_read_as_a_run_without_folds() -> None:
    """Format 2 added ``fold_proposed`` (cross-fitting on small data); a run checkpointed
    in format 1 resumes as one that does not cross-fit."""
    stored = Carried.from_stored(V0_VERIFY).to_stored() | {"format": 1}
    stored.pop("fold_proposed")
    carried = Carried.from_stored(stored)
    assert carried.fold_proposed is None and carried.format == FORMAT == 2
    assert carried.proposed is not None and carried.proposed[0].row_ids == [1, 4, 16]
