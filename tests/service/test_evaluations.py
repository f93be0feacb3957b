"""Evaluations through the workspace: list, show (coverage per metric), rows page by page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rubricate import Rubricate
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.evaluations import EvaluationSource
from rubricate.domain.resolution import Policy

FILE_ORDER = ["r3", "r1", "r10", "r2", "r7", "r5"]  # the rows of `tiny`, sorted in no way
WriteDataset = Callable[..., Path]  # the fixture `dataset` of conftest.py


def test_list_gives_row_counts(
    rb: Rubricate, tiny: str, tmp_path: Path, dataset: WriteDataset
) -> None:
    assert [e.name for e in rb.evaluations.list()] == ["tiny"]
    rb.import_path(dataset(tmp_path / "more", {"a": {}, "b": {"quality": [2]}}), "abc")
    listed = {e.name: e for e in rb.evaluations.list()}
    assert [e.name for e in rb.evaluations.list()] == ["abc", "tiny"]
    assert (listed["tiny"].row_count, listed["abc"].row_count) == (6, 2)
    assert listed["tiny"].source is EvaluationSource.IMPORTED
    assert listed["tiny"].completed
    assert rb.evaluations.get("abc").row_count == 2


def test_an_empty_workspace_lists_nothing(rb: Rubricate) -> None:
    assert rb.evaluations.list() == []


def test_show_gives_coverage_per_metric(rb: Rubricate, tiny: str) -> None:
    rb.annotations.resolve(tiny, "quality", Policy.MAJORITY)
    rb.annotations.resolve_row(tiny, "r5", "verdict", value="pass", user="admin")
    detail = rb.evaluations.show(tiny)
    assert detail.evaluation.name == tiny
    assert detail.evaluation.row_count == 6
    coverage = {c.metric: c for c in detail.metrics}
    assert list(coverage) == ["closeness", "quality", "verdict"]  # by name
    quality, verdict, closeness = coverage["quality"], coverage["verdict"], coverage["closeness"]
    assert (quality.annotated_rows, quality.annotations, quality.reviewers) == (5, 17, 4)
    assert (quality.resolved_rows, quality.judged_rows) == (3, 0)
    assert (verdict.annotated_rows, verdict.annotations, verdict.reviewers) == (4, 12, 4)
    assert verdict.resolved_rows == 1
    assert (closeness.annotated_rows, closeness.annotations, closeness.reviewers) == (3, 6, 3)
    assert closeness.resolved_rows == 0


def test_show_counts_judged_and_resolved_only_metrics(
    rb: Rubricate, tmp_path: Path, dataset: WriteDataset
) -> None:
    """A metric with judge results or resolved values but no annotations is covered too."""
    extra = {
        "a": {
            "judge": {"quality": {"score": 3}},
            "resolved": {"verdict": {"label": "pass", "by": "x"}},
        },
        "b": {"judge": {"quality": {"score": 4}}},
    }
    rb.import_path(dataset(tmp_path / "j", {"a": {}, "b": {}}, extra=extra), "j")
    coverage = {c.metric: c for c in rb.evaluations.show("j").metrics}
    assert set(coverage) == {"quality", "verdict"}
    assert (coverage["quality"].judged_rows, coverage["quality"].annotated_rows) == (2, 0)
    assert (coverage["verdict"].resolved_rows, coverage["verdict"].annotations) == (1, 0)


def test_coverage_belongs_to_one_evaluation(
    rb: Rubricate, tiny: str, tmp_path: Path, dataset: WriteDataset
) -> None:
    rb.import_path(dataset(tmp_path / "other", {"r1": {"quality": [1, 1]}}), "other")
    rb.annotations.resolve("other", "quality", Policy.UNANIMOUS)
    other = {c.metric: c for c in rb.evaluations.show("other").metrics}
    assert list(other) == ["quality"]
    assert (other["quality"].annotated_rows, other["quality"].resolved_rows) == (1, 1)
    assert {c.metric: c for c in rb.evaluations.show(tiny).metrics}["quality"].resolved_rows == 0


def test_rows_come_in_file_order_page_by_page(rb: Rubricate, tiny: str) -> None:
    rows = rb.evaluations.rows(tiny)
    assert [r.external_id for r in rows] == FILE_ORDER
    first = rows[0]
    assert (first.input, first.output, first.context, first.expected) == (
        "q r3",
        "a r3",
        None,
        None,
    )
    pages = [rb.evaluations.rows(tiny, offset=o, limit=4) for o in range(0, 8, 4)]
    assert [[r.external_id for r in page] for page in pages] == [FILE_ORDER[:4], FILE_ORDER[4:]]
    assert [r.external_id for r in rb.evaluations.rows(tiny, offset=1, limit=2)] == ["r1", "r10"]
    assert rb.evaluations.rows(tiny, offset=6) == []


def test_rows_added_later_come_after_the_first_ones(
    rb: Rubricate, tiny: str, tmp_path: Path, dataset: WriteDataset
) -> None:
    rb.import_path(dataset(tmp_path / "later", {"r0": {}, "r4": {}}), tiny)
    ids = [r.external_id for r in rb.evaluations.rows(tiny, limit=100)]
    assert ids == [*FILE_ORDER, "r0", "r4"]


def test_rows_refuses_bad_pages(rb: Rubricate, tiny: str) -> None:
    for offset, limit, field in [(-1, 10, "offset"), (0, 0, "limit"), (0, -5, "limit")]:
        with pytest.raises(InvalidInput) as caught:
            rb.evaluations.rows(tiny, offset=offset, limit=limit)
        assert caught.value.field == field


def test_unknown_evaluations_are_named(rb: Rubricate) -> None:
    for call in (
        lambda: rb.evaluations.get("ghost"),
        lambda: rb.evaluations.show("ghost"),
        lambda: rb.evaluations.rows("ghost"),
        lambda: rb.annotations.resolve("ghost", "correctness", Policy.MEDIAN),
        lambda: rb.annotations.agreement("ghost", "correctness"),
        lambda: rb.annotations.add("ghost", "r1", "correctness", annotator="a", score=1),
    ):
        with pytest.raises(NotFound) as caught:
            call()
        assert "no evaluation named 'ghost'" in str(caught.value)
        assert "rubricate evaluations list" in str(caught.value)
    with pytest.raises(NotFound, match="no metric named 'ghost'"):
        rb.metrics.get("ghost")
