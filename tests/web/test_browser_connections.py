"""Import from a connection in a real Chromium, against `rubricate serve` whose settings file
names the Langfuse contract fake (issue 14): the admin opens Connections from the nav, fills
the connection's Import form, sees the counts of a Dry run (nothing kept), then Imports and
opens the new evaluation from the report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.integrations.conftest import seed
from tests.web.browser_support import screenshot, serving

from rubricate.testing.fake_langfuse import FakeLangfuse, running

PUBLIC, SECRET = "pk-lf-browser-0123", "sk-lf-browser-4567-never-shown"


@pytest.fixture
def served_with_langfuse(database_url: str, tmp_path: Path) -> Iterator[str]:
    fake = FakeLangfuse(public_key=PUBLIC, secret_key=SECRET)
    seed(fake)
    with running(fake) as server:
        settings = tmp_path / "rubricate.toml"
        settings.write_text(
            '[connections.prod-langfuse]\nkind = "langfuse"\n'
            f'host = "{server.host}"\npublic_key_env = "PROD_LF_PUBLIC"\n'
            'secret_key_env = "PROD_LF_SECRET"\n'
        )
        env = {"RUBRICATE_SETTINGS_FILE": str(settings), "PROD_LF_PUBLIC": PUBLIC,
               "PROD_LF_SECRET": SECRET}  # fmt: skip
        with serving(database_url, tmp_path / "serve.log", **env) as url:
            yield url


def test_an_admin_imports_from_a_connection(page: Page, served_with_langfuse: str) -> None:
    page.goto(f"{served_with_langfuse}/metrics")
    page.get_by_role("link", name="Connections").click()
    expect(page).to_have_url(f"{served_with_langfuse}/connections")
    expect(page.locator("table.connections-list")).to_contain_text("PROD_LF_SECRET")
    section = page.locator("#connection-prod-langfuse")
    section.locator('input[name="score"]').fill("tone")
    section.locator('input[name="evaluation"]').fill("from-langfuse")
    section.get_by_role("button", name="Dry run").click()

    section = page.locator("#connection-prod-langfuse")
    report = section.locator(".import-report")
    expect(report).to_contain_text("Dry run, nothing kept")
    expect(report).to_contain_text("2 to add, 0 already there")
    assert SECRET not in page.content() and PUBLIC not in page.content()
    screenshot(page, "connection-dry-run")

    section.get_by_role("button", name="Import", exact=True).click()  # the form kept its values
    report = page.locator("#connection-prod-langfuse .import-report")
    expect(report).to_contain_text("Imported into from-langfuse (a new evaluation)")
    report.get_by_role("link", name="from-langfuse").click()
    expect(page).to_have_url(f"{served_with_langfuse}/evaluations/from-langfuse")
    expect(page.locator("h1")).to_contain_text("from-langfuse")
