"""/docs in a real Chromium: Swagger UI renders the API's operations from this server's
own files, under the Content-Security-Policy (no inline script), with no request leaving
the server (it works offline)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, expect
from tests.web.browser_support import screenshot


def test_the_api_docs_render_offline_under_the_csp(page: Page, served: str) -> None:
    problems: list[str] = []
    elsewhere: list[str] = []
    origin = urlsplit(served).netloc
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on(
        "request",
        lambda r: None if urlsplit(r.url).netloc == origin else elsewhere.append(r.url),
    )
    response = page.goto(f"{served}/docs")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "<script>" not in response.text()  # our init file, not an inline script
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("rubricate")
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    paths = set(operations.all_inner_texts())
    assert "/api/v1/metrics" in {p.replace("\u200b", "") for p in paths}
    # an operation opens (Swagger UI's own scripts are running)
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    screenshot(page, "api-docs")
    assert problems == [], "CSP violations or script errors"
    assert elsewhere == [], "requests left the server"
