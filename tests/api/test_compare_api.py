"""GET /api/v1/metrics/{name}/compare: two versions side by side on an evaluation; and
re-scoring through the evaluation-run routes (a version, its estimate with calls, caps)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.service.comparison_support import METRIC, V2_ROWS, add_v2_results

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.models import fake

URL = f"/api/v1/metrics/{METRIC}/compare"


def test_compare_gives_both_versions_figures_on_the_same_rows(
    client: TestClient, demo: Rubricate
) -> None:
    v2 = add_v2_results(demo)
    reply = client.get(URL, params={"evaluation": EVALUATION, "a": 1, "b": v2})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    found = demo.version_comparison.compare(METRIC, EVALUATION, 1, v2)
    assert (
        body["rows"] == found.rows == body["a"]["figures"]["rows"] == body["b"]["figures"]["rows"]
    )
    assert (body["a"]["version"], body["a"]["scored"], body["a"]["with_human"]) == (1, 48, 46)
    assert (body["b"]["version"], body["b"]["scored"]) == (v2, V2_ROWS)
    assert body["b"]["figures"]["kappa"]["value"] > body["a"]["figures"]["kappa"]["value"]
    assert body["b"]["figures"]["exact"]["low"] is not None  # with its interval
    assert body["kappa_difference"] == found.kappa_difference.model_dump()
    assert body["delta"] == 1.0 and body["scale_changed"] is False


def test_compare_refuses_what_cannot_be_compared(client: TestClient, demo: Rubricate) -> None:
    same = client.get(URL, params={"evaluation": EVALUATION, "a": 1, "b": 1})
    assert same.status_code == 422 and "two different versions" in same.text
    missing = client.get(URL, params={"evaluation": EVALUATION, "a": 1, "b": 7})
    assert missing.status_code == 404
    nowhere = client.get(URL, params={"evaluation": "nope", "a": 1, "b": 2})
    assert nowhere.status_code == 404


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    with fake.registered("judge", lambda call: {"score": 3, "rationale": "fine"}) as model:
        yield model


def test_re_scoring_is_an_evaluation_run_with_a_version(
    client: TestClient, demo: Rubricate, judge: fake.FakeModel
) -> None:
    asked = {"metric": f"{METRIC}@1", "evaluation": EVALUATION, "model": "fake:judge"}
    estimate = client.post("/api/v1/evaluation-runs/estimate", json=asked).json()
    assert estimate["calls"] == estimate["rows"] == 48 and estimate["cost_usd"] is None
    refused = client.post("/api/v1/evaluation-runs", json=asked | {"max_cost_usd": 1})
    assert refused.status_code == 422 and "price of fake:judge is unknown" in refused.text
    assert demo.evaluation_runs.list() == []
