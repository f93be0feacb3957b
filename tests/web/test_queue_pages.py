"""The review queue pages in a TestClient, with accounts: an admin (ada) and two reviewers
(rex, ren). Roles (a reviewer neither creates a queue nor sees conflicts), the New queue
form, blindness on the reviewer's page, submit and skip then the next row, the conflict
view's Resolve and Send back, and row text escaped."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, SignIn, csrf_of
from tests.web.test_security import SCRIPT, assert_inert, hostile  # noqa: F401 - a fixture

from rubricate import Rubricate
from rubricate.demo import ALIGNED_METRIC, EVALUATION
from rubricate.domain.queues import QueueRequest, Selection
from rubricate.domain.scale import Scale
from rubricate.domain.users import Role, User
from rubricate.web.queue_view import describe, points

ADA = User("ada", Role.ADMIN)
REX, REN = User("rex", Role.REVIEWER), User("ren", Role.REVIEWER)
REVIEW = "/queues/q/review"


@pytest.fixture
def team(accounts: Rubricate) -> Rubricate:
    """The demo with ada, rex and a second reviewer, ren."""
    accounts.users.add("ren", "reviewer", PASSWORD)
    return accounts


def make(rb: Rubricate, **options: object) -> None:
    fields: dict[str, object] = {
        "reviewers": ("rex", "ren"),
        "selection": Selection.RANDOM,
        "sample_size": 1,
        "evaluation": EVALUATION,
        "metric": ALIGNED_METRIC,
    } | options
    rb.queues.create(QueueRequest(name="q", **fields), by=ADA)  # type: ignore[arg-type]


def shown_row(html: str) -> str:
    found = re.search(r'<span class="mono row-id">([^<]+)</span>', html)
    assert found, "no row on the page"
    return found.group(1)


def notice(html: str) -> str:
    found = re.search(r'class="(?:notice|alert) queue-notice" role="status">([^<]*)<', html)
    return found.group(1) if found else ""


def submit(client: TestClient, row: str, score: str, comment: str = "", **extra: str) -> str:
    """Post a review from the page's form; the page it lands on."""
    token = csrf_of(client, "/queues")
    data = {"row": row, "score": score, "comment": comment, "csrf_token": token, **extra}
    response = client.post(REVIEW, data=data)
    assert response.status_code == 303 and response.headers["location"] == REVIEW
    return client.get(REVIEW).text


def test_a_reviewer_cannot_create_a_queue_or_see_conflicts(
    sign_in: SignIn, team: Rubricate
) -> None:
    rex = sign_in("rex")
    assert "New queue" not in rex.get("/queues").text
    token = csrf_of(rex, "/queues")
    form = {"name": "mine", "evaluation": EVALUATION, "metric": ALIGNED_METRIC, "csrf_token": token}
    created = rex.post("/queues", data={**form, "other_reviewers": "rex"})
    assert created.status_code == 403 and "only an admin can do this" in created.text
    assert team.queues.list() == []
    make(team)
    assert rex.get("/queues/q/conflicts").status_code == 403
    for action in ("conflicts/resolve", "conflicts/send-back", "close"):
        sent = rex.post(
            f"/queues/q/{action}", data={"row": "sb-001", "value": "1", "csrf_token": token}
        )
        assert sent.status_code == 403, action
    assert not team.queues.get("q").closed
    page = rex.get("/queues/q").text
    assert "Conflicts" not in page and "Close</button>" not in page and ">Review<" in page
    ada = sign_in("ada")
    assert ada.get("/queues/nope").status_code == 404
    assert ada.get("/queues/nope/conflicts").status_code == 404
    assert "not a reviewer" in ada.get(REVIEW).text  # an admin not assigned to it: 403
    assert ada.get(REVIEW).status_code == 403


