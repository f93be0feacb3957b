"""Gold rows and the sampler on the queue pages, in a TestClient with accounts (ada an
admin, rex and ren reviewers): the New queue form's sampler and gold rate, an admin's
gold rows on a queue's page (set, listed, removed; refused to a reviewer), a gold row
on a reviewer's page shown as any row, and accuracy per reviewer for admins only."""

from __future__ import annotations

import html as html_text

from tests.service.test_queue_gold import queued_and_free
from tests.web.conftest import SignIn, csrf_of
from tests.web.test_queue_pages import make, notice, shown_row, submit, team

from rubricate import Rubricate
from rubricate.demo import ALIGNED_METRIC, EVALUATION

__all__ = ["team"]  # the fixture, shared with the queue pages' tests

NOTE = "an unmistakable gold note"


def new_queue(**fields: str) -> dict[str, str | list[str]]:
    return {
        "name": "q", "evaluation": EVALUATION, "metric": ALIGNED_METRIC, "reviewers": ["rex"],
        "other_reviewers": "", "seed": "0", "delta": "", "reviews_per_row": "1",
        "lease_minutes": "10", "sample_size": "3", "selection": "random",
    } | fields  # fmt: skip


def test_the_form_offers_the_sampler_and_says_why_it_found_no_row(
    sign_in: SignIn, team: Rubricate
) -> None:
    ada = sign_in("ada")
    page = ada.get("/queues").text
    assert 'value="sampler"' in page and 'name="gold_rate"' in page
    form = new_queue(selection="sampler", csrf_token=csrf_of(ada, "/queues"))
    refused = ada.post("/queues", data=form)  # every demo row is reviewed already
    assert refused.status_code == 422
    said = html_text.unescape(refused.text)
    assert "the sampler weighs only rows that version 1" in said
    assert "Of 48 rows, 48 are scored by that version and 48 of those are reviewed" in said
    assert 'value="sampler" selected' in refused.text  # the form kept as posted
    created = ada.post("/queues", data=form | {"selection": "random", "gold_rate": "0.25"})
    assert created.status_code == 303
    assert team.queues.get("q").gold_rate == 0.25
    assert "25.0% of the rows handed to each reviewer" in ada.get("/queues/q").text


def test_an_admin_sets_gold_on_the_queue_page_and_a_reviewer_never_sees_it(
    sign_in: SignIn, team: Rubricate
) -> None:
    make(team, gold_rate=0.5, sample_size=2)  # a gold row second, while rows are left
    gold = queued_and_free(team)[1][0]
    ada, rex = sign_in("ada"), sign_in("rex")
    token = csrf_of(ada, "/queues")
    refused = rex.post("/queues/q/gold", data={"row": gold, "score": "2", "csrf_token": token})
    assert refused.status_code == 403
    posted = {"row": gold, "score": "2", "note": NOTE, "csrf_token": token}
    assert ada.post("/queues/q/gold", data=posted).status_code == 303
    page = ada.get("/queues/q").text
    assert f"Row {gold} is gold: 2" in notice(page)
    assert f'<tr data-row="{gold}">' in page and NOTE in page
    unknown = ada.post("/queues/q/gold", data=posted | {"row": "no-such-row"})
    assert unknown.status_code == 303
    assert "has no row 'no-such-row'" in html_text.unescape(notice(ada.get("/queues/q").text))

    assert "Gold rows" not in rex.get("/queues/q").text
    first = shown_row(rex.get("/queues/q/review").text)
    assert first != gold
    landed = submit(rex, first, "3")
    assert shown_row(landed) == gold and NOTE not in landed and "gold" not in landed.lower()
    submit(rex, gold, "4")
    admin_page = ada.get("/queues/q").text
    assert '<td class="num gold-reviews">1</td>' in admin_page
    assert '<td class="num gold-exact">0%</td>' in admin_page
    assert '<td class="num gold-error">2.00</td>' in admin_page
    assert '<span class="tag gold">gold</span>' in admin_page
    reviewer_page = rex.get("/queues/q").text
    assert "gold-reviews" not in reviewer_page and "gold-rate" not in reviewer_page
    evaluation = ada.get(f"/evaluations/{EVALUATION}?metric={ALIGNED_METRIC}").text
    assert "Gold exact" in evaluation
    assert "Gold exact" not in rex.get(f"/evaluations/{EVALUATION}?metric={ALIGNED_METRIC}").text
    removed = ada.post("/queues/q/gold/remove", data={"row": gold, "csrf_token": token})
    assert removed.status_code == 303
    assert f"Row {gold} is no longer gold." in notice(ada.get("/queues/q").text)
    assert team.gold.list(EVALUATION, ALIGNED_METRIC, by=team.users.get("ada")) == []
