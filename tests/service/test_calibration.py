"""Reviewer calibration through the workspace: a systematically harsher reviewer, perfect
agreement, a reviewer who shares no row, a labels scale, a metric with no annotations, and
the warning an alignment's preview carries."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.service.calibration_support import (
    EVALUATION,
    LABELS,
    MANIFEST,
    METRIC,
    ROWS,
    load_panel,
    panel_row,
)

from rubricate import Rubricate, Settings
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.resolution import Policy
from rubricate.stats import krippendorff_alpha
from rubricate.testing.datasets import write_dataset_folder


def by_name(rb: Rubricate, metric: str = METRIC, **options: float) -> dict[str, object]:
    found = rb.calibration.reviewers(EVALUATION, metric, **options)  # type: ignore[arg-type]
    return {r.reviewer: r for r in found.reviewers}


def test_a_systematically_harsher_reviewer_is_found(rb: Rubricate, tmp_path: Path) -> None:
    load_panel(rb, tmp_path)
    found = rb.calibration.reviewers(EVALUATION, METRIC)
    assert (found.rows, found.shared_rows, found.level, found.delta) == (
        ROWS + 1,
        ROWS,
        "ordinal",
        1,
    )
    t = [2 + i % 2 for i in range(ROWS)]
    everyone = krippendorff_alpha([[s, s, s - 1] for s in t], "ordinal")
    assert found.alpha == pytest.approx(everyone)
    assert found.alpha is not None and found.alpha < 0.4
    r = {x.reviewer: x for x in found.reviewers}
    assert list(r) == ["ana", "ben", "dee", "eve"]
    assert r["dee"].offset == pytest.approx(-1.0)  # harsher by one point on every row
    assert r["ana"].offset == pytest.approx(0.5) and r["ben"].offset == pytest.approx(0.5)
    assert r["dee"].alpha_without == pytest.approx(1.0)  # without dee, ana and ben agree
    assert r["ana"].alpha_without is not None and r["ana"].alpha_without < found.alpha
    assert [x.reviewer for x in found.pulling_down] == ["dee"]
    assert r["dee"].exact == 0.0 and r["ana"].exact == pytest.approx(0.5)  # 1 with ben, 0 dee
    pairs = {p.other: p for p in r["ana"].pairs}
    assert (pairs["ben"].shared, pairs["ben"].exact, pairs["dee"].exact) == (ROWS, 1.0, 0.0)
    assert (r["ana"].units, r["ana"].coverage) == (ROWS, pytest.approx(ROWS / (ROWS + 1)))


def test_within_delta_counts_scores_less_than_delta_apart(rb: Rubricate, tmp_path: Path) -> None:
    load_panel(rb, tmp_path)
    r = by_name(rb, delta=2)
    dee = r["dee"]
    assert dee.exact == 0.0 and dee.within_delta == 1.0  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="delta must be above 0 and at most 4"):
        rb.calibration.reviewers(EVALUATION, METRIC, delta=5)


def test_perfect_agreement_gives_alpha_1_and_no_warning(rb: Rubricate, tmp_path: Path) -> None:
    load_panel(rb, tmp_path, harsh=False)
    found = rb.calibration.reviewers(EVALUATION, METRIC)
    assert found.alpha == pytest.approx(1.0)
    assert found.pulling_down == []
    assert all(r.offset in (0.0, None) for r in found.reviewers)
    preview = rb.alignment_runs.preview(metric=METRIC, evaluations=[EVALUATION], delta=1)
    assert preview.reviewer_alpha == pytest.approx(1.0)
    assert preview.reviewer_warning is None


def test_a_reviewer_with_no_shared_row_has_no_agreement(rb: Rubricate, tmp_path: Path) -> None:
    load_panel(rb, tmp_path)
    found = rb.calibration.reviewers(EVALUATION, METRIC)
    eve = {r.reviewer: r for r in found.reviewers}["eve"]
    assert (eve.units, eve.shared_units, eve.exact, eve.within_delta, eve.offset) == (
        1,
        0,
        None,
        None,
        None,
    )
    assert all(p.shared == 0 and p.exact is None for p in eve.pairs)
    assert eve.alpha_without == pytest.approx(found.alpha)  # her row pairs with nobody's


def test_a_labels_scale_counts_label_steps(rb: Rubricate, tmp_path: Path) -> None:
    load_panel(rb, tmp_path)
    found = rb.calibration.reviewers(EVALUATION, LABELS)
    assert (found.level, found.unit, found.delta) == ("ordinal", "label steps", 1.0)
    r = {x.reviewer: x for x in found.reviewers}
    assert r["dee"].offset == pytest.approx(-1.0)  # one label harsher (0.5 apart in value)
    assert r["dee"].alpha_without == pytest.approx(1.0)
    assert found.alpha == pytest.approx(rb.calibration.reviewers(EVALUATION, METRIC).alpha)


def test_a_metric_without_annotations_is_named(rb: Rubricate, tmp_path: Path) -> None:
    load_panel(rb, tmp_path)
    with pytest.raises(NotFound, match=r"metric 'correctness' has no annotations in evaluation "):
        rb.calibration.reviewers(EVALUATION, "correctness")  # a built-in, never annotated here
    with pytest.raises(NotFound, match="no metric named 'nope'"):
        rb.calibration.reviewers(EVALUATION, "nope")


def test_several_evaluations_pool_their_rows(rb: Rubricate, tmp_path: Path) -> None:
    load_panel(rb, tmp_path)
    load_panel(rb, tmp_path, harsh=False, name="panel-2")
    found = rb.calibration.reviewers([EVALUATION, "panel-2"], METRIC)
    assert found.evaluations == (EVALUATION, "panel-2")
    assert found.rows == 2 * (ROWS + 1)
    dee = {r.reviewer: r for r in found.reviewers}["dee"]
    assert dee.offset == pytest.approx(-0.5)  # harsher on half the rows


def test_the_preview_warns_and_names_the_harsh_reviewer(rb: Rubricate, tmp_path: Path) -> None:
    load_panel(rb, tmp_path)
    preview = rb.alignment_runs.preview(metric=METRIC, evaluations=[EVALUATION], delta=1)
    warning = preview.reviewer_warning
    assert warning is not None
    assert warning.alpha == pytest.approx(preview.reviewer_alpha)  # one computed value
    assert warning.threshold == 0.4
    assert [p.reviewer for p in warning.reviewers] == ["dee"]
    assert "Alpha without dee: 1.00." in warning.message
    assert rb.alignment_runs.reviewer_warning(metric=METRIC, evaluations=[EVALUATION]) == warning
    run = rb.alignment_runs.start(metric=METRIC, evaluations=[EVALUATION], delta=1)
    assert run.status.value == "pending"  # a warning, not a refusal


def test_the_threshold_is_a_setting(database_url: str, tmp_path: Path) -> None:
    with Rubricate(Settings(database_url=database_url, reviewer_alpha_warning=0.2)) as rb:
        load_panel(rb, tmp_path)
        preview = rb.alignment_runs.preview(metric=METRIC, evaluations=[EVALUATION], delta=1)
        assert preview.reviewer_alpha is not None and preview.reviewer_alpha > 0.2
        assert preview.reviewer_warning is None


def test_the_warning_reads_only_the_rows_the_run_would_use(rb: Rubricate, tmp_path: Path) -> None:
    """Rows without a judge score are not aligned on: dee's harsh scores there do not count."""
    agreed = [panel_row(i, harsh=False) for i in range(ROWS)]
    unjudged = [{**panel_row(i, harsh=True), "id": f"u{i}"} for i in range(ROWS)]
    for row in unjudged:
        del row["judge"]
    folder = write_dataset_folder(tmp_path / EVALUATION, MANIFEST, agreed + unjudged)
    rb.import_path(folder, EVALUATION)
    rb.annotations.resolve(EVALUATION, METRIC, Policy.MEDIAN)
    assert rb.calibration.reviewers(EVALUATION, METRIC).pulling_down[0].reviewer == "dee"
    preview = rb.alignment_runs.preview(metric=METRIC, evaluations=[EVALUATION], delta=1)
    assert (preview.rows_used, preview.reviewer_alpha) == (ROWS, 1.0)
    assert preview.reviewer_warning is None