def test_an_admin_creates_a_queue_with_the_form(sign_in: SignIn, team: Rubricate) -> None:
    ada = sign_in("ada")
    html = ada.get("/queues").text
    assert "New queue" in html and 'value="rex"' in html and 'value="ren"' in html
    form = {
        "name": "q",
        "evaluation": EVALUATION,
        "metric": ALIGNED_METRIC,
        "reviewers": ["rex"],
        "other_reviewers": " ren , ",
        "selection": "random",
        "sample_size": "3",
        "seed": "",
        "delta": "",
        "reviews_per_row": "3",
        "blind": "1",
        "lease_minutes": "10",
        "csrf_token": csrf_of(ada, "/queues"),
    }
    refused = ada.post("/queues", data=form)  # three reviews a row need three reviewers
    assert refused.status_code == 422
    assert "2 are assigned" in refused.text and 'value="q"' in refused.text  # kept as typed
    assert team.queues.list() == []
    created = ada.post("/queues", data=form | {"reviews_per_row": "2"})
    assert created.status_code == 303 and created.headers["location"] == "/queues/q"
    queue = team.queues.get("q")
    assert (queue.rows, queue.reviews_needed, queue.blind) == (3, 6, True)
    assert (set(queue.reviewers), queue.lease_seconds) == ({"rex", "ren"}, 600)
    page = ada.get("/queues/q").text
    assert "Queue q created with 3 rows." in page and "random sample of 3" in page
    assert '<b class="rows-done">0 of 3</b>' in page
    listed = ada.get("/queues").text
    assert 'href="/queues/q"' in listed and "0 of 6" in listed
    again = ada.post("/queues", data=form | {"reviews_per_row": "2"})
    assert again.status_code == 409 and "exists already" in again.text


@pytest.mark.parametrize("blind", [True, False])
def test_the_review_page_withholds_others_only_in_a_blind_queue(
    sign_in: SignIn, team: Rubricate, blind: bool
) -> None:
    make(team, reviews_per_row=2, blind=blind)
    rex, ren = sign_in("rex"), sign_in("ren")
    row = shown_row(rex.get(REVIEW).text)
    after = submit(rex, row, "1", "rex-private-note")
    assert "No more rows for you in this queue" in after
    html = ren.get(REVIEW).text
    assert shown_row(html) == row
    judge = team.evaluation_reads.row(EVALUATION, ALIGNED_METRIC, row).judge
    assert judge is not None
    judge_text = describe(team.metrics.version(ALIGNED_METRIC).scale, judge.score)
    judged = f'<div class="judge-score score">{judge_text}</div>'
    if blind:
        assert "rex-private-note" not in html and "judge-score" not in html
        assert 'class="reviews-list others"' not in html
        assert "hidden until you submit yours" in html
        assert "rex-private-note" not in ren.get("/queues/q").text  # nor on the queue's page
    else:
        assert "rex-private-note" in html and judged in html
        assert '<span class="annotator">rex</span> <span class="score">1 ·' in html
        assert "hidden until you submit" not in html
    submit(ren, row, "2")
    assert team.queues.get("q").rows_done == 1


def test_submit_shows_the_next_row_and_skip_passes_one_on(sign_in: SignIn, team: Rubricate) -> None:
    make(team, sample_size=3, reviewers=("rex",))
    rex = sign_in("rex")
    html = rex.get(REVIEW).text
    first = shown_row(html)
    assert 'name="score" value="4" data-key="4" required' in html  # the scale's points, keyed
    assert "queue_review.js" in html and "<script>" not in html  # no inline script
    after = submit(rex, first, "4", "  clear answer  ", reviewer="ren")  # not a field it reads
    assert notice(after) == f"Saved 4 · Good for row {first}."
    second = shown_row(after)
    assert second != first
    [(row, review)] = team.queues.reviews("q", by=ADA)
    assert (row, review.reviewer, review.score, review.comment) == (first, "rex", 4, "clear answer")
    again = submit(rex, first, "5")  # a second Enter on a row already reviewed
    assert "reviewed row" in notice(again) and "already" in notice(again)
    assert shown_row(again) == second

    skipped = rex.post(f"{REVIEW}/skip", data={"row": second, "csrf_token": csrf_of(rex)})
    assert skipped.status_code == 303
    html = rex.get(REVIEW).text
    assert notice(html) == f"Skipped row {second}: it goes to another reviewer."
    third = shown_row(html)
    assert third not in (first, second)
    done = submit(rex, third, "2")
    assert "No more rows for you in this queue" in done  # the skipped row never comes back
    page = rex.get("/queues/q").text
    counts = re.findall(r'<td class="num">(\d+)</td>', page.split('data-reviewer="rex"')[1])
    assert counts[:4] == ["2", "0", "1", "0"]  # reviewed, beyond N, skipped, held now
    assert '<b class="rows-done">2 of 3</b>' in page


