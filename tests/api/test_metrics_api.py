from __future__ import annotations

from fastapi.testclient import TestClient
from tests.api.api_support import HELPFUL

PROMPT = "Rate the answer.\n{{ input }}\n{{ output }}\n{{ guidelines }}"


def test_list_is_paged(client: TestClient) -> None:
    everything = client.get("/api/v1/metrics").json()
    assert everything["offset"] == 0 and everything["limit"] == 50
    assert everything["total"] == len(everything["items"]) >= 9
    names = [m["name"] for m in everything["items"]]
    assert HELPFUL in names and "correctness" in names
    page = client.get("/api/v1/metrics", params={"offset": 2, "limit": 3}).json()
    assert [m["name"] for m in page["items"]] == names[2:5]
    assert page["total"] == everything["total"]


def test_create_add_version_pin_diff(client: TestClient) -> None:
    created = client.post(
        "/api/v1/metrics",
        json={
            "name": "tone",
            "scale": {"type": "ordinal", "min": 1, "max": 5},
            "prompt": PROMPT,
            "description": "How polite",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "custom" and body["active_version"] == 1
    assert [v["number"] for v in body["versions"]] == [1]
    again = client.post(
        "/api/v1/metrics",
        json={"name": "tone", "scale": {"type": "ordinal", "min": 1, "max": 5}, "prompt": PROMPT},
    )
    assert again.status_code == 409

    second = client.post(
        "/api/v1/metrics/tone/versions",
        json={"prompt": PROMPT + "\nBe strict.", "guidelines": "- Be kind."},
    )
    assert second.status_code == 201 and second.json()["number"] == 2
    assert second.json()["active"] is True

    pinned = client.put("/api/v1/metrics/tone/pin", json={"version": 1}).json()
    assert pinned["active_version"] == 1 and pinned["pinned_version"] == 1
    assert client.put("/api/v1/metrics/tone/pin", json={"version": 9}).status_code == 422
    unpinned = client.delete("/api/v1/metrics/tone/pin").json()
    assert unpinned["active_version"] == 2 and unpinned["pinned_version"] is None

    diff = client.get("/api/v1/metrics/tone/diff", params={"from": 1, "to": 2}).json()
    assert "+Be strict." in diff["prompt_diff"]
    assert "+- Be kind." in diff["guidelines_diff"]
    assert diff["prompt_diff"].startswith("--- tone@1/prompt")
    assert client.get("/api/v1/metrics/tone/diff", params={"from": 1, "to": 7}).status_code == 404

    version = client.get("/api/v1/metrics/tone/versions/1").json()
    assert version["prompt"] == PROMPT and version["active"] is False
    versions = client.get("/api/v1/metrics/tone/versions").json()
    assert versions["total"] == 2


def test_bad_input_names_the_field_and_writes_nothing(client: TestClient) -> None:
    bad_name = client.post(
        "/api/v1/metrics",
        json={"name": "no spaces", "scale": {"type": "ordinal", "min": 1, "max": 5}, "prompt": "x"},
    )
    assert bad_name.status_code == 422 and bad_name.json()["error"]["field"] == "name"
    bad_scale = client.post(
        "/api/v1/metrics",
        json={"name": "t2", "scale": {"type": "ordinal", "min": 5, "max": 1}, "prompt": "x"},
    )
    assert bad_scale.status_code == 422 and bad_scale.json()["error"]["field"] == "scale"
    bad_template = client.post(
        "/api/v1/metrics",
        json={"name": "t3", "scale": {"type": "ordinal", "min": 1, "max": 5}, "prompt": "{{"},
    )
    assert bad_template.status_code == 422
    names = [m["name"] for m in client.get("/api/v1/metrics").json()["items"]]
    assert not {"t2", "t3"} & set(names)


def test_builtins_are_never_modified(client: TestClient) -> None:
    refused = client.post("/api/v1/metrics/correctness/versions", json={"prompt": PROMPT})
    assert refused.status_code == 409
    assert client.put("/api/v1/metrics/correctness/pin", json={"version": 1}).status_code == 409


def test_export_prompt(client: TestClient) -> None:
    text = client.get(f"/api/v1/metrics/{HELPFUL}/export-prompt").json()
    assert text["format"] == "text" and text["version"] == 1 and text["content"]
    as_json = client.get(f"/api/v1/metrics/{HELPFUL}/export-prompt", params={"format": "json"})
    assert as_json.status_code == 200 and as_json.json()["content"].startswith("{")
    unknown = client.get(f"/api/v1/metrics/{HELPFUL}/export-prompt", params={"format": "yaml"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "format"
