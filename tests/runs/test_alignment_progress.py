"""An alignment run carried out again after its later phases began: a retried run starts
over from its first stage, and a stage may run again with the state the earlier stages
carried. The earlier phases it replays leave the run's progress alone, so progress never
goes past its total nor backwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.alignment.alignment_support import (
    FAKES,
    GUIDELINE,
    judge_length,
    load,
    reflect_length,
    start,
)

from rubricate import Rubricate
from rubricate.alignment.engine import AlignmentEngine
from rubricate.alignment.stages import STAGES, Carried, Stage
from rubricate.domain.alignment_runs import Phase, RunStatus
from rubricate.models import fake

ORDER = list(Phase)

Shown = tuple[Phase | None, int, int]  # phase, done, total: what a progress bar is given


@pytest.fixture
def models() -> Iterator[None]:
    with fake.registered("reflect", reflect_length), fake.registered("judge", judge_length):
        yield


@pytest.fixture
def workspace(rb: Rubricate, tmp_path: Path, models: None) -> Rubricate:
    load(rb, tmp_path, rows=400)  # more rows than verification calls, and than 1
    return rb


def fail_while_finalizing(
    rb: Rubricate, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> dict[Stage, Carried]:
    """Carry the run out until its last stage has set the phase Finalizing, then crash it
    there (the run ends in Error); what each stage was given, by stage."""
    engine = AlignmentEngine(rb.db, rb.settings, cache=False)
    given: dict[Stage, Carried] = {}
    carried = Carried()
    with monkeypatch.context() as patch:
        patch.setattr(AlignmentEngine, "_finish", _crash)
        for stage in STAGES:
            given[stage] = carried
            try:
                carried = engine.run_stage(run_id, stage, carried)
            except RuntimeError:
                break
    crashed = rb.alignment_runs.get(run_id)
    assert crashed.status is RunStatus.ERROR and crashed.phase is Phase.FINALIZING
    assert crashed.progress_total == 1
    return given


def _crash(*_: object) -> None:
    raise RuntimeError("the worker died while finalizing")


def assert_steady(shown: list[Shown]) -> None:
    """Never past the total; phases only move forward; within one, done only grows."""
    assert shown
    for (phase, done, _), (before, done_before, _) in zip(shown[1:], shown, strict=False):
        assert phase is not None and before is not None
        assert ORDER.index(phase) >= ORDER.index(before), shown
        if phase is before:
            assert done >= done_before, shown
    assert all(done <= total for _, done, total in shown), shown


@pytest.mark.parametrize("resumed_at", [Stage.PREPARE, Stage.VERIFY])
def test_a_run_carried_out_again_keeps_its_progress_within_its_total(
    workspace: Rubricate, monkeypatch: pytest.MonkeyPatch, resumed_at: Stage
) -> None:
    run_id = start(workspace, **FAKES, seed=3).id
    given = fail_while_finalizing(workspace, run_id, monkeypatch)
    workspace.alignment_runs.retry(run_id)

    shown: list[Shown] = []
    engine = AlignmentEngine(
        workspace.db,
        workspace.settings,
        cache=False,
        progress=lambda phase, done, total: shown.append((phase, done, total)),
    )
    carried = given[resumed_at]
    for stage in STAGES[STAGES.index(resumed_at) :]:
        carried = engine.run_stage(run_id, stage, carried)

    run = workspace.alignment_runs.get(run_id)
    assert run.status is RunStatus.ALIGNED
    assert run.result is not None and [g.text for g in run.result.guidelines] == [GUIDELINE]
    assert (run.phase, run.progress_done, run.progress_total) == (Phase.FINALIZING, 1, 1)
    assert_steady(shown)
    assert {phase for phase, _, _ in shown} == {Phase.FINALIZING}  # replays moved nothing
