"""Gold rows over HTTP on the demo evaluation: only admins list, set and remove them; a
queue with a gold rate hands one to a reviewer in the same shape as any row, without the
gold score; the queue's progress and the reviewer calibration give each reviewer's
accuracy on them."""

from __future__ import annotations

from typing import Any

import httpx2
from tests.api.api_support import EVALUATION, HELPFUL
from tests.api.test_queues_api import Api, api, create, review, take

__all__ = ["api"]  # the fixture, shared with the queues' tests

ROW = f"/api/v1/gold/{EVALUATION}/rows"


def gold(api: Api, who: str, method: str, path: str = "", body: Any = None) -> httpx2.Response:
    person = api(who)
    return person.client.request(method, f"{ROW}{path}", headers=person.headers, json=body)


def listed(api: Api, who: str) -> httpx2.Response:
    person = api(who)
    return person.client.get(f"/api/v1/gold/{EVALUATION}?metric={HELPFUL}", headers=person.headers)


def free_rows(api: Api) -> list[str]:
    """The evaluation's row ids, in order."""
    every = api("ops").client.get(
        f"/api/v1/evaluations/{EVALUATION}/rows?limit=100", headers=api("ops").headers
    )
    assert every.status_code == 200, every.text
    return [r["id"] for r in every.json()["items"]]


def test_only_an_admin_sets_lists_and_removes_gold(api: Api) -> None:
    row = free_rows(api)[0]
    body = {"metric": HELPFUL, "score": 4, "note": "a clear 4"}
    for answer in (
        gold(api, "rex", "PUT", f"/{row}/score", body),
        gold(api, "rex", "DELETE", f"/{row}/score?metric={HELPFUL}"),
        api("rex").client.get(
            f"/api/v1/gold/{EVALUATION}?metric={HELPFUL}", headers=api("rex").headers
        ),
    ):
        assert answer.status_code == 403, answer.text
    made = gold(api, "ops", "PUT", f"/{row}/score", body)
    assert made.status_code == 200, made.text
    assert made.json() | {"set_at": None} == {
        "evaluation": EVALUATION, "metric": HELPFUL, "row_id": row, "score": 4.0,
        "note": "a clear 4", "set_by": "ops", "set_at": None,
    }  # fmt: skip
    off = gold(api, "ops", "PUT", f"/{row}/score", body | {"score": 99})
    assert off.status_code == 422 and off.json()["error"]["field"] == "score"
    assert gold(api, "ops", "PUT", "/no-such-row/score", body).status_code == 404
    assert [g["row_id"] for g in listed(api, "ops").json()["items"]] == [row]
    assert gold(api, "ops", "DELETE", f"/{row}/score?metric={HELPFUL}").status_code == 204
    assert gold(api, "ops", "DELETE", f"/{row}/score?metric={HELPFUL}").status_code == 404


def test_a_gold_row_reaches_a_reviewer_as_any_row_and_measures_them(api: Api) -> None:
    made = create(api, selection="random", sample_size=2, seed=7, gold_rate=0.5, blind=True)
    assert made["gold_rate"] == 0.5
    first = take(api, "rex")
    own = {first["row_id"]}
    row = next(r for r in free_rows(api) if r not in own)
    gold(api, "ops", "PUT", f"/{row}/score", {"metric": HELPFUL, "score": 4, "note": "secret"})
    assert review(api, "rex", first["row_id"], 3).json()["counted"] is True
    handed = take(api, "rex")  # the second row handed out: gold, at rate 0.5
    assert handed["row_id"] == row and handed.keys() == first.keys()
    assert handed["judge_score"] is None and "secret" not in str(handed)
    answer = review(api, "rex", row, 2)
    assert answer.status_code == 201 and answer.json()["counted"] is True  # as any row's
    detail = api("ops").get("/q").json()
    assert (detail["rows"], detail["reviews_counted"]) == (2, 1)
    rex = {p["reviewer"]: p for p in detail["progress"]}["rex"]
    assert rex["reviewed"] == 1
    assert rex["gold"] == {"reviewer": "rex", "reviews": 1, "exact": 0.0, "mean_error": 2.0}
    reviews = api("ops").get("/q/reviews").json()["items"]
    assert [(r["row_id"], r["gold"]) for r in reviews] == [(first["row_id"], False), (row, True)]
    calibration = f"/api/v1/evaluations/{EVALUATION}/reviewers?metric={HELPFUL}"
    for who, gold_seen in (("ops", [rex["gold"]]), ("rex", [])):
        person = api(who)
        answer = person.client.get(calibration, headers=person.headers)
        assert answer.json()["gold"] == gold_seen  # a reviewer's view never tells gold
    mine = {p["reviewer"]: p for p in api("rex").get("/q").json()["progress"]}["rex"]
    assert (mine["reviewed"], mine["gold"]) == (2, None)  # the gold review looks like any


def test_a_gold_rate_past_a_half_is_refused(api: Api) -> None:
    body = {"name": "r", "evaluation": EVALUATION, "metric": HELPFUL, "reviewers": ["rex"]}
    answer = api("ops").post("", body | {"gold_rate": 0.6})
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "gold_rate"
