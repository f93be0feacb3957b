"""Alignment runs over HTTP on writingprompts' ``relevant`` (see alignment_http_support):
accepting a run (a built-in metric forked, a custom metric's next version aligned again) and
a run on a stale base, refused, then merged."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from tests.e2e.alignment_data import (
    CRITERION,
    EVALUATION,
    LENGTH_GUIDELINE,
    MODEL_GUIDELINE,
    RealData,
    build,
    expected,
)
from tests.e2e.alignment_http_support import (
    Real,
    guideline_section,
    kept_support,
    open_real,
    proposing,
)
from tests.e2e.alignment_http_support import data as data  # the fixtures, as pytest finds them
from tests.e2e.alignment_http_support import real as real
from tests.e2e.conftest import FAST

from rubricate import Rubricate, Settings
from rubricate.alignment.trace_format import parse_blocks
from rubricate.domain.alignment import parse_guidelines_text
from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.domain.traces import Direction
from rubricate.scoring.render import render_prompt
from rubricate.store.tables import JudgeResultRecord
from rubricate.testing.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow


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
