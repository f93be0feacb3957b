from __future__ import annotations

from fastapi.testclient import TestClient
from tests.api.api_support import EVALUATION, HELPFUL, POLICY

BASE = f"/api/v1/evaluations/{EVALUATION}"


def test_list_and_show_with_coverage(client: TestClient) -> None:
    listed = client.get("/api/v1/evaluations").json()
    assert listed["total"] == 1
    [evaluation] = listed["items"]
    assert evaluation["name"] == EVALUATION and evaluation["row_count"] == 48
    assert evaluation["completed"] is True and evaluation["source"] == "imported"
    shown = client.get(BASE).json()
    coverage = {c["metric"]: c for c in shown["metrics"]}
    assert set(coverage) == {HELPFUL, POLICY}
    assert coverage[HELPFUL]["reviewers"] == 3 and coverage[HELPFUL]["judged_rows"] == 48
    assert client.get("/api/v1/evaluations/nope").status_code == 404


def test_rows_page_by_page(client: TestClient) -> None:
    first = client.get(f"{BASE}/rows", params={"limit": 20}).json()
    second = client.get(f"{BASE}/rows", params={"offset": 20, "limit": 20}).json()
    last = client.get(f"{BASE}/rows", params={"offset": 40, "limit": 20}).json()
    assert first["total"] == second["total"] == 48
    ids = [r["id"] for page in (first, second, last) for r in page["items"]]
    assert len(ids) == len(set(ids)) == 48
    assert ids[0] == "sb-001"
    assert client.get(f"{BASE}/rows", params={"offset": -1}).json()["error"]["field"] == "offset"


def test_judge_results_of_the_evaluation_and_of_a_row(client: TestClient) -> None:
    everything = client.get(f"{BASE}/judge-results", params={"limit": 500}).json()
    assert everything["total"] == 96 == len(everything["items"])
    one_metric = client.get(f"{BASE}/judge-results", params={"metric": HELPFUL}).json()
    assert one_metric["total"] == 48
    assert {r["metric"] for r in one_metric["items"]} == {HELPFUL}
    row = client.get(f"{BASE}/judge-results", params={"row": "sb-001"}).json()
    assert row["total"] == 2 and {r["row"] for r in row["items"]} == {"sb-001"}
    result = row["items"][0]
    assert result["judge_model"] and result["metric_version"] == 1
    unknown = client.get(f"{BASE}/judge-results", params={"metric": "nope"})
    assert unknown.status_code == 404


def test_annotations_add_and_list(client: TestClient) -> None:
    url = f"{BASE}/metrics/{HELPFUL}/annotations"
    before = client.get(url).json()
    assert before["total"] == 139
    added = client.post(
        url, json={"row": "sb-001", "annotator": "zoe", "score": 4, "comment": "fine"}
    )
    assert added.status_code == 201, added.text
    assert added.json()["score"] == 4 and added.json()["annotator"] == "zoe"
    replaced = client.post(url, json={"row": "sb-001", "annotator": "zoe", "score": "2"})
    assert replaced.json()["score"] == 2
    row = client.get(url, params={"row": "sb-001"}).json()
    assert {a["annotator"] for a in row["items"]} >= {"zoe"}
    assert client.get(url).json()["total"] == 140
    label = client.post(
        f"{BASE}/metrics/{POLICY}/annotations",
        json={"row": "sb-001", "annotator": "zoe", "score": "pass"},
    )
    assert label.status_code == 201 and label.json()["score"] == 1


def test_annotation_errors(client: TestClient) -> None:
    url = f"{BASE}/metrics/{HELPFUL}/annotations"
    off_scale = client.post(url, json={"row": "sb-001", "annotator": "zoe", "score": 9})
    assert off_scale.status_code == 422 and off_scale.json()["error"]["field"] == "score"
    no_row = client.post(url, json={"row": "nope", "annotator": "zoe", "score": 3})
    assert no_row.status_code == 404
    blank = client.post(url, json={"row": "sb-001", "annotator": "  ", "score": 3})
    assert blank.status_code == 422 and blank.json()["error"]["field"] == "annotator"
    assert client.get(url).json()["total"] == 139


def test_resolve_a_row_and_by_policy(client: TestClient) -> None:
    base = f"{BASE}/metrics/{HELPFUL}"
    resolved = client.post(f"{base}/resolutions", json={"row": "sb-001", "value": 3})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json() == {
        "row": "sb-001",
        "metric": HELPFUL,
        "value": 3.0,
        "resolved_by": "user:ana",
    }
    report = client.post(f"{base}/resolve", json={"policy": "median"}).json()
    assert report["annotated_rows"] == 48 and report["kept"] >= 39
    replaced = client.post(f"{base}/resolve", json={"policy": "median", "replace": True}).json()
    assert replaced["policy"] == "median"
    mean_on_labels = client.post(f"{BASE}/metrics/{POLICY}/resolve", json={"policy": "mean"})
    assert mean_on_labels.status_code == 422
    bad_policy = client.post(f"{base}/resolve", json={"policy": "vote"})
    assert bad_policy.status_code == 422 and bad_policy.json()["error"]["field"] == "policy"


def test_reviewer_agreement(client: TestClient) -> None:
    agreement = client.get(f"{BASE}/metrics/{HELPFUL}/agreement").json()
    assert agreement["reviewers"] == 3 and agreement["rows"] > 0
    assert -1 <= agreement["alpha_ordinal"] <= 1
    assert len(agreement["pairs"]) == 3
