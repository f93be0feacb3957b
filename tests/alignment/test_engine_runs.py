"""The alignment engine end to end in-process, with fake reflection and judge models: a
run's life. Cancel (before it runs, while verifying, in each phase, once finished), one run
per key, the history, refusals that change nothing, and the preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.alignment.alignment_support import (
    EVALUATION,
    FAKES,
    METRIC,
    align,
    expected_disagreements,
    load,
    run_options,
    start,
)
from tests.alignment.engine_support import judge as judge  # the fixtures, as pytest finds them
from tests.alignment.engine_support import reflect as reflect
from tests.alignment.engine_support import workspace as workspace

from rubricate import Rubricate
from rubricate.domain.alignment_runs import Budget, Phase, RunStatus
from rubricate.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from rubricate.models import fake


def test_cancel_before_it_runs_makes_no_call(workspace: Rubricate, reflect: fake.FakeModel) -> None:
    runs = workspace.alignment_runs
    run = start(workspace, reflection_lm="fake:reflect")
    assert runs.cancel(run.id).status is RunStatus.CANCELLED
    assert runs.cancel(run.id).status is RunStatus.CANCELLED
    assert runs.run(run.id).status is RunStatus.CANCELLED
    assert reflect.calls == []


def test_cancel_while_verifying_stops_at_the_next_boundary(
    workspace: Rubricate, reflect: fake.FakeModel
) -> None:
    runs = workspace.alignment_runs
    calls: list[str] = []

    def respond(call: fake.FakeCall) -> fake.FakeReply:
        calls.append(call.user)
        if len(calls) == 1:
            runs.cancel(run_id)
        return {"score": 3, "rationale": "x"}

    with fake.registered("canceller", respond):
        run = start(workspace, reflection_lm="fake:reflect", judge_model="fake:canceller")
        run_id = run.id
        finished = runs.run(run.id)
    assert finished.status is RunStatus.CANCELLED
    assert finished.disagreements == 32  # partial counts are kept
    assert finished.phase is Phase.VERIFYING
    assert len(calls) <= 64  # the chunk in flight at most, then nothing


def test_starting_twice_with_one_key_makes_one_run(workspace: Rubricate) -> None:
    runs = workspace.alignment_runs
    first = start(workspace, run_id="align-1")
    again = start(workspace, run_id="align-1")
    assert first.id == again.id == "align-1"
    assert len(runs.list(METRIC)) == 1
    with pytest.raises(Conflict, match="other parameters"):
        start(workspace, delta=2, run_id="align-1")


def test_history_is_newest_first_with_source_evaluations(workspace: Rubricate) -> None:
    runs = workspace.alignment_runs
    first = align(workspace)
    second = align(workspace, delta=2)
    history = runs.list(METRIC)
    assert [r.id for r in history] == [second.id, first.id]
    assert history[0].evaluations == (EVALUATION,)
    assert all(r.result is not None for r in history)


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"delta": 0}, InvalidInput, "delta"),
        ({"delta": -1}, InvalidInput, "delta"),
        ({"delta": 4.5}, InvalidInput, "delta"),
        ({"evaluations": []}, InvalidInput, "evaluations"),
        ({"evaluations": ["nope"]}, NotFound, None),
        ({"metric": "nope"}, NotFound, None),
        ({"reflection_lm": "gpt"}, InvalidInput, "reflection_lm"),
        ({"judge_model": "builtin:offline"}, InvalidInput, "judge_model"),
        ({"judge_model": "openai:gpt-4.1-mini"}, Unavailable, None),
        ({"budget": Budget(max_calls=0)}, InvalidInput, "budget.max_calls"),
        ({"budget": Budget(max_cost_usd=0)}, InvalidInput, "budget.max_cost_usd"),
    ],
)
def test_bad_parameters_are_refused_and_change_nothing(
    workspace: Rubricate, changes: dict[str, object], error: type[Exception], field: str | None
) -> None:
    with pytest.raises(error) as raised:
        start(workspace, **changes)
    if field is not None:
        assert getattr(raised.value, "field", None) == field
    assert workspace.alignment_runs.list(METRIC) == []


def test_an_evaluation_without_resolutions_or_judge_results_is_refused(
    rb: Rubricate, tmp_path: Path
) -> None:
    load(rb, tmp_path, rows=20)
    rb.import_path(_unresolved(tmp_path), "unresolved")
    with pytest.raises(InvalidInput, match="no resolved annotations") as raised:
        rb.alignment_runs.start(metric=METRIC, evaluations=["unresolved"], delta=1)
    assert raised.value.field == "evaluations"
    with pytest.raises(InvalidInput, match="no judge results"):
        rb.annotations.resolve("unresolved", METRIC, "majority")
        rb.alignment_runs.start(metric=METRIC, evaluations=["unresolved"], delta=1)


def test_an_evaluation_still_being_scored_is_refused(workspace: Rubricate) -> None:
    with fake.registered("slow", lambda call: {"score": 3, "rationale": "x"}):
        workspace.evaluation_runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:slow")
    with pytest.raises(InvalidInput, match="not completed"):
        start(workspace)


def test_the_preview_counts_and_estimates_without_calling(
    workspace: Rubricate, reflect: fake.FakeModel, judge: fake.FakeModel
) -> None:
    preview = workspace.alignment_runs.preview(**run_options(**FAKES, delta=2))
    assert preview.disagreements == expected_disagreements(120, 2)
    assert preview.reflection_calls >= 1 and preview.judge_calls > 0
    assert preview.cost_usd is None  # the fakes have no price
    assert reflect.calls == [] and judge.calls == []
    assert workspace.alignment_runs.list(METRIC) == []


def _unresolved(tmp_path: Path) -> Path:
    from tests.alignment.alignment_support import row

    folder = tmp_path / "unresolved"
    folder.mkdir()
    import json

    manifest = {
        "name": "u",
        "criteria": [{"name": METRIC, "scale": {"type": "ordinal", "min": 1, "max": 5}}],
    }
    (folder / "dataset.json").write_text(json.dumps(manifest))
    lines = [json.dumps(row(i, judge=False) | {"id": f"u{i}"}) for i in range(10)]
    (folder / "rows.jsonl").write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.parametrize(
    "phase", [Phase.LOADING_ANNOTATIONS, Phase.BUILDING_TRACES, Phase.DISTILLING, Phase.VERIFYING]
)
def test_cancel_in_each_phase_stops_before_any_further_call(
    workspace: Rubricate, reflect: fake.FakeModel, judge: fake.FakeModel, phase: Phase
) -> None:
    runs = workspace.alignment_runs
    run = start(workspace, **FAKES)
    calls_at_cancel: list[int] = []

    def progress(current: Phase | None, done: int, total: int) -> None:
        if current is phase and not calls_at_cancel:
            runs.cancel(run.id)
            calls_at_cancel.append(len(reflect.calls) + len(judge.calls))

    finished = runs.run(run.id, progress=progress)
    assert finished.status is RunStatus.CANCELLED
    assert finished.phase is phase
    assert len(reflect.calls) + len(judge.calls) == calls_at_cancel[0]  # none after the cancel
    if phase is not Phase.LOADING_ANNOTATIONS:
        assert finished.missing_skipped == 0  # counts found before the cancel are kept
    assert runs.cancel(run.id).status is RunStatus.CANCELLED  # and again: no change
    assert runs.run(run.id).status is RunStatus.CANCELLED


def test_cancelling_a_finished_run_changes_nothing(workspace: Rubricate) -> None:
    runs = workspace.alignment_runs
    run = align(workspace)
    assert runs.cancel(run.id).status is RunStatus.ALIGNED
    assert runs.get(run.id).result == run.result
