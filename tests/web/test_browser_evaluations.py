"""The evaluation pages in a real browser, on the demo served by `rubricate serve`
(single-user: everyone is the local admin): pick a metric, annotate a row, resolve it,
apply a policy, and take screenshots of the list and of the page with its plot."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from tests.web.browser_support import screenshot

INTERVALS = 20_000  # ms: about a second unloaded, more on a busy machine


def test_annotate_resolve_and_apply_a_policy_in_chromium(page: Page, served: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1360, "height": 900})

    page.goto(f"{served}/evaluations")
    expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()
    expect(page.get_by_role("link", name="support-bot-demo", exact=True)).to_be_visible()
    expect(page.get_by_text("Completed")).to_be_visible()
    screenshot(page, "evaluations")

    page.get_by_role("link", name="support-bot-demo", exact=True).click()
    picker = page.get_by_role("navigation", name="Metric")
    picker.get_by_role("link", name=re.compile(r"^\s*answer_helpfulness")).click()
    expect(page).to_have_url(re.compile(r"metric=answer_helpfulness"))
    expect(picker.locator("[aria-current=page]")).to_contain_text("answer_helpfulness")
    plot = page.locator("svg.judge-human")
    expect(plot).to_be_visible()
    expect(plot.locator("circle.disagree").first).to_be_attached()
    # the intervals come a moment later (1,000 bootstrap resamples), loaded by htmx
    expect(page.get_by_text("95% bootstrap intervals")).to_be_visible(timeout=INTERVALS)

    # annotate a row: the row alone is swapped, with the new annotation in it
    row = page.locator("tr.erow[data-row='sb-003']")
    row.get_by_label("Your score for sb-003").select_option("2")
    row.get_by_label("Your comment on sb-003").fill("Misses the 48-hour limit.")
    row.get_by_role("button", name="Save").click()
    mine = row.locator("li.mine")
    expect(mine).to_contain_text("local")
    expect(mine).to_contain_text("2 · Poor")
    expect(mine).to_contain_text("Misses the 48-hour limit.")
    expect(row.get_by_role("button", name="Update")).to_be_visible()

    # resolve the row by hand
    row.get_by_label("Resolved value for sb-003").select_option("3")
    row.get_by_role("button", name="Resolve").click()
    expect(row.locator("td.resolved")).to_contain_text("3 · Adequate")
    expect(row.locator("td.resolved")).to_contain_text("by local")

    # apply a policy to the whole evaluation: the page comes back with its report
    page.get_by_label("Policy", exact=True).select_option("median")
    page.get_by_label("Replace existing policy values").check()
    page.get_by_role("button", name="Apply policy").click()
    report = page.locator(".report")
    expect(report).to_contain_text("Applied the median policy")
    expect(report).to_contain_text("resolved")
    # an admin's own decision survives a policy, even with "replace"
    expect(row.locator("td.resolved")).to_contain_text("by local")

    page.get_by_role("link", name=re.compile(r"^\s*Disagreeing")).click()
    expect(page.locator("tr.erow.off").first).to_be_visible()
    expect(page.get_by_text("95% bootstrap intervals")).to_be_visible(timeout=INTERVALS)
    screenshot(page, "evaluation")
    assert errors == []
