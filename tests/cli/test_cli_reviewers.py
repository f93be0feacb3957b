"""`rubricate reviewers agreement`, and the reviewer warning `align start` prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.conftest import Cli
from tests.service.calibration_support import EVALUATION, LABELS, METRIC, load_panel

AGREEMENT = ("reviewers", "agreement", "-e", EVALUATION, "-m", METRIC)
START = ("align", "start", "-m", METRIC, "-e", EVALUATION)


@pytest.fixture
def panel(cli: Cli, tmp_path: Path) -> Cli:
    with cli.workspace() as rb:
        load_panel(rb, tmp_path)
    return cli


def test_the_table_names_the_harsher_reviewer(panel: Cli) -> None:
    out = panel.ok(*AGREEMENT).stdout
    assert "4 reviewers, 21 rows scored, 20 by two or more" in out
    assert "Krippendorff's alpha (ordinal): 0.328. Offsets in points." in out
    dee = next(line for line in out.splitlines() if "│ dee" in line)
    assert "1.000" in dee and "1.0 harsher" in dee and "0%" in dee
    eve = next(line for line in out.splitlines() if "│ eve" in line)
    assert "5%" in eve and "–" in eve  # one row of 21, shared with nobody
    assert "Within delta" not in out  # at one step of 1–5 it is exact agreement
    assert "Alpha would be higher without: dee (1.000)." in out
    pairs = panel.ok(*AGREEMENT, "--pairs", "--delta", "2").stdout
    assert "Each pair of reviewers" in pairs and "Within delta" in pairs
    assert "less than 2 apart" in pairs


def test_json_and_errors(panel: Cli) -> None:
    found = panel.json(*AGREEMENT)
    reviewers = {r["reviewer"]: r for r in found["reviewers"]}
    assert reviewers["dee"]["offset"] == pytest.approx(-1.0)
    assert reviewers["eve"]["exact"] is None
    assert [r["reviewer"] for r in found["pulling_down"]] == ["dee"]
    labels = panel.json("reviewers", "agreement", "-e", EVALUATION, "-m", LABELS)
    assert labels["unit"] == "label steps"
    message = panel.fails("reviewers", "agreement", "-e", EVALUATION, "-m", "correctness")
    assert "metric 'correctness' has no annotations in evaluation 'panel'" in message
    assert "delta must be above 0" in panel.fails(*AGREEMENT, "--delta", "0")


def test_align_start_warns_but_starts(panel: Cli) -> None:
    dry = panel(*START, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "warning: Reviewers agree little" in dry.stderr
    assert "Alpha without dee: 1.00." in dry.stderr
    started = panel(*START, "--run-id", "warned", "--json")
    assert started.exit_code == 0, started.output
    assert json.loads(started.stdout)["status"] == "pending"  # stdout stays JSON
    assert "Alpha without dee: 1.00." in started.stderr


def test_no_warning_when_reviewers_agree(cli: Cli, tmp_path: Path) -> None:
    with cli.workspace() as rb:
        load_panel(rb, tmp_path, harsh=False)
    assert "warning" not in cli(*START, "--dry-run").stderr
    assert "alpha (ordinal): 1.000" in cli.ok(*AGREEMENT).stdout
