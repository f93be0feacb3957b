"""Review queues over HTTP on the demo evaluation: only admins create and watch them, a
whole blind double review by two reviewers' own tokens (nothing of the first review
reaches the second reviewer), 204 when nothing is left, late and repeated reviews,
scores off the scale, conflicts sent back, and rows that do not exist."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from tests.api.api_support import EVALUATION, HELPFUL, TOKEN
from tests.service.test_queues import lapse

from rubricate import Rubricate
from rubricate.api import create_app

PASSWORD = "a long enough password"
REVIEWERS = ("rex", "ria", "cy")


class Api:
    """The queues API as one person: ``api("rex").post("/q/next")``; "ops" is an
    operator's token (an admin)."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def __call__(self, who: str) -> As:
        return As(self.client, self.tokens[who])


class As:
    def __init__(self, client: TestClient, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> httpx2.Response:
        return self.client.get(f"/api/v1/queues{path}", headers=self.headers)

    def post(self, path: str, body: Any = None) -> httpx2.Response:
        return self.client.post(f"/api/v1/queues{path}", headers=self.headers, json=body)


@pytest.fixture
def api(demo: Rubricate) -> Iterator[Api]:
    tokens = {"ops": TOKEN}
    for name in REVIEWERS:
        demo.users.add(name, "reviewer", PASSWORD)
        tokens[name] = demo.users.new_token(name)
    with TestClient(create_app(demo, tokens={TOKEN: "ops"})) as client:
        yield Api(client, tokens)


def create(api: Api, name: str = "q", **options: Any) -> dict[str, Any]:
    body = {"name": name, "evaluation": EVALUATION, "metric": HELPFUL, "reviewers": ["rex", "ria"]}
    made = api("ops").post("", body | options)
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


def take(api: Api, who: str, queue: str = "q") -> dict[str, Any]:
    given = api(who).post(f"/{queue}/next")
    assert given.status_code == 200, given.text
    found: dict[str, Any] = given.json()
    return found


def review(api: Api, who: str, row: str, score: Any, queue: str = "q") -> httpx2.Response:
    return api(who).post(f"/{queue}/rows/{row}/review", {"score": score})


def test_only_an_admin_creates_closes_and_watches_a_queue(api: Api) -> None:
    body = {"name": "q", "evaluation": EVALUATION, "metric": HELPFUL, "reviewers": ["rex"]}
    refused = api("rex").post("", body)
    assert refused.status_code == 403, refused.text
    assert "rex is a reviewer" in refused.json()["error"]["message"]
    assert api("ops").get("").json()["total"] == 0  # nothing was made
    made = create(api, selection="random", sample_size=3, seed=7)
    assert (made["rows"], made["reviewers"], made["created_by"]) == (3, ["rex", "ria"], "ops")
    for answer in (
        api("rex").get("/q/reviews"),
        api("rex").get("/q/conflicts"),
        api("rex").post("/q/close"),
        api("rex").post("/q/rows/sb-001/send-back"),
    ):
        assert answer.status_code == 403, answer.text
    listed = api("rex").get("").json()  # reading is a reviewer's
    assert [q["name"] for q in listed["items"]] == ["q"] and listed["total"] == 1
    assert api("cy").get("/q").json()["progress"][0]["reviewer"] == "rex"


def test_a_taken_name_and_bad_fields_are_refused(api: Api) -> None:
    create(api)
    again = api("ops").post(
        "", {"name": "q", "evaluation": EVALUATION, "metric": HELPFUL, "reviewers": ["rex"]}
    )
    assert again.status_code == 409 and "exists already" in again.json()["error"]["message"]
    base = {"name": "r", "evaluation": EVALUATION, "metric": HELPFUL, "reviewers": ["rex"]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"reviews_per_row": 2}, "reviews_per_row"),  # more reviews than reviewers
        ({"selection": "random"}, "sample_size"),  # a sample needs its size
        ({"lease_seconds": 5}, "lease_seconds"),
        ({"reviewers": []}, "reviewers"),
    ]
    for change, field in cases:
        answer = api("ops").post("", base | change)
        assert answer.status_code == 422, (change, answer.text)
        assert answer.json()["error"]["field"] == field
    unknown = api("ops").post("", base | {"evaluation": "no-such"})
    assert unknown.status_code == 404


def test_a_blind_double_review_over_http(api: Api) -> None:
    create(api, selection="random", sample_size=2, reviews_per_row=2, blind=True)
    first = take(api, "rex")
    assert first["withheld"] is True
    assert first["judge_score"] is None and first["others"] == []
    assert first["input"] and first["output"] and first["scale"].startswith("1")
    assert first["rows"] == 2 and first["queue"] == "q"
    # who reviews is the caller: a name in the body is not read (next) or refused (review)
    forged = api("rex").post(f"/q/rows/{first['row_id']}/review", {"score": 4, "reviewer": "ria"})
    assert forged.status_code == 422 and forged.json()["error"]["field"] == "reviewer"
    mine = api("rex").post(
        f"/q/rows/{first['row_id']}/review", {"score": 4, "comment": "rex thinks so"}
    )
    assert mine.status_code == 201, mine.text
    assert mine.json() == {"row_id": first["row_id"], "score": 4.0, "counted": True}

    second = api("ria").post("/q/next", {"reviewer": "rex"})
    assert second.status_code == 200
    shown = second.json()
    assert shown["row_id"] == first["row_id"]  # the row still needs a second review
    assert shown["withheld"] is True and shown["judge_score"] is None and shown["others"] == []
    assert "rex thinks so" not in second.text
    assert review(api, "ria", shown["row_id"], 2).json()["counted"] is True

    # the other row goes to both at once (it needs two reviews), then nothing is left
    [other] = {take(api, who)["row_id"] for who in ("rex", "ria")}
    assert other != first["row_id"]
    for who in ("rex", "ria"):
        assert review(api, who, other, 3).status_code == 201
    for who in ("rex", "ria"):
        done = api(who).post("/q/next")
        assert done.status_code == 204 and done.content == b""
    queue = api("rex").get("/q").json()
    assert (queue["rows_done"], queue["reviews_counted"], queue["finished"]) == (2, 4, True)
    assert [(p["reviewer"], p["reviewed"], p["leased"]) for p in queue["progress"]] == [
        ("rex", 2, 0),
        ("ria", 2, 0),
    ]


