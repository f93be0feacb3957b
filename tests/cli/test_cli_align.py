"""`rubricate align start|run|list|show|cancel` on the synthetic clarity data (the judge
is too lenient on long answers), with the offline engine and with in-process fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.alignment.alignment_support import (
    EVALUATION,
    METRIC,
    expected_disagreements,
    write_dataset,
)
from tests.runs.test_run_control import workflows

from rubricate.models import fake

if TYPE_CHECKING:
    from conftest import Cli


@pytest.fixture
def loaded(cli: Cli, tmp_path: Path) -> Cli:
    cli.ok("import", str(write_dataset(tmp_path / "clarity", 120)), "--evaluation", EVALUATION)
    cli.ok(
        "annotations",
        "resolve",
        "--evaluation",
        EVALUATION,
        "--metric",
        METRIC,
        "--policy",
        "majority",
    )
    return cli


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    with fake.registered("cli-judge", lambda call: {"score": 3, "rationale": "x"}) as model:
        yield model


START = ("align", "start", "--metric", METRIC, "--evaluation", EVALUATION)


def test_dry_run_counts_and_estimates_and_writes_nothing(loaded: Cli) -> None:
    out = loaded.ok(*START, "--delta", "2", "--dry-run").stdout
    assert f"{expected_disagreements(120, 2)} disagreements at this threshold" in out
    assert "Reviewer agreement (Krippendorff's alpha): 1.000" in out
    assert "0 reflection calls (builtin:offline)" in out
    preview = loaded.json(*START, "--delta", "3", "--dry-run")
    assert preview["disagreements"] == 0 and preview["low_confidence"] is True
    assert "Low confidence" in loaded.ok(*START, "--delta", "3", "--dry-run").stdout
    with loaded.workspace() as rb:
        assert rb.alignment_runs.list(METRIC) == []


def test_start_without_wait_is_pending_then_run_carries_it_out(loaded: Cli) -> None:
    out = loaded.ok(*START, "--run-id", "run-a").stdout
    assert "Run run-a is queued, but no worker is alive" in out
    assert "rubricate align run run-a" in out
    shown = loaded.ok("align", "run", "run-a").stdout
    assert "Aligned" in shown
    assert f"{expected_disagreements(120, 1)} disagreements found" in shown
    assert "Verification: not run" in shown
    listed = loaded.json("align", "list", "--metric", METRIC)
    assert [r["id"] for r in listed] == ["run-a"]
    assert listed[0]["status"] == "aligned" and listed[0]["evaluations"] == [EVALUATION]


def test_wait_with_a_judge_model_prints_the_verification(
    loaded: Cli, judge: fake.FakeModel
) -> None:
    run = loaded.json(*START, "--judge-model", "fake:cli-judge", "--wait", "--max-calls", "300")
    assert run["status"] == "aligned"
    assert (
        run["result"]["verification"]["status"]
        in {
            "nothing beat the current prompt",
            "not run",
        }
        or run["result"]["verification"]["message"]
    )
    assert judge.calls  # the judge was asked
    shown = loaded.ok("align", "show", run["id"]).stdout
    assert "Model calls:" in shown and "Verification:" in shown


def test_cancel_is_idempotent_and_a_cancelled_run_stays_cancelled(loaded: Cli) -> None:
    loaded.ok(*START, "--run-id", "run-c")
    assert "Cancelled" in loaded.ok("align", "cancel", "run-c").stdout
    assert "Cancelled" in loaded.ok("align", "cancel", "run-c").stdout
    assert json.loads(loaded.ok("align", "run", "run-c", "--json").stdout)["status"] == "cancelled"


def test_cancelling_a_finished_run_leaves_its_workflow_alone(loaded: Cli) -> None:
    """The rule the API and the web keep too: a finished run's cancel changes nothing."""
    loaded.ok(*START, "--run-id", "run-f")  # queued for a worker
    loaded.ok("align", "run", "run-f")  # carried out here
    assert "Run run-f is Aligned." in loaded.ok("align", "cancel", "run-f").stdout
    with loaded.workspace() as rb:
        assert workflows(rb, "run-f") == {"run-f": "ENQUEUED"}
    again = loaded.ok(*START, "--run-id", "run-f").stdout
    assert "Run run-f is Aligned already: nothing was queued." in again


def test_bad_parameters_exit_2_and_name_the_parameter(loaded: Cli) -> None:
    assert "option --delta: delta threshold" in loaded.fails(*START, "--delta", "9")
    assert "no evaluation named 'nope'" in loaded.fails(
        "align", "start", "--metric", METRIC, "--evaluation", "nope"
    )
    assert "option --judge-model:" in loaded.fails(*START, "--judge-model", "gpt")
    assert "no alignment run 'missing'" in loaded.fails("align", "show", "missing")
    with loaded.workspace() as rb:
        assert rb.alignment_runs.list(METRIC) == []


def test_a_missing_key_exits_with_the_variable_named(loaded: Cli) -> None:
    result = loaded(*START, "--judge-model", "openai:gpt-4.1-mini")
    assert result.exit_code == 1
    assert "OPENAI_API_KEY" in result.stderr
