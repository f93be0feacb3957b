"""Issue 12: a reviewer's metric with a 0–10,000,000 ordinal scale drove the server to
22.8 GB; now the API refuses it with 422 naming the field, and creates nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

PROMPT = "Rate the answer.\n{{ input }}\n{{ output }}"


@pytest.mark.parametrize(
    ("scale", "field"),
    [
        ({"type": "ordinal", "min": 0, "max": 10_000_000}, "scale.max"),
        ({"type": "ordinal", "min": 0, "max": 1e12}, "scale.max"),
        ({"type": "interval", "min": 0, "max": 1e300}, "scale.max"),
        ({"type": "labels", "labels": {str(i): f"l{i}" for i in range(500)}}, "scale.labels"),
    ],
)
def test_a_scale_too_wide_is_refused(
    client: TestClient, scale: dict[str, object], field: str
) -> None:
    refused = client.post(
        "/api/v1/metrics", json={"name": "wide", "scale": scale, "prompt": PROMPT}
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["field"] == field, error
    assert "at most" in error["message"]
    assert client.get("/api/v1/metrics/wide").status_code == 404


def test_the_widest_scale_allowed_works_end_to_end(client: TestClient) -> None:
    created = client.post(
        "/api/v1/metrics",
        json={"name": "wide", "scale": {"type": "ordinal", "min": 0, "max": 100}, "prompt": PROMPT},
    )
    assert created.status_code == 201, created.text
    assert client.get("/api/v1/metrics/wide").json()["scale"]["max"] == 100


@pytest.mark.parametrize("name", ["a/b", "..", "a b"])
def test_a_metric_name_that_would_be_unreachable_is_refused(client: TestClient, name: str) -> None:
    scale = {"type": "ordinal", "min": 1, "max": 5}
    refused = client.post("/api/v1/metrics", json={"name": name, "scale": scale, "prompt": PROMPT})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "name"
