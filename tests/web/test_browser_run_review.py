"""Reviewing a run in a real browser against `rubricate serve` (issue 11, item 5): the
supporting rows are the user's ids, "and N more", and each opens the row's page; the
dropped guidelines carry their reasons; the figures read as whole-evaluation estimates
with the paired difference; an unverified run says why and Accept needs the box ticked;
a run that kept nothing offers no Accept."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from tests.service.test_accept_rules import DROPPED, run_with
from tests.web.browser_support import screenshot
from tests.web.test_run_review_pages import verified_with_rows

from rubricate import Rubricate
from rubricate.domain.alignment import Figure, Verification

WAIT = 10_000  # ms


def test_rows_link_to_their_pages_and_drops_say_why(
    page: Page, served: str, demo: Rubricate
) -> None:
    run_id, rows = verified_with_rows(demo)
    ids = list(rows)
    page.goto(f"{served}/alignment-runs/{run_id}")
    guideline = page.locator("li.guideline").first
    guideline.get_by_text("evidence").click()
    support = guideline.locator(".support-rows")
    expect(support.locator("a.row-link")).to_have_count(8)
    expect(support).to_contain_text(f"{rows[ids[7]]} and 3 more")
    dropped = page.locator("section.dropped")
    expect(dropped).to_contain_text("Be stricter overall.")
    expect(dropped).to_contain_text("lowered agreement on 9 of 14 rows it acted on")
    expect(page.locator(".estimates")).to_contain_text("estimate for the whole evaluation")
    expect(page.locator(".paired-difference")).to_contain_text("+0.081")
    expect(page.locator(".paired-difference")).to_contain_text("+0.012 – +0.150")
    expect(page.locator(".confirm-unverified")).to_have_count(0)  # verified: nothing to tick
    screenshot(page, "run-review-rows")
    support.get_by_role("link", name=rows[ids[0]]).click()
    expect(page.get_by_role("heading", name=f"Row {rows[ids[0]]}")).to_be_visible()
    expect(page.locator(f'tr.erow[data-row="{rows[ids[0]]}"]')).to_be_visible()
    expect(page.locator(".metric-picker [aria-current=page]")).to_have_text("answer_helpfulness")


def test_a_drop_asks_for_confirmation_and_nothing_kept_offers_no_accept(
    page: Page, served: str, demo: Rubricate
) -> None:
    run_id, _ = verified_with_rows(
        demo, difference=Figure(value=-0.05, low=-0.1, high=0.01), raised=False, test_drop=True
    )
    page.goto(f"{served}/alignment-runs/{run_id}")
    expect(page.locator(".unverified-reason")).to_contain_text("show a drop in agreement")
    expect(page.locator(".paired-difference")).to_contain_text("the guidelines lowered agreement")
    accept = page.get_by_role("button", name="Accept", exact=True)
    box = page.get_by_label("accept it anyway")
    accept.click()  # the box is required: the browser does not send the form
    assert box.evaluate("box => box.validity.valueMissing") is True
    page.wait_for_timeout(300)
    expect(page.locator(".accepted-note")).to_have_count(0)
    assert len(demo.metrics.versions("answer_helpfulness")) == 1
    box.check()
    accept.click()
    expect(page.get_by_role("link", name="answer_helpfulness version 2")).to_be_visible(
        timeout=WAIT
    )

    nothing = run_with(demo, [], Verification(status="verified"), proposed=[DROPPED])
    page.goto(f"{served}/alignment-runs/{nothing}")
    expect(page.locator(".none-kept")).to_contain_text("put none of the 1 proposed guideline")
    expect(page.locator(".nothing-to-accept")).to_contain_text("Nothing to accept.")
    expect(page.get_by_role("button", name="Accept", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Reject")).to_be_visible()
    screenshot(page, "run-review-nothing-to-accept")
