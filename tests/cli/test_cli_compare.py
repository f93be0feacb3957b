"""`rubricate metrics compare` and the re-scoring it follows: `rubricate evaluate -m
NAME@N --dry-run` shows calls, tokens and cost, and `--max-calls` caps the run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from tests.service.comparison_support import METRIC, V2_ROWS, add_v2_results

from rubricate.demo import EVALUATION, build_demo
from rubricate.models import fake

if TYPE_CHECKING:
    from conftest import Cli


@pytest.fixture
def demo_cli(cli: Cli) -> Cli:
    with cli.workspace() as rb:
        build_demo(rb)
    return cli


def test_compare_prints_both_versions_side_by_side(demo_cli: Cli) -> None:
    with demo_cli.workspace() as rb:
        v2 = add_v2_results(rb)
        found = rb.version_comparison.compare(METRIC, EVALUATION, 1, v2)
    compare = ("metrics", "compare", METRIC, "-e", EVALUATION, "--a", "1", "--b", str(v2))
    body = demo_cli.json(*compare)
    assert body["rows"] == found.rows and body["b"]["scored"] == V2_ROWS
    assert body["a"]["figures"]["kappa"] == found.a.figures.kappa.model_dump()
    assert body["kappa_difference"]["value"] == found.kappa_difference.value
    text = demo_cli.ok(*compare).stdout
    assert f"v1 vs v{v2} on {EVALUATION}" in text and "Weighted kappa" in text
    assert f"{found.b.figures.kappa.value:.3f}" in text


def test_compare_says_what_to_do_without_scores(demo_cli: Cli) -> None:
    with demo_cli.workspace() as rb:
        v1 = rb.metrics.version(f"{METRIC}@1")
        rb.metrics.add_version(METRIC, prompt=v1.prompt, guidelines="- strict")
    out = demo_cli.ok("metrics", "compare", METRIC, "-e", EVALUATION, "--a", "1", "--b", "2")
    assert "No row has scores of both versions" in out.stdout
    assert "--dry-run" in out.stdout.replace("\n", " ")
    assert "two different versions" in demo_cli.fails(
        "metrics", "compare", METRIC, "-e", EVALUATION, "--a", "1", "--b", "1"
    )


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    with fake.registered("judge", lambda call: {"score": 3, "rationale": "fine"}) as model:
        yield model


def test_evaluate_dry_run_shows_calls_tokens_cost_and_the_caps(
    demo_cli: Cli, judge: fake.FakeModel
) -> None:
    evaluate = ("evaluate", "-e", EVALUATION, "-m", f"{METRIC}@1", "--model", "fake:judge")
    out = demo_cli.ok(*evaluate, "--dry-run", "--max-calls", "10").stdout.replace("\n", " ")
    assert "Scoring 48 rows with fake:judge would send about" in out
    assert "That is 48 model calls" in out and "unknown" in out
    assert "--max-calls 10 stops it after about 10 rows" in out
    assert demo_cli.json(*evaluate, "--dry-run")["calls"] == 48
    stopped = demo_cli(*evaluate, "--max-calls", "4", "--concurrency", "1", "--no-cache")
    assert stopped.exit_code == 2 and "budget of 4 model calls is used up" in stopped.stderr
    assert len(judge.calls) == 4
    refused = demo_cli.fails(*evaluate, "--max-cost", "1")
    assert refused.startswith("error: option --max-cost: the price of fake:judge is unknown")
