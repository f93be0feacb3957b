"""GET /api/v1/evaluations/{name}/reviewers, and the reviewer warning an alignment's
preview and start carry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.api_support import EVALUATION as DEMO
from tests.api.api_support import HELPFUL, TOKEN
from tests.service.calibration_support import EVALUATION, LABELS, METRIC, load_panel

from rubricate import Rubricate
from rubricate.api import create_app

URL = f"/api/v1/evaluations/{EVALUATION}/reviewers"
START = {"metric": METRIC, "evaluations": [EVALUATION], "delta": 1}


@pytest.fixture
def panel(rb: Rubricate, tmp_path: Path) -> Iterator[TestClient]:
    load_panel(rb, tmp_path)
    app = create_app(rb, tokens={TOKEN: "ana"})
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as test_client:
        yield test_client


def test_each_reviewer_against_the_others(panel: TestClient) -> None:
    answer = panel.get(URL, params={"metric": METRIC})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["evaluations"], body["level"], body["unit"], body["delta"]) == (
        [EVALUATION],
        "ordinal",
        "points",
        1.0,
    )
    assert body["alpha"] == pytest.approx(0.328, abs=1e-3)
    reviewers = {r["reviewer"]: r for r in body["reviewers"]}
    assert reviewers["dee"]["offset"] == pytest.approx(-1.0)
    assert reviewers["dee"]["alpha_without"] == pytest.approx(1.0)
    eve = reviewers["eve"]
    assert (eve["units"], eve["exact"], eve["offset"], eve["shared_units"]) == (1, None, None, 0)
    assert {p["other"]: p["shared"] for p in eve["pairs"]} == {"ana": 0, "ben": 0, "dee": 0}
    near = panel.get(URL, params={"metric": METRIC, "delta": 2}).json()
    assert {r["reviewer"]: r["within_delta"] for r in near["reviewers"]}["dee"] == 1.0


def test_labels_and_errors(panel: TestClient) -> None:
    labels = panel.get(URL, params={"metric": LABELS}).json()
    assert labels["unit"] == "label steps"
    missing = panel.get(URL, params={"metric": "correctness"})
    assert missing.status_code == 404
    assert "metric 'correctness' has no annotations" in missing.json()["error"]["message"]
    assert panel.get(URL, params={"metric": METRIC, "delta": 9}).status_code == 422
    assert panel.get(URL).status_code == 422  # the metric is required
    assert (
        panel.get("/api/v1/evaluations/nope/reviewers", params={"metric": METRIC}).status_code
        == 404
    )


def test_preview_and_start_carry_the_warning(panel: TestClient) -> None:
    preview = panel.post("/api/v1/alignment-runs/preview", json=START).json()
    warning = preview["reviewer_warning"]
    assert warning["threshold"] == 0.4 and warning["alpha"] == preview["reviewer_alpha"]
    assert warning["reviewers"] == [{"reviewer": "dee", "alpha_without": 1.0}]
    started = panel.post("/api/v1/alignment-runs", json=START)
    assert started.status_code == 202, started.text  # warned, not refused
    assert started.json()["reviewer_warning"] == warning


def test_the_demo_workspace(client: TestClient) -> None:
    """The demo's three reviewers agree well: sensible figures, and no warning."""
    body = client.get(f"/api/v1/evaluations/{DEMO}/reviewers", params={"metric": HELPFUL}).json()
    assert 0.8 < body["alpha"] < 0.95
    reviewers = {r["reviewer"]: r for r in body["reviewers"]}
    assert list(reviewers) == ["ana", "ben", "chidi"]
    assert all(r["coverage"] > 0.85 and 0.4 < r["exact"] < 0.7 for r in reviewers.values())
    assert reviewers["chidi"]["offset"] < -0.2 < 0.1 < reviewers["ana"]["offset"]
    assert all(abs(r["alpha_without"] - body["alpha"]) < 0.1 for r in reviewers.values())
    preview = client.post(
        "/api/v1/alignment-runs/preview",
        json={"metric": HELPFUL, "evaluations": [DEMO], "delta": 1},
    ).json()
    assert preview["reviewer_warning"] is None
