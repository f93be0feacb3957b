"""A whole blind double-review queue in a real Chromium against `rubricate serve`, by
keyboard: an admin creates it (a random sample of 3 rows, 2 reviews each, blind), a first
reviewer scores every row with number keys and Enter (a comment typed on the way), a
second does the same and never sees the first one's score or comment, nor the judge's,
before submitting; the admin resolves the one conflict, and the queue is 3 of 3 rows
done."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from tests.web.browser_support import screenshot, serving
from tests.web.conftest import PASSWORD

from rubricate import Rubricate
from rubricate.demo import ALIGNED_METRIC, EVALUATION

WAIT = 10_000  # ms
SECRET = "ana thinks: 5 stars, skip the jokes"  # digits, s, j and k typed into the comment


@pytest.fixture
def team_served(demo: Rubricate, database_url: str, tmp_path: Path) -> Iterator[str]:
    """`rubricate serve` with accounts: an admin and two reviewers."""
    demo.users.add("ada", "admin", PASSWORD)
    for name in ("ana", "ben"):
        demo.users.add(name, "reviewer", PASSWORD)
    with serving(database_url, tmp_path / "serve.log") as url:
        yield url


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    yield made
    for context in made:
        context.close()


def signed_in(context: BrowserContext, url: str, name: str) -> Page:
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.locator(".who .user")).to_contain_text(name)
    return page


def new_queue_form(ada: Page, url: str, name: str, reviewers: tuple[str, ...]) -> Locator:
    """The New queue form opened on the queues page, named, on the demo's evaluation and
    aligned metric, with ``reviewers`` ticked; the rest is the caller's to fill."""
    ada.goto(f"{url}/queues")
    new = ada.locator("details.new-queue")
    new.locator("summary").press("Enter")
    new.get_by_label("Name").fill(name)
    new.get_by_label("Evaluation").select_option(EVALUATION)
    new.get_by_label("Metric").select_option(ALIGNED_METRIC)
    for reviewer in reviewers:
        new.get_by_label(reviewer, exact=True).press("Space")
    return new


def create_queue(ada: Page, url: str) -> None:
    new = new_queue_form(ada, url, "blind-pair", ("ana", "ben"))
    new.get_by_label("Rows").select_option("random")
    new.get_by_label("N (samples)").fill("3")
    new.get_by_label("Reviews per row").fill("2")
    new.get_by_label("Blind").press("Space")
    screenshot(ada, "queue-new")
    new.get_by_label("Name").press("Enter")
    expect(ada.locator(".queue-notice")).to_have_text("Queue blind-pair created with 3 rows.")
    expect(ada.locator(".rows-done")).to_have_text("0 of 3")


def score(page: Page, keys: list[str], value: str, text: str) -> str:
    """Press ``keys`` on the row shown, check that they chose ``value``, press Enter; the
    row's id once the next page says it was saved."""
    row = page.locator(".row-id").inner_text()
    for key in keys:
        page.keyboard.press(key)
    expect(page.locator(f'input[name="score"][value="{value}"]')).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator(".queue-notice")).to_have_text(f"Saved {text} for row {row}.")
    return row


def test_a_blind_double_review_queue_by_keyboard(
    contexts: list[BrowserContext], team_served: str
) -> None:
    url = team_served
    ada, ana, ben = (
        signed_in(c, url, n) for c, n in zip(contexts, ("ada", "ana", "ben"), strict=True)
    )
    create_queue(ada, url)
    review = f"{url}/queues/blind-pair/review"

    ana.goto(review)
    expect(ana.locator(".blind-note")).to_be_visible()
    rows = [score(ana, ["3"], "3", "3 · Adequate")]
    ana.keyboard.press("c")  # the comment: keys typed there are text, not shortcuts
    ana.keyboard.type(SECRET)
    expect(ana.locator("#review-comment")).to_have_value(SECRET)
    expect(ana.locator('input[name="score"]:checked')).to_have_count(0)
    ana.keyboard.press("Escape")
    rows.append(score(ana, ["3"], "3", "3 · Adequate"))
    rows.append(score(ana, ["3"], "3", "3 · Adequate"))
    expect(ana.locator(".no-rows")).to_have_text("No more rows for you in this queue.")
    assert len(set(rows)) == 3

    ben.goto(review)
    for n, row in enumerate(rows):
        expect(ben.locator(".row-id")).to_have_text(row)
        expect(ben.locator(".blind-note")).to_be_visible()
        expect(ben.locator(".others, .judge-score")).to_have_count(0)
        assert SECRET not in ben.content()
        if n == 1:  # 3, then down twice, up once, down once: 5
            score(ben, ["3", "j", "j", "k", "j"], "5", "5 · Excellent")
            screenshot(ben, "queue-review-blind")
        else:
            score(ben, ["3"], "3", "3 · Adequate")
    expect(ben.locator(".no-rows")).to_be_visible()

    ada.goto(f"{url}/queues/blind-pair/conflicts")
    conflict = ada.locator("section.conflict")
    expect(conflict).to_have_count(1)
    expect(conflict).to_have_attribute("data-row", rows[1])
    cards = conflict.locator(".review-card")
    expect(cards.nth(0)).to_contain_text("ana")
    expect(cards.nth(0)).to_contain_text(SECRET)
    expect(cards.nth(1)).to_contain_text("5 · Excellent")
    conflict.get_by_label(f"Resolved value for {rows[1]}").select_option("4")
    conflict.get_by_role("button", name="Resolve").press("Enter")
    expect(ada.locator(".queue-notice")).to_have_text(f"Row {rows[1]} resolved: 4 · Good.")
    expect(ada.locator("section.conflict .resolved-now")).to_contain_text("4 · Good by ada")
    screenshot(ada, "queue-conflicts")

    ada.goto(f"{url}/queues/blind-pair")
    expect(ada.locator(".rows-done")).to_have_text("3 of 3")
    expect(ada.locator(".reviews-done")).to_have_text("6 of 6")
    expect(ada.locator("table.queue-reviews tbody tr")).to_have_count(6)
    screenshot(ada, "queue-page")
