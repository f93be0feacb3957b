"""Reviewing and accepting alignment runs, and exporting a version's prompt.

Aligned runs are made by hand here: a run is started as usual, then its record is given
the status and the result the engine would have stored."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rubricate import Rubricate, Settings
from rubricate.demo import EVALUATION, build_demo
from rubricate.domain.alignment import AlignmentResult, GuidelineItem
from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.scoring import render_prompt
from rubricate.scoring.template import compile_template
from rubricate.service.reviewing import AcceptResult
from rubricate.store.runs import store_result
from rubricate.store.tables import AlignmentRunRecord, utcnow

CUSTOM = "answer_helpfulness"  # the demo's custom metric, 1-5
BUILTIN = "helpfulness"
G1 = "Penalise answers that promise refunds the policy does not allow."
G2 = "Reward short answers that solve the problem."
G3 = "Point to the help center article when one exists."


def make_run(
    rb: Rubricate,
    metric: str,
    evaluation: str,
    guidelines: Sequence[str | GuidelineItem],
    *,
    status: RunStatus = RunStatus.ALIGNED,
) -> str:
    """A run of ``metric`` that ended with these guidelines (ids 1, 2, ...)."""
    run = rb.alignment_runs.start(metric=metric, evaluations=[evaluation], delta=1)
    items = [
        g if isinstance(g, GuidelineItem) else GuidelineItem(id=i, text=g, row_ids=[1])
        for i, g in enumerate(guidelines, start=1)
    ]
    result = AlignmentResult(engine="builtin:offline", guidelines=items, disagreements=12)
    with rb.db.write() as session:
        record = session.get(AlignmentRunRecord, run.id)
        assert record is not None
        record.status = status.value
        if status is RunStatus.ALIGNED:
            store_result(record, result)
            record.disagreements = 12
        if status.finished:
            record.finished_at = utcnow()
    return run.id


@pytest.fixture
def demo(rb: Rubricate) -> str:
    build_demo(rb)
    return EVALUATION


def builtin_dataset(folder: Path) -> Path:
    """Three rows judged with the built-in helpfulness (version 1), resolved by people."""
    folder.mkdir(parents=True)
    manifest = {
        "name": folder.name,
        "criteria": [{"name": BUILTIN, "scale": {"type": "ordinal", "min": 1, "max": 5}}],
    }
    (folder / "dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    rows = [
        {
            "id": f"r{i}",
            "input": f"question {i}",
            "output": f"answer {i}",
            "annotations": {BUILTIN: [{"annotator": "ana", "score": human}]},
            "judge": {BUILTIN: {"score": judge, "metric_version": 1, "model": "fake:judge"}},
            "resolved": {BUILTIN: {"value": human, "by": "user:ana"}},
        }
        for i, (judge, human) in enumerate([(5, 2), (4, 4), (1, 4)])
    ]
    lines = "\n".join(json.dumps(row) for row in rows) + "\n"
    (folder / "rows.jsonl").write_text(lines, encoding="utf-8")
    return folder


@pytest.fixture
def judged(rb: Rubricate, tmp_path: Path) -> str:
    """An evaluation with judge results and resolutions for the built-in helpfulness."""
    rb.import_path(builtin_dataset(tmp_path / "judged"), "judged")
    return "judged"


def system_of(prompt: str, guidelines: str, rb: Rubricate, ref: str) -> str:
    scale = rb.metrics.version(ref).scale
    return render_prompt(
        prompt, input="q", output="a", context="c", guidelines=guidelines, scale=scale
    ).system


# -- accept on a built-in metric -----------------------------------------------------------


def test_accept_on_a_builtin_metric_forks_it(rb: Rubricate, judged: str) -> None:
    builtin = rb.metrics.get(BUILTIN)
    versions_before = rb.metrics.versions(BUILTIN)
    run_id = make_run(rb, BUILTIN, judged, [G1, G2])

    done = rb.reviews.accept(run_id, by="ana", confirm_unverified=True)

    assert isinstance(done, AcceptResult)
    assert (done.metric, done.created, done.forked, done.merged) == (
        "helpfulness-aligned",
        True,
        True,
        False,
    )
    fork = rb.metrics.get("helpfulness-aligned")
    assert fork.kind is MetricKind.CUSTOM
    assert fork.forked_from_id == builtin.id
    assert fork.description == builtin.description
    assert fork.judge_model == builtin.judge_model
    version = rb.metrics.version("helpfulness-aligned")
    assert done.version == version
    assert version.number == 1
    assert version.origin is VersionOrigin.FORK
    assert version.parent_version_id == versions_before[-1].id
    assert version.source_run_id == run_id
    assert version.prompt == versions_before[-1].prompt
    assert version.scale == versions_before[-1].scale
    assert version.guidelines == f"- {G1}\n- {G2}"
    # the judge sees the guidelines in the fork's prompt
    system = system_of(version.prompt, version.guidelines, rb, "helpfulness-aligned")
    assert f"1. {G1}\n2. {G2}" in system  # numbered, so the judge can name those it applied
    assert "Guidelines from your team's reviewers" in system
    # the built-in is untouched
    assert rb.metrics.versions(BUILTIN) == versions_before
    assert rb.metrics.get(BUILTIN) == builtin
    assert G1 not in system_of(versions_before[-1].prompt, "", rb, BUILTIN)
    # the run records the decision
    run = rb.alignment_runs.get(run_id)
    assert run.status is RunStatus.ALIGNED
    assert run.accepted_version_id == version.id
    assert run.result is not None
    review = run.result.review
    assert (review.decision, review.by, review.version_id) == ("accepted", "ana", version.id)
    assert review.metric == "helpfulness-aligned"
    assert review.at is not None
    assert done.run == run


def test_a_second_fork_takes_the_next_free_name(rb: Rubricate, judged: str) -> None:
    first = make_run(rb, BUILTIN, judged, [G1])
    second = make_run(rb, BUILTIN, judged, [G2])
    third = make_run(rb, BUILTIN, judged, [G3])
    assert rb.reviews.accept(first, confirm_unverified=True).metric == "helpfulness-aligned"
    assert rb.reviews.accept(second, confirm_unverified=True).metric == "helpfulness-aligned-2"
    assert rb.reviews.accept(third, confirm_unverified=True).metric == "helpfulness-aligned-3"
    assert rb.metrics.version("helpfulness-aligned-2").guidelines == f"- {G2}"
    assert len(rb.metrics.versions(BUILTIN)) == 1


# -- accept on a custom metric -----------------------------------------------------------


def test_accept_on_a_custom_metric_adds_the_active_version(rb: Rubricate, demo: str) -> None:
    rb.metrics.pin(CUSTOM, 1)  # a pinned metric: an accept lifts the pin
    base = rb.metrics.version(CUSTOM)
    run_id = make_run(rb, CUSTOM, demo, [G1, G2])

    done = rb.reviews.accept(run_id, confirm_unverified=True)

    assert (done.metric, done.created, done.forked, done.merged) == (CUSTOM, True, False, False)
    version = done.version
    assert version.number == base.number + 1
    assert version.origin is VersionOrigin.ALIGNMENT
    assert version.parent_version_id == base.id
    assert version.source_run_id == run_id
    assert version.prompt == base.prompt
    assert version.guidelines == f"- {G1}\n- {G2}"
    assert rb.metrics.version(CUSTOM) == version  # active now
    assert rb.metrics.get(CUSTOM).pinned_version is None
    assert f"1. {G1}" in system_of(version.prompt, version.guidelines, rb, CUSTOM)


def test_accepting_twice_creates_nothing_new(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    first = rb.reviews.accept(run_id, by="ana", confirm_unverified=True)
    again = rb.reviews.accept(run_id, by="bo", confirm_unverified=True)
    assert again.created is False
    assert again.version == first.version
    assert (again.metric, again.forked, again.merged) == (CUSTOM, False, False)
    assert [v.number for v in rb.metrics.versions(CUSTOM)] == [1, 2]
    run = rb.alignment_runs.get(run_id)
    assert run.result is not None and run.result.review.by == "ana"  # the first accept's


def test_accepting_a_fork_twice_names_the_fork(rb: Rubricate, judged: str) -> None:
    run_id = make_run(rb, BUILTIN, judged, [G1])
    first = rb.reviews.accept(run_id, confirm_unverified=True)
    again = rb.reviews.accept(run_id, merge=True, confirm_unverified=True)
    assert (again.created, again.forked, again.metric) == (False, True, "helpfulness-aligned")
    assert again.version == first.version
    assert [m.metric.name for m in rb.metrics.list()].count("helpfulness-aligned") == 1


def test_concurrent_accepts_of_one_run_create_one_version(database_url: str, demo: str) -> None:
    with Rubricate(Settings(database_url=database_url)) as rb:
        run_id = make_run(rb, CUSTOM, demo, [G1])
    results: list[AcceptResult] = []
    errors: list[BaseException] = []

    def accept() -> None:
        try:
            with Rubricate(Settings(database_url=database_url)) as own:
                results.append(own.reviews.accept(run_id, confirm_unverified=True))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=accept) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.version.id for r in results}) == 1
    with Rubricate(Settings(database_url=database_url)) as rb:
        assert [v.number for v in rb.metrics.versions(CUSTOM)] == [1, 2]


def test_concurrent_accepts_of_two_runs_take_turns(database_url: str, demo: str) -> None:
    with Rubricate(Settings(database_url=database_url)) as rb:
        runs = [make_run(rb, CUSTOM, demo, [G1]), make_run(rb, CUSTOM, demo, [G2])]
    outcomes: list[str] = []

    def accept(run_id: str) -> None:
        with Rubricate(Settings(database_url=database_url)) as own:
            try:
                own.reviews.accept(run_id, confirm_unverified=True)
                outcomes.append("accepted")
            except Conflict as exc:
                outcomes.append("stale" if "accept with merge" in str(exc) else str(exc))

    threads = [threading.Thread(target=accept, args=(run_id,)) for run_id in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted", "stale"]
    with Rubricate(Settings(database_url=database_url)) as rb:
        assert [v.number for v in rb.metrics.versions(CUSTOM)] == [1, 2]


# -- a stale base version ----------------------------------------------------------------


def test_a_stale_base_is_refused_with_an_explanation(rb: Rubricate, demo: str) -> None:
    first = make_run(rb, CUSTOM, demo, [G1, G2])
    second = make_run(rb, CUSTOM, demo, [G3])
    rb.reviews.accept(first, confirm_unverified=True)

    with pytest.raises(Conflict) as refused:
        rb.reviews.accept(second, confirm_unverified=True)

    message = str(refused.value)
    assert "version 2 of 'answer_helpfulness' is active now" in message
    assert "this run was based on version 1" in message
    assert "accept with merge" in message
    assert [v.number for v in rb.metrics.versions(CUSTOM)] == [1, 2]
    run = rb.alignment_runs.get(second)
    assert run.accepted_version_id is None
    assert run.result is not None and run.result.review.decision is None


def test_a_hand_made_version_makes_the_base_stale(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    base = rb.metrics.version(CUSTOM)
    rb.metrics.add_version(CUSTOM, prompt=base.prompt, guidelines="- Be kind.")
    with pytest.raises(Conflict, match=r"version 2 .* is active now"):
        rb.reviews.accept(run_id, confirm_unverified=True)


def test_a_merge_combines_the_active_guidelines_with_the_runs(rb: Rubricate, demo: str) -> None:
    first = make_run(rb, CUSTOM, demo, [G1, G2])
    # the second run found G2 again (other case and spacing), one of its own, and G1
    second = make_run(
        rb, CUSTOM, demo, ["  reward SHORT answers   that solve the problem. ", G3, G1]
    )
    rb.reviews.strike(second, 3)  # a new guideline struck: not added, not taken out either
    accepted = rb.reviews.accept(first, confirm_unverified=True).version

    done = rb.reviews.accept(second, merge=True, by="bo", confirm_unverified=True)

    assert (done.created, done.merged, done.forked) == (True, True, False)
    version = done.version
    assert version.number == 3
    assert version.parent_version_id == accepted.id
    assert version.prompt == accepted.prompt
    assert version.origin is VersionOrigin.ALIGNMENT
    assert version.guidelines == f"- {G1}\n- {G2}\n- {G3}"
    assert rb.metrics.version(CUSTOM) == version
    run = rb.alignment_runs.get(second)
    assert run.result is not None
    assert run.result.review.merged is True
    assert run.result.review.version_id == version.id


def test_a_merge_keeps_what_changed_on_both_sides(rb: Rubricate, demo: str) -> None:
    """A guideline taken out of the active version is not brought back by a merge; one the
    reviewer struck leaves the merged version too."""
    v1 = rb.metrics.version(CUSTOM)
    rb.metrics.add_version(CUSTOM, prompt=v1.prompt, guidelines="- Old rule.\n- Keep it.\n- Hers.")
    existing = [
        GuidelineItem(id=1, text="Old rule.", existing=True),
        GuidelineItem(id=2, text="Keep it.", existing=True),
        GuidelineItem(id=3, text="Hers.", existing=True),
        GuidelineItem(id=4, text=G3),
    ]
    run_id = make_run(rb, CUSTOM, demo, existing)
    rb.reviews.strike(run_id, 3)
    rb.metrics.add_version(CUSTOM, prompt=v1.prompt, guidelines="- Keep it.\n- Hers.\n- Mine.")
    done = rb.reviews.accept(run_id, merge=True, confirm_unverified=True)
    assert done.version.guidelines == f"- Keep it.\n- Mine.\n- {G3}"


def test_merge_on_a_fresh_base_is_a_plain_accept(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    done = rb.reviews.accept(run_id, merge=True, confirm_unverified=True)
    assert (done.created, done.merged) == (True, False)
    assert done.version.guidelines == f"- {G1}"


# -- strike, edit, restore ---------------------------------------------------------------


def test_edits_are_recorded_and_shape_what_is_accepted(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1, G2, G3])

    rb.reviews.strike(run_id, 2, by="ana")
    rb.reviews.edit(run_id, 3, "  Link the   help center\n article. ", by="bo")
    rb.reviews.strike(run_id, 1, by="ana")
    run = rb.reviews.restore(run_id, 1, by="cy")

    assert run.result is not None
    edits = run.result.review.edits
    assert [(e.action, e.guideline_id, e.by) for e in edits] == [
        ("strike", 2, "ana"),
        ("edit", 3, "bo"),
        ("strike", 1, "ana"),
        ("restore", 1, "cy"),
    ]
    assert edits[1].text == "Link the help center article."
    assert all(e.at is not None for e in edits)
    assert [g.text for g in run.result.effective_guidelines()] == [
        G1,
        "Link the help center article.",
    ]
    assert run.result.guidelines[2].text == G3  # the original stays
    version = rb.reviews.accept(run_id, confirm_unverified=True).version
    assert version.guidelines == f"- {G1}\n- Link the help center article."


def test_repeated_edits_are_not_recorded_again(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1, G2])
    rb.reviews.strike(run_id, 1)
    rb.reviews.strike(run_id, 1)
    rb.reviews.restore(run_id, 2)  # not struck
    rb.reviews.edit(run_id, 2, G2)  # its own text
    run = rb.alignment_runs.get(run_id)
    assert run.result is not None
    assert [(e.action, e.guideline_id) for e in run.result.review.edits] == [("strike", 1)]


def test_an_edit_of_a_struck_guideline_shows_once_restored(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    rb.reviews.strike(run_id, 1)
    rb.reviews.edit(run_id, 1, "Better words.")
    run = rb.reviews.restore(run_id, 1)
    assert run.result is not None
    assert [g.text for g in run.result.effective_guidelines()] == ["Better words."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "must not be empty"), ("  \n ", "must not be empty"), ("x" * 1001, "at most 1,000")],
)
def test_an_edit_needs_some_text(rb: Rubricate, demo: str, text: str, expected: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    with pytest.raises(InvalidInput, match=expected) as refused:
        rb.reviews.edit(run_id, 1, text)
    assert refused.value.field == "text"
    rb.reviews.edit(run_id, 1, "y" * 1000)  # the longest allowed


def test_an_unknown_guideline_or_run(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1, G2])
    with pytest.raises(InvalidInput, match=r"no guideline 7 \(its guidelines: 1, 2\)") as bad:
        rb.reviews.strike(run_id, 7)
    assert bad.value.field == "guideline"
    with pytest.raises(InvalidInput):
        rb.reviews.edit(run_id, 0, "text")
    with pytest.raises(NotFound, match="no alignment run 'nope'"):
        rb.reviews.restore("nope", 1)
    with pytest.raises(NotFound):
        rb.reviews.accept("nope", confirm_unverified=True)
    with pytest.raises(NotFound):
        rb.reviews.reject("nope")


def test_no_edits_after_a_decision(rb: Rubricate, demo: str) -> None:
    accepted = make_run(rb, CUSTOM, demo, [G1, G2])
    rb.reviews.accept(accepted, confirm_unverified=True)
    with pytest.raises(Conflict, match="accepted already"):
        rb.reviews.edit(accepted, 1, "new words")
    with pytest.raises(Conflict, match="accepted already"):
        rb.reviews.strike(accepted, 2)
    rejected = make_run(rb, CUSTOM, demo, [G1])
    rb.reviews.reject(rejected)
    with pytest.raises(Conflict, match="was rejected"):
        rb.reviews.restore(rejected, 1)
    run = rb.alignment_runs.get(accepted)
    assert run.result is not None and run.result.review.edits == []


# -- reject ------------------------------------------------------------------------------


def test_reject(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    run = rb.reviews.reject(run_id, by="ana")
    assert run.status is RunStatus.ALIGNED
    assert run.result is not None
    assert (run.result.review.decision, run.result.review.by) == ("rejected", "ana")
    first_at = run.result.review.at
    again = rb.reviews.reject(run_id, by="bo")  # a no-op success
    assert again.result is not None
    assert (again.result.review.by, again.result.review.at) == ("ana", first_at)
    with pytest.raises(Conflict, match="was rejected: it cannot be accepted"):
        rb.reviews.accept(run_id, confirm_unverified=True)
    with pytest.raises(Conflict):
        rb.reviews.accept(run_id, merge=True, confirm_unverified=True)
    assert [v.number for v in rb.metrics.versions(CUSTOM)] == [1]


def test_an_accepted_run_cannot_be_rejected(rb: Rubricate, demo: str) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1])
    rb.reviews.accept(run_id, confirm_unverified=True)
    with pytest.raises(Conflict, match="accepted already"):
        rb.reviews.reject(run_id)
    run = rb.alignment_runs.get(run_id)
    assert run.result is not None and run.result.review.decision == "accepted"


# -- runs that cannot be accepted ----------------------------------------------------------


@pytest.mark.parametrize(
    "status", [RunStatus.PENDING, RunStatus.RUNNING, RunStatus.ERROR, RunStatus.CANCELLED]
)
def test_only_an_aligned_run_is_accepted(rb: Rubricate, demo: str, status: RunStatus) -> None:
    run_id = make_run(rb, CUSTOM, demo, [G1], status=status)
    with pytest.raises(Conflict, match=f"is {status.label}: only an Aligned run can be accepted"):
        rb.reviews.accept(run_id, confirm_unverified=True)
    with pytest.raises(Conflict, match="only an Aligned run"):
        rb.reviews.strike(run_id, 1)
    with pytest.raises(Conflict, match="only an Aligned run"):
        rb.reviews.reject(run_id)
    assert [v.number for v in rb.metrics.versions(CUSTOM)] == [1]


def test_nothing_to_accept(rb: Rubricate, demo: str) -> None:
    struck = make_run(rb, CUSTOM, demo, [G1, G2])
    rb.reviews.strike(struck, 1)
    rb.reviews.strike(struck, 2)
    with pytest.raises(Conflict, match=r"nothing to accept.*every guideline is struck"):
        rb.reviews.accept(struck, confirm_unverified=True)
    empty = make_run(rb, CUSTOM, demo, [])
    with pytest.raises(Conflict, match=r"nothing to accept.*found none"):
        rb.reviews.accept(empty, merge=True, confirm_unverified=True)
    assert [v.number for v in rb.metrics.versions(CUSTOM)] == [1]
    assert rb.alignment_runs.get(struck).accepted_version_id is None


# -- export ------------------------------------------------------------------------------


@pytest.fixture
def accepted_fork(rb: Rubricate, judged: str) -> str:
    run_id = make_run(rb, BUILTIN, judged, [G1, "Never reward {{ braces }} or {% tags %}."])
    return rb.reviews.accept(run_id, confirm_unverified=True).metric


def test_export_text_is_the_template_as_the_judge_sees_it(
    rb: Rubricate, accepted_fork: str
) -> None:
    version = rb.metrics.version(accepted_fork)
    text = rb.reviews.export_prompt(accepted_fork, "text")
    assert f"1. {G1}" in text
    assert "Guidelines from your team's reviewers" in text
    assert "{{ input }}" in text and "{{ output }}" in text  # row variables kept
    assert "guidelines" not in compile_template(text).names  # filled in
    for context in (None, "some context"):
        kwargs: dict[str, Any] = {"input": "q", "output": "a", "context": context}
        judge = render_prompt(
            version.prompt, guidelines=version.guidelines, scale=version.scale, **kwargs
        )
        exported = render_prompt(text, guidelines="", scale=version.scale, **kwargs)
        assert exported.system == judge.system
    assert "Never reward {{ braces }} or {% tags %}." in judge.system


def test_export_text_appends_the_section_a_template_lacks(rb: Rubricate, demo: str) -> None:
    base = rb.metrics.version(CUSTOM)
    prompt = "Judge {{ output }} for {{ input }} on {{ scale.description }}."
    rb.metrics.add_version(CUSTOM, prompt=prompt, guidelines=f"- {G1}")
    text = rb.reviews.export_prompt(f"{CUSTOM}@2", "text")
    assert text.startswith("Judge {{ output }} for {{ input }} on 1–5.\n\n## Guidelines")
    assert text.rstrip().endswith(f"1. {G1}")
    plain = rb.reviews.export_prompt(f"{CUSTOM}@1", "text")
    assert G1 not in plain
    assert "{{ input }}" in plain and "{{ output }}" in plain
    assert base.prompt.strip().splitlines()[0] in plain


def test_export_json(rb: Rubricate, accepted_fork: str) -> None:
    version = rb.metrics.version(accepted_fork)
    data = json.loads(rb.reviews.export_prompt(f"{accepted_fork}@1", "json"))
    assert data["name"] == accepted_fork
    assert data["version"] == 1
    assert data["origin"] == "fork"
    assert data["scale"] == version.scale.to_json()
    assert data["prompt"] == version.prompt
    assert data["guidelines"] == [G1, "Never reward {{ braces }} or {% tags %}."]
    assert data["source_run_id"] == version.source_run_id is not None
    assert data["created_at"] == version.created_at.isoformat()


def test_export_langfuse(rb: Rubricate, accepted_fork: str) -> None:
    data = json.loads(rb.reviews.export_prompt(accepted_fork, "langfuse"))
    assert data["name"] == accepted_fork
    assert data["type"] == "chat"
    assert [m["role"] for m in data["prompt"]] == ["system", "user"]
    system, user = (m["content"] for m in data["prompt"])
    assert f"1. {G1}" in system
    assert "[OUTPUT]" in system and "Answer format" in system
    assert "{{input}}" in user and "{{output}}" in user
    assert "{{input}}" not in system
    assert data["labels"] == ["rubricate-v1"]
    assert all(label == label.lower() and len(label) <= 36 for label in data["labels"])
    config = data["config"]
    assert config["rubricate"]["version"] == 1
    # helpfulness refers to context and expected: by default the prompt has them
    assert config["rubricate"]["variables"] == ["input", "output", "context", "expected"]
    assert "{{context}}" in user and "{{expected}}" in user
    assert config["rubricate"]["scale"]["max"] == 5
    assert config["rubricate"]["source_run_id"] is not None
    assert config["temperature"] == 0
    assert "model" not in config  # the built-in names no judge model


def test_export_a_chat_prompt_for_rows_without_optional_fields(
    rb: Rubricate, accepted_fork: str
) -> None:
    data = json.loads(rb.reviews.export_prompt(accepted_fork, "langfuse", fields=[]))
    system, user = (m["content"] for m in data["prompt"])
    assert data["config"]["rubricate"]["variables"] == ["input", "output"]
    assert "{{context}}" not in user and "[CONTEXT]" not in system
    messages = json.loads(rb.reviews.export_prompt(accepted_fork, "promptfoo", fields=["Context"]))
    assert "{{context}}" in messages[1]["content"]
    assert "{{expected}}" not in messages[1]["content"]
    with pytest.raises(InvalidInput, match="unknown row field 'input'") as refused:
        rb.reviews.export_prompt(accepted_fork, "langfuse", fields=["input"])
    assert refused.value.field == "fields"


def test_export_promptfoo(rb: Rubricate, accepted_fork: str) -> None:
    messages = json.loads(rb.reviews.export_prompt(accepted_fork, "promptfoo"))
    assert [m["role"] for m in messages] == ["system", "user"]
    assert all(set(m) == {"role", "content"} for m in messages)
    system, user = (m["content"] for m in messages)
    assert f"1. {G1}" in system
    # promptfoo renders with Nunjucks: literal braces are escaped, variables are not
    assert 'Never reward {{ "{" }}{ braces }} or {{ "{" }}% tags %}.' in system
    assert "{{input}}" in user and "{{output}}" in user


def test_export_of_a_template_with_optional_fields(rb: Rubricate, demo: str) -> None:
    prompt = (
        "Judge {{ output }} for {{ input }}.\n{% if context %}Use {{ context }}.{% endif %}\n"
        "{% if metadata %}Language: {{ metadata['lang'] }}.{% endif %}"
    )
    rb.metrics.add_version(CUSTOM, prompt=prompt, guidelines=f"- {G1}")
    data = json.loads(rb.reviews.export_prompt(CUSTOM, "langfuse"))
    system, user = (m["content"] for m in data["prompt"])
    assert "Use [CONTEXT]." in system and "[METADATA: lang]" in system
    for name in ("input", "output", "context", "metadata"):
        assert f"\n{{{{{name}}}}}\n" in user
    assert data["config"]["rubricate"]["variables"] == ["input", "output", "context", "metadata"]
    text = rb.reviews.export_prompt(CUSTOM, "text")
    assert "{% if context %}Use {{ context }}.{% endif %}" in text


def test_export_with_an_unknown_format(rb: Rubricate) -> None:
    with pytest.raises(InvalidInput, match="text, json, langfuse, promptfoo") as refused:
        rb.reviews.export_prompt(BUILTIN, "yaml")
    assert refused.value.field == "format"
    assert rb.reviews.export_prompt(BUILTIN, " JSON ").startswith("{")


@pytest.mark.parametrize(
    ("ref", "error", "expected"),
    [
        ("nope", NotFound, "no metric named 'nope'"),
        ("helpfulness@9", NotFound, "has no version 9"),
        ("helpfulness@0", InvalidInput, "NAME@NUMBER"),
        ("helpfulness@x", InvalidInput, "NAME@NUMBER"),
        ("@1", NotFound, "no metric named ''"),
    ],
)
def test_export_with_a_bad_ref(
    rb: Rubricate, ref: str, error: type[Exception], expected: str
) -> None:
    with pytest.raises(error, match=expected):
        rb.reviews.export_prompt(ref, "text")
