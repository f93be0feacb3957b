"""The served UI in a real browser: the metrics list renders with htmx loaded and no
script errors."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from tests.web.browser_support import screenshot


def test_metrics_page_in_chromium(page: Page, served: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{served}/metrics")
    expect(page.get_by_role("heading", name="Metrics")).to_be_visible()
    expect(page.get_by_role("link", name="answer_helpfulness")).to_be_visible()
    assert page.evaluate("typeof htmx") == "object"
    screenshot(page, "metrics")
    assert errors == []