def test_scales_are_keyed_by_their_values_or_places(sign_in: SignIn, team: Rubricate) -> None:
    make(team, metric="policy_compliance")  # fail 0 / pass 1
    html = sign_in("rex").get(REVIEW).text
    assert re.findall(
        r'value="([^"]+)" data-key="([^"]*)" required> <kbd>\w</kbd> (\d · \w+)<', html
    ) == [
        ("0", "0", "0 · fail"),
        ("1", "1", "1 · pass"),
    ]
    wide = points(Scale(type="ordinal", min=0, max=10))  # eleven points: keys 1-9 by place
    assert [p.key for p in wide] == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "", ""]
    assert points(Scale(type="interval", min=0, max=1)) == []  # a number field instead


def test_a_closed_queue_gives_out_no_row(sign_in: SignIn, team: Rubricate) -> None:
    make(team)
    ada = sign_in("ada")
    closed = ada.post("/queues/q/close", data={"csrf_token": csrf_of(ada, "/queues")})
    assert closed.status_code == 303 and team.queues.get("q").closed
    assert "is closed" in ada.get("/queues/q").text
    assert "This queue is closed" in sign_in("rex").get(REVIEW).text


def test_conflicts_are_resolved_or_sent_back(sign_in: SignIn, team: Rubricate) -> None:
    team.users.add("cy", "reviewer", PASSWORD)
    make(team, sample_size=2, reviews_per_row=2, reviewers=("rex", "ren", "cy"))
    for reviewer, score in ((REX, 1), (REN, 5), (REX, 2), (REN, 4)):
        row = team.queue_reviews.next("q", reviewer)
        assert row is not None
        team.queue_reviews.submit("q", reviewer, row.row_id, score, f"{reviewer.name} says {score}")
    first, second = (c.row_id for c in team.queues.conflicts("q", by=ADA))
    ada = sign_in("ada")
    html = ada.get("/queues/q/conflicts").text
    assert re.findall(r'<section class="card conflict" data-row="([^"]+)"', html) == [first, second]
    assert "rex says 1" in html and "ren says 5" in html and "spread 4" in html
    assert ">1 · Harmful or useless<" in html and ">5 · Excellent<" in html  # side by side
    token = csrf_of(ada, "/queues")
    resolved = ada.post(
        "/queues/q/conflicts/resolve", data={"row": first, "value": "3", "csrf_token": token}
    )
    assert resolved.status_code == 303 and resolved.headers["location"] == "/queues/q/conflicts"
    view = team.evaluation_reads.row(EVALUATION, ALIGNED_METRIC, first)
    assert (view.resolved, view.resolved_by) == (3, "user:ada")
    html = ada.get("/queues/q/conflicts").text
    assert notice(html) == f"Row {first} resolved: 3 · Adequate."
    assert re.search(r"resolved: <b>3 · Adequate</b> <span[^>]*>by ada</span>", html)

    back = ada.post("/queues/q/conflicts/send-back", data={"row": second, "csrf_token": token})
    assert back.status_code == 303
    html = ada.get("/queues/q/conflicts").text
    assert notice(html) == f"Row {second} sent back for another review."
    assert re.findall(r'class="card conflict" data-row="([^"]+)"', html) == [first]
    assert team.queues.get("q").rows_done == 1
    assert shown_row(sign_in("cy").get(REVIEW).text) == second  # the one who had not seen it
    refused = ada.post("/queues/q/conflicts/send-back", data={"row": second, "csrf_token": token})
    assert refused.status_code == 303
    html = ada.get("/queues/q/conflicts").text
    assert "every reviewer of queue" in notice(html)


def test_row_text_and_comments_are_escaped(sign_in: SignIn, team: Rubricate, hostile: str) -> None:  # noqa: F811
    make(team, evaluation=hostile, selection=Selection.ALL, reviews_per_row=2)
    rex, ren = sign_in("rex"), sign_in("ren")
    assert shown_row(rex.get(REVIEW).text) == "x1"
    submit(rex, "x1", "1", f"mine {SCRIPT}")
    html = ren.get(REVIEW).text
    assert_inert(html)
    for text in ("input", "output", "context", "mine"):
        assert f"{text} &lt;script&gt;" in html
    submit(ren, "x1", "5", SCRIPT)
    ada = sign_in("ada")
    for page in ("/queues/q", "/queues/q/conflicts"):
        shown = ada.get(page).text
        assert "<script>alert" not in shown and "mine &lt;script&gt;alert(1)" in shown
