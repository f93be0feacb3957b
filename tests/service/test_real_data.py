"""The real data sets: import, resolve with every policy, reviewer agreement, each checked
against figures computed here straight from rows.jsonl (json, statistics, krippendorff),
never with rubricate's own resolve or agreement code."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import krippendorff
import numpy as np
import pytest

from rubricate import Rubricate, Settings
from rubricate.domain.resolution import Policy

pytestmark = pytest.mark.slow

# data set folder -> evaluation name
DATASETS = {"feedbackqa": "fqa", "writingprompts": "wp"}
CASES = [
    ("feedbackqa", "answer_quality"),
    ("writingprompts", "grammar"),
    ("writingprompts", "cohesive"),
    ("writingprompts", "enjoy"),
    ("writingprompts", "relevant"),
]
# mean first: it decides every row, so any value it leaves behind would be noticed later
ORDER = [Policy.MEAN, Policy.MEDIAN, Policy.MAJORITY, Policy.UNANIMOUS]

Ratings = dict[str, dict[str, float]]  # row id -> reviewer -> score
# the fixture read_resolutions of conftest.py: row id -> (resolved value, resolved by)
ReadResolutions = Callable[[Rubricate, str, str], dict[str, tuple[float, str]]]


@pytest.fixture(scope="module")
def _workspace(_databases: Any) -> Iterator[tuple[Rubricate, set[str]]]:
    """One workspace for this module, and the data sets imported into it so far."""
    workspace = Rubricate(Settings(database_url=_databases.fresh(migrated=True)))
    yield workspace, set()
    workspace.close()


@pytest.fixture
def real(_workspace: tuple[Rubricate, set[str]], shared_data: Path) -> Rubricate:
    """The workspace holding both data sets (imported once per module: it takes a while)."""
    workspace, imported = _workspace
    for folder, evaluation in DATASETS.items():
        if folder not in imported:
            workspace.import_path(shared_data / folder, evaluation)
            imported.add(folder)
    return workspace


def read_ratings(folder: Path, metric: str) -> Ratings:
    manifest = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    scale = next(c["scale"] for c in manifest["criteria"] if c["name"] == metric)
    by_label = {name.casefold(): float(value) for value, name in scale.get("labels", {}).items()}
    ratings: Ratings = {}
    with (folder / "rows.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            given = row.get("annotations", {}).get(metric, [])
            if given:
                ratings[row["id"]] = {
                    a["annotator"]: float(a["score"])
                    if a.get("score") is not None
                    else by_label[a["label"].casefold()]
                    for a in given
                }
    return ratings


def expected_value(policy: Policy, scores: list[float]) -> float | None:
    """What each policy means, written out again with the standard library."""
    if policy is Policy.UNANIMOUS:
        return scores[0] if len(set(scores)) == 1 else None
    if policy is Policy.MAJORITY:
        top = [v for v, n in Counter(scores).items() if n > len(scores) / 2]
        return top[0] if top else None
    if policy is Policy.MEDIAN:
        low, high = statistics.median_low(scores), statistics.median_high(scores)
        return statistics.median(scores) if low == high else None
    return statistics.mean(scores)


@pytest.mark.parametrize(("folder", "metric"), CASES)
def test_every_policy_stores_exactly_the_values_it_decides(
    real: Rubricate, shared_data: Path, read_resolutions: ReadResolutions, folder: str, metric: str
) -> None:
    ratings = read_ratings(shared_data / folder, metric)
    evaluation = DATASETS[folder]
    lines = (shared_data / folder / "rows.jsonl").read_text(encoding="utf-8").splitlines()
    assert real.evaluations.get(evaluation).row_count == len(lines)
    for policy in ORDER:
        expected = {
            row_id: value
            for row_id, scores in ratings.items()
            if (value := expected_value(policy, list(scores.values()))) is not None
        }
        report = real.annotations.resolve(evaluation, metric, policy, replace=True)
        assert report.annotated_rows == len(ratings)
        assert (report.resolved, report.unresolved, report.kept) == (
            len(expected),
            len(ratings) - len(expected),
            0,
        ), policy
        stored = read_resolutions(real, evaluation, metric)
        assert set(stored) == set(expected), policy
        for row_id, value in expected.items():
            assert math.isclose(stored[row_id][0], value, rel_tol=1e-12), (policy, row_id)
            assert stored[row_id][1] == f"policy:{policy.value}"


def test_the_policies_decide_the_expected_share_of_feedbackqa(
    real: Rubricate, shared_data: Path
) -> None:
    """A hand check of the figures above: three raters a row, so median always decides."""
    ratings = read_ratings(shared_data / "feedbackqa", "answer_quality")
    assert len(ratings) == 1995
    assert {len(r) for r in ratings.values()} == {3}
    decided = {
        p: real.annotations.resolve("fqa", "answer_quality", p, replace=True).resolved
        for p in Policy
    }
    assert decided[Policy.MEDIAN] == decided[Policy.MEAN] == 1995
    assert decided[Policy.UNANIMOUS] < decided[Policy.MAJORITY] < 1995
    unanimous = sum(len(set(r.values())) == 1 for r in ratings.values())
    majority = sum(max(Counter(r.values()).values()) >= 2 for r in ratings.values())
    assert (decided[Policy.UNANIMOUS], decided[Policy.MAJORITY]) == (unanimous, majority)


@pytest.mark.parametrize(("folder", "metric"), CASES)
def test_reviewer_agreement_matches_krippendorff_and_pairwise_counts(
    real: Rubricate, shared_data: Path, folder: str, metric: str
) -> None:
    ratings = read_ratings(shared_data / folder, metric)
    reviewers = sorted({who for scores in ratings.values() for who in scores})
    matrix = np.array(
        [[scores.get(who, np.nan) for scores in ratings.values()] for who in reviewers],
        dtype=float,
    )
    agreement = real.annotations.agreement(DATASETS[folder], metric)
    assert agreement.reviewers == len(reviewers)
    assert agreement.rows == sum(len(scores) >= 2 for scores in ratings.values())
    levels: list[tuple[Literal["ordinal", "interval"], float]] = [
        ("ordinal", agreement.alpha_ordinal),
        ("interval", agreement.alpha_interval),
    ]
    for level, figure in levels:
        expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
        assert figure == pytest.approx(expected, rel=1e-9, abs=1e-12), level
    pairs = {(p.reviewer_a, p.reviewer_b): p for p in agreement.pairs}
    assert set(pairs) == set(itertools.combinations(reviewers, 2))
    for a, b in itertools.combinations(reviewers, 2):
        shared = [s for s in ratings.values() if a in s and b in s]
        same = sum(s[a] == s[b] for s in shared)
        assert pairs[a, b].n_shared == len(shared)
        assert pairs[a, b].exact_agreement == pytest.approx(same / len(shared))
        assert pairs[a, b].mean_abs_diff == pytest.approx(
            statistics.fmean(abs(s[a] - s[b]) for s in shared)
        )


def test_coverage_of_the_imported_sets(real: Rubricate, shared_data: Path) -> None:
    detail = real.evaluations.show("wp")
    assert [c.metric for c in detail.metrics] == ["cohesive", "enjoy", "grammar", "relevant"]
    for coverage in detail.metrics:
        ratings = read_ratings(shared_data / "writingprompts", coverage.metric)
        assert coverage.annotated_rows == len(ratings) == 400
        assert coverage.annotations == sum(len(r) for r in ratings.values())
        assert coverage.reviewers == 3
        assert coverage.judged_rows == 0
