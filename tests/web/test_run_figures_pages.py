"""What a run's page says of verification, in a TestClient: the figures and their chart,
the verdicts the guidelines changed, unverified results said plainly, low confidence, and the
chart's axis for a negative kappa. Runs are given the result a worker would have stored
(tests/web/run_pages_support.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.web.run_pages_support import CUSTOM, aligned_with, figures, text_of, verified
from tests.web.run_pages_support import queue as queue  # the fixtures, as pytest finds them
from tests.web.run_pages_support import web as web

from rubricate import Rubricate
from rubricate.domain.alignment import Verification
from rubricate.store.tables import AlignmentRunRecord
from rubricate.web.plots_agreement import agreement_chart


def test_verification_figures_chart_and_changed_verdicts(web: TestClient, demo: Rubricate) -> None:
    run_id = verified(demo)
    html = web.get(f"/alignment-runs/{run_id}").text
    shown = text_of(html)
    assert "Checked on 40 held-out test rows" in shown
    assert "Exact agreement 0.450 [0.330 – 0.550] 0.720 [0.600 – 0.820] +0.270" in shown
    assert "Mean absolute error (lower is better) 1.150" in shown
    assert '<svg class="plot"' in html and html.count("<circle") >= 10
    assert "Verdicts the guidelines changed: 4 of 5 test rows" in shown
    assert "sb-001 1 4 1 closer to reviewers" in shown
    assert "sb-004" not in shown  # unchanged verdicts are not listed


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("unverified: too few rows", "Only 12 test rows (at least 30 are needed)"),
        ("nothing beat the current prompt", "No proposal agreed with the reviewers better"),
    ],
)
def test_unverified_results_are_said_plainly(
    web: TestClient, demo: Rubricate, status: str, message: str
) -> None:
    check = Verification.model_validate({"status": status, "message": message})
    run_id = aligned_with(demo, "Penalise refunds.", verification=check)
    shown = text_of(web.get(f"/alignment-runs/{run_id}").text)
    assert f"{status.capitalize()}. {message}" in shown


def test_low_confidence_is_flagged(web: TestClient, demo: Rubricate) -> None:
    run_id = aligned_with(demo, "Penalise refunds.")
    with demo.db.write() as session:
        record = session.get(AlignmentRunRecord, run_id)
        assert record is not None
        record.disagreements = 4
        record.result = {**record.result, "low_confidence": True, "disagreements": 4}
    shown = text_of(web.get(f"/alignment-runs/{run_id}").text)
    assert "Low confidence: fewer than 10 disagreements" in shown
    history = text_of(web.get(f"/metrics/{CUSTOM}/runs").text)
    assert "low confidence" in history


def test_the_chart_axis_reaches_below_zero_for_a_negative_kappa() -> None:
    chart = agreement_chart(figures(0.3, -0.4), figures(0.6, 0.2))
    assert chart.ticks[0].text == "-0.75" and chart.ticks[-1].text == "1"
    assert chart.zero is not None and chart.left < chart.zero < chart.right
    kappa = next(row for row in chart.rows if row.label == "Weighted kappa")
    assert kappa.before.x is not None and kappa.before.x < chart.zero < (kappa.after.x or 0)
