"""Gold rows in a real Chromium against `rubricate serve`, by keyboard: an admin creates
a queue with a gold rate from the New queue form (after the sampler says why it has no
row on the reviewed demo), makes a row gold on the queue's page, a reviewer scores their
rows with number keys and Enter and meets the gold row looking like any other, and the
admin sees the reviewer's accuracy on it."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect
from tests.service.test_queue_gold import queued_and_free
from tests.web.browser_support import screenshot
from tests.web.test_browser_queue import contexts, new_queue_form, score, signed_in, team_served

from rubricate import Rubricate

__all__ = ["contexts", "team_served"]  # the fixtures, shared with the queue's browser test


def create_gold_queue(ada: Page, url: str) -> None:
    new = new_queue_form(ada, url, "week-12", ("ana",))
    new.get_by_label("Rows").select_option("sampler")
    new.get_by_label("N (samples)").fill("2")
    new.get_by_label("Gold rate").fill("0.5")
    new.get_by_label("Name").press("Enter")
    expect(ada.locator(".queue-error")).to_contain_text("reviewed or queued already")
    new = ada.locator("details.new-queue")  # shown again, as posted
    expect(new.get_by_label("Gold rate")).to_have_value("0.5")
    new.get_by_label("Rows").select_option("random")
    new.get_by_label("Name").press("Enter")
    expect(ada.locator(".queue-notice")).to_have_text("Queue week-12 created with 2 rows.")
    expect(ada.locator(".gold-rate")).to_contain_text("50.0%")


def test_a_gold_row_is_reviewed_blind_to_its_being_gold(
    contexts: list[BrowserContext], team_served: str, demo: Rubricate
) -> None:
    url = team_served
    ada, ana = (signed_in(c, url, n) for c, n in zip(contexts[:2], ("ada", "ana"), strict=True))
    create_gold_queue(ada, url)
    gold = queued_and_free(demo)[1][0]
    section = ada.locator("section.queue-gold")
    section.get_by_label("Row id").fill(gold)
    section.get_by_label("Gold score").select_option("5")
    section.get_by_label("Note").fill("plainly excellent")
    section.get_by_label("Note").press("Enter")
    expect(ada.locator(".queue-notice")).to_have_text(f"Row {gold} is gold: 5 · Excellent.")
    expect(ada.locator(f'table.gold-rows tr[data-row="{gold}"]')).to_contain_text("plainly")

    ana.goto(f"{url}/queues/week-12/review")
    first = score(ana, ["3"], "3", "3 · Adequate")
    expect(ana.locator(".row-id")).to_have_text(gold)  # the second row handed out: gold
    assert "gold" not in ana.content().lower() and "plainly" not in ana.content()
    screenshot(ana, "queue-review-gold")
    score(ana, ["4"], "4", "4 · Good")
    last = score(ana, ["3"], "3", "3 · Adequate")
    assert len({first, gold, last}) == 3
    expect(ana.locator(".no-rows")).to_be_visible()

    ada.goto(f"{url}/queues/week-12")
    expect(ada.locator(".rows-done")).to_have_text("2 of 2")
    line = ada.locator('table.reviewer-progress tr[data-reviewer="ana"]')
    expect(line.locator(".gold-reviews")).to_have_text("1")
    expect(line.locator(".gold-exact")).to_have_text("0%")
    expect(line.locator(".gold-error")).to_have_text("1.00")
    screenshot(ada, "queue-page-gold")
