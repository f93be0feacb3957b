"""Accepting alignment runs: on a built-in metric (a fork, the next free name), on a custom
metric (the active version), twice, concurrently; a stale base refused, and merges.
Runs are made by hand (reviewing_support.make_run)."""

from __future__ import annotations

import threading

import pytest
from tests.service.reviewing_support import BUILTIN, CUSTOM, G1, G2, G3, make_run, system_of
from tests.service.reviewing_support import demo as demo  # the fixtures, as pytest finds them
from tests.service.reviewing_support import judged as judged

from rubricate import Rubricate, Settings
from rubricate.domain.alignment import GuidelineItem
from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.errors import Conflict
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.service.reviewing import AcceptResult

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