def test_a_late_review_is_kept_and_a_second_one_is_refused(api: Api, demo: Rubricate) -> None:
    create(api, selection="random", sample_size=1)
    row = take(api, "rex")["row_id"]
    lapse(demo, "rex")
    taken = take(api, "ria")  # the lease ran out: the row goes on
    assert taken["row_id"] == row
    assert taken["judge_score"] is not None and taken["withheld"] is False  # not blind
    late = review(api, "rex", row, 5)
    assert late.status_code == 201 and late.json()["counted"] is True
    beyond = review(api, "ria", row, 1)
    assert beyond.status_code == 201 and beyond.json()["counted"] is False
    twice = review(api, "rex", row, 4)
    assert twice.status_code == 409 and "already" in twice.json()["error"]["message"]
    reviews = api("ops").get("/q/reviews").json()
    assert [(r["reviewer"], r["score"], r["beyond"]) for r in reviews["items"]] == [
        ("rex", 5.0, False),
        ("ria", 1.0, True),
    ]
    assert {r["row_id"] for r in reviews["items"]} == {row}


def test_scores_off_the_scale_and_rows_not_given_are_refused(api: Api) -> None:
    create(api, selection="random", sample_size=2)
    row = take(api, "rex")["row_id"]
    for score in (9, 0.5, "brilliant"):
        off = review(api, "rex", row, score)
        assert off.status_code == 422, off.text
        assert off.json()["error"]["field"] == "score"
    assert review(api, "ria", row, 3).status_code == 403  # never given to ria
    assert api("ria").post(f"/q/rows/{row}/skip").status_code == 409  # ria does not hold it
    stranger = api("cy").post("/q/next")
    assert stranger.status_code == 403 and "not a reviewer" in stranger.json()["error"]["message"]
    assert review(api, "rex", row, "Poor").json()["score"] == 2.0  # a label is a score


def test_a_skipped_row_goes_to_another_reviewer(api: Api) -> None:
    create(api, selection="random", sample_size=2)
    row = take(api, "rex")["row_id"]
    skipped = api("rex").post(f"/q/rows/{row}/skip")
    assert skipped.status_code == 204 and skipped.content == b""
    assert take(api, "rex")["row_id"] != row
    assert take(api, "ria")["row_id"] == row
    assert [p["skipped"] for p in api("ops").get("/q").json()["progress"]] == [1, 0]


def test_conflicts_are_sent_back_for_one_more_review(api: Api) -> None:
    create(api, selection="random", sample_size=1, reviews_per_row=2, reviewers=list(REVIEWERS))
    for who, score in (("rex", 1), ("ria", 5)):
        row = take(api, who)["row_id"]
        assert review(api, who, row, score).status_code == 201
    conflicts = api("ops").get("/q/conflicts").json()
    assert conflicts["total"] == 1
    [conflict] = conflicts["items"]
    assert conflict["row_id"] == row and conflict["spread"] == 4
    assert [(r["reviewer"], r["score"]) for r in conflict["reviews"]] == [("rex", 1), ("ria", 5)]
    sent = api("ops").post(f"/q/rows/{row}/send-back")
    assert sent.status_code == 200 and sent.json()["rows_done"] == 0
    assert api("ops").get("/q/conflicts").json()["items"] == []  # open again
    assert api("rex").post("/q/next").status_code == 204  # had it already
    assert take(api, "cy")["row_id"] == row
    assert review(api, "cy", row, 3).status_code == 201
    assert api("ops").get("/q").json()["reviews_counted"] == 3
    again = api("ops").post(f"/q/rows/{row}/send-back")
    assert again.status_code == 409 and "every reviewer" in again.json()["error"]["message"]


def test_unknown_queues_and_rows_are_404(api: Api) -> None:
    create(api, selection="random", sample_size=1)
    assert api("rex").get("/nothing").status_code == 404
    assert api("rex").post("/nothing/next").status_code == 404
    take(api, "rex")
    for row in ("no-such-row", "a/b", "sb-001%2Freview"):
        for answer in (
            review(api, "rex", row, 3),
            api("rex").post(f"/q/rows/{row}/skip"),
            api("ops").post(f"/q/rows/{row}/send-back"),
        ):
            assert answer.status_code == 404, (row, answer.text)
            assert "has no row" in answer.json()["error"]["message"]


def test_a_closed_queue_gives_out_no_row(api: Api) -> None:
    create(api, selection="random", sample_size=2, blind=True)
    closed = api("ops").post("/q/close")
    assert closed.status_code == 200 and closed.json()["closed"] is True
    refused = api("rex").post("/q/next")
    assert refused.status_code == 409 and "closed" in refused.json()["error"]["message"]
    assert api("ops").post("/q/close").json()["closed"] is True  # again: no change
