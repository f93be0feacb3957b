"""Verify again in a real browser, against `rubricate serve` and its in-process worker: a
guideline edited after verification is marked "not verified", the button queues the
check, the page says "Verifying again…" and, once the worker has judged the held-out rows
afresh (the fake OpenAI-compatible judge), shows the new check instead of the old one."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from tests.web.test_browser_alignment import (  # noqa: F401 (fixtures)
    WAIT,
    fake,
    fake_server,
    served_with_models,
)
from tests.web.test_verify_again_page import judged_and_verified

from rubricate import Rubricate
from rubricate.store.tables import AlignmentRunRecord
from rubricate.testing.fake_openai import FakeOpenAI

JUDGE = "openai-chat:fake-judge"
OLD_CHECK = "Checked on 40 held-out test rows"
# The worker judges the selection and test rows afresh, one call at a time: on a loaded
# 2-core machine (browser, server, worker and PostgreSQL at once) that took over 20 s.
VERIFY_WAIT = 3 * WAIT


def test_verify_again_checks_an_edited_guideline(
    page: Page,
    demo: Rubricate,
    served_with_models: str,  # noqa: F811
    fake: FakeOpenAI,  # noqa: F811
) -> None:
    run_id = judged_and_verified(demo)
    with demo.db.write() as session:
        record = session.get(AlignmentRunRecord, run_id)
        assert record is not None
        record.params = record.params | {"judge_model": JUDGE}
    page.goto(f"{served_with_models}/alignment-runs/{run_id}")
    panel = page.locator(".run-panel")
    expect(panel).to_contain_text(OLD_CHECK)
    expect(panel.get_by_role("button", name="Verify again")).to_have_count(0)
    expect(panel.locator(".tag.not-verified")).to_have_count(0)

    second = panel.locator("li.guideline").nth(1)
    second.get_by_text("Edit", exact=True).click()
    second.get_by_role("textbox").fill("Reward short answers that solve the problem at once.")
    second.get_by_role("button", name="Save").click()
    expect(panel.locator("li.guideline").nth(1).locator(".tag.not-verified")).to_have_text(
        "not verified"
    )
    expect(panel.locator("li.guideline").nth(0).locator(".tag.not-verified")).to_have_count(0)

    requests_before = fake.requests_total
    panel.get_by_role("button", name="Verify again").click()
    # The worker takes it; the page polls until the new check replaces the old one.
    expect(panel).not_to_contain_text(OLD_CHECK, timeout=VERIFY_WAIT)
    expect(panel).not_to_contain_text("Verifying again…", timeout=WAIT)
    expect(panel.locator(".verify-failed")).to_have_count(0)
    assert fake.requests_total > requests_before  # the judge scored rows afresh
    assert demo.alignment_runs.get(run_id).status.value == "aligned"
