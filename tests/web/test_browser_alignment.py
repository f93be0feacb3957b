"""Alignment in a real browser, against `rubricate serve` and its in-process worker: the
Start Alignment dialog with its live preview, a run's phases and progress, Cancel, Accept
on a custom metric (its next version) and on a built-in one (a fork), Retry of an Error
run. Models are the fake OpenAI-compatible server in this process (offline reflection
needs none): a run long enough to cancel (a slow reflection model), a reflection model
that is unknown (HTTP 404) until the
fault is cleared."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from tests.web.browser_support import screenshot, serving
from tests.web.run_pages_support import (
    BUILTIN,
    BUILTIN_EVALUATION,
    CUSTOM,
    import_builtin,
    verified,
)

from rubricate import Rubricate
from rubricate.alignment.trace_format import parse_blocks
from rubricate.domain.traces import Direction
from rubricate.testing.fake_openai import (
    FakeOpenAI,
    FakeReply,
    FakeRequest,
    Fault,
    RunningFake,
    judge_responder,
    running,
)

KEY = "sk-browser-test-key"
REFLECT = "openai-chat:fake-reflect"
WAIT = 20_000  # ms: the longest a run step may take here


def respond(request: FakeRequest) -> FakeReply:
    """The reflection model proposes one guideline per direction it sees; the judge
    answers as the default fake judge."""
    if request.model != "fake-reflect":
        return judge_responder(request)
    seen = parse_blocks(request.last_user_message)
    found = []
    for direction, text in (
        (
            Direction.TOO_LENIENT,
            "Do not reward answers that promise what the policy does not allow.",
        ),
        (Direction.TOO_HARSH, "Do not mark a short answer down when it solves the problem."),
    ):
        rows = [block.row_id for block in seen if block.direction is direction]
        if rows:
            found.append({"text": text, "direction": direction.value, "row_ids": rows})
    return FakeReply(tool_args={"guidelines": found})


@pytest.fixture(scope="module")
def fake_server() -> Iterator[RunningFake]:
    with running(FakeOpenAI()) as server:
        yield server


@pytest.fixture
def fake(fake_server: RunningFake) -> FakeOpenAI:
    fake_server.fake.reset(config=True)
    fake_server.fake.require_key = KEY
    fake_server.fake.responder = respond
    return fake_server.fake


@pytest.fixture
def served_with_models(
    demo: Rubricate, database_url: str, tmp_path: Path, fake_server: RunningFake
) -> Iterator[str]:
    """`rubricate serve` on the demo workspace plus an evaluation judged with a built-in
    metric, its OpenAI-compatible models on the fake server; one model call at a time."""
    import_builtin(demo, tmp_path)
    env = {
        "OPENAI_BASE_URL": fake_server.base_url,
        "OPENAI_API_KEY": KEY,
        "RUBRICATE_DEFAULT_CONCURRENCY": "1",
        "RUBRICATE_MODEL_ATTEMPTS": "1",
        "RUBRICATE_MAX_RETRY_WAIT": "0",
        "RUBRICATE_RESPONSE_CACHE": "false",
    }
    with serving(database_url, tmp_path / "serve.log", **env) as url:
        yield url


def no_script_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def open_dialog(page: Page) -> Locator:
    page.get_by_role("button", name="Start Alignment").click()
    dialog = page.locator("#dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#align-preview")).to_contain_text("Before you start")
    return dialog


def newest_run(page: Page) -> Locator:
    return page.locator("#runs-history .run-row").first


def test_start_cancel_and_accept_on_a_custom_metric(
    page: Page, served_with_models: str, fake: FakeOpenAI
) -> None:
    errors = no_script_errors(page)
    page.goto(f"{served_with_models}/metrics/{CUSTOM}")
    expect(page.get_by_role("heading", name=CUSTOM)).to_be_visible()
    expect(page.locator("#versions tr[data-version='1']")).to_contain_text("active")
    expect(page.get_by_text("No alignment runs yet")).to_be_visible()
    screenshot(page, "metric-page")

    # The dialog: only the usable evaluation, the default engine, a preview that follows
    # the threshold.
    dialog = open_dialog(page)
    expect(dialog.get_by_label("support-bot-demo")).to_be_checked()
    expect(dialog).to_contain_text("builtin:offline")
    preview = dialog.locator("#align-preview")
    expect(preview).to_contain_text("23 disagreements at this threshold")
    expect(preview).to_contain_text("0.888")
    dialog.get_by_label("Delta threshold").fill("4")
    expect(preview).to_contain_text("Low confidence")
    preview.scroll_into_view_if_needed()
    screenshot(page, "align-dialog")
    dialog.get_by_label("Delta threshold").fill("1")
    expect(preview).not_to_contain_text("Low confidence")

    # A run with a slow reflection model: its phases show, then it is cancelled.
    fake.latency = 6
    dialog.get_by_label("Reflection LM").fill(REFLECT)
    expect(preview).to_contain_text(f"Reflection LM: {REFLECT}")
    dialog.get_by_role("button", name="Start Alignment").click()
    expect(dialog).to_be_hidden()
    slow = newest_run(page)
    expect(slow.locator("li.current")).to_have_text("Distilling guidelines", timeout=WAIT)
    expect(slow.locator("li.done")).to_have_count(2)
    slow.get_by_role("link", name=re.compile(r"^run ")).click()
    panel = page.locator(".run-panel")
    expect(panel.locator("progress")).to_be_visible()
    expect(panel).to_contain_text("0 / 1 · Distilling guidelines")
    screenshot(page, "run-running")
    panel.get_by_role("button", name="Cancel").click()
    expect(panel.locator(".status")).to_have_text("Cancelled")
    expect(panel).to_contain_text("Cancelled during distilling guidelines")
    fake.latency = 0

    # A run with the offline engine reaches Aligned; strike a guideline, accept it.
    page.get_by_role("link", name=CUSTOM).first.click()
    dialog = open_dialog(page)
    dialog.get_by_role("button", name="Start Alignment").click()
    expect(dialog).to_be_hidden()
    aligned = newest_run(page)
    expect(aligned.locator(".status")).to_have_text("Aligned", timeout=WAIT)
    expect(page.locator("#runs-history .run-row").nth(1).locator(".status")).to_have_text(
        "Cancelled"
    )
    # The history stops polling once no run is in flight: a last refresh would replace the
    # panel opened below (and the box ticked in it).
    expect(page.locator("#runs-history[data-polling]")).to_have_count(0, timeout=WAIT)
    aligned.get_by_text("Guidelines, figures and review").click()
    body = aligned.locator(".run-body")
    expect(body).to_contain_text("23 disagreements found")
    expect(body).to_contain_text("makes these 3 guidelines version 2 of answer_helpfulness")
    body.locator("li.guideline").nth(2).get_by_role("button", name="Strike").click()
    expect(body.locator("li.guideline.struck")).to_have_count(1)
    expect(body).to_contain_text("makes these 2 guidelines version 2")
    # no judge model: not verified, so Accept needs the confirming box ticked
    expect(body.locator(".unverified-reason")).to_contain_text("No judge model was given")
    body.get_by_label("accept it anyway").check()
    body.get_by_role("button", name="Accept", exact=True).click()
    version_2 = body.get_by_role("link", name="answer_helpfulness version 2")
    expect(version_2).to_be_visible(timeout=WAIT)  # a busy CI machine: the accept's round trip
    expect(page.locator("#versions tr[data-version='2']")).to_contain_text("active")
    expect(page.locator("#versions tr[data-version='2']")).to_contain_text("accepted from")
    assert errors == []


def test_retry_an_error_run_and_accept_on_a_builtin_metric(
    page: Page, served_with_models: str, fake: FakeOpenAI, demo: Rubricate
) -> None:
    errors = no_script_errors(page)
    # The reflection model is unknown to the server (HTTP 404) until the fault is cleared.
    fake.faults = [Fault(status=404, times=None, message="The model does not exist.")]
    page.goto(f"{served_with_models}/metrics/{BUILTIN}")
    expect(page.get_by_text("never modified").first).to_be_visible()
    dialog = open_dialog(page)
    expect(dialog.get_by_label(BUILTIN_EVALUATION)).to_be_checked()
    expect(dialog.locator("#align-preview")).to_contain_text("16 disagreements")
    dialog.get_by_label("Reflection LM").fill(REFLECT)
    expect(dialog.locator("#align-preview")).to_contain_text(REFLECT)
    dialog.get_by_role("button", name="Start Alignment").click()
    expect(dialog).to_be_hidden()
    run = newest_run(page)
    expect(run.locator(".status")).to_have_text("Error", timeout=WAIT)
    expect(run).to_contain_text("does not know the model")

    # The fault is cleared: Retry carries the run to Aligned.
    fake.faults = []
    run.get_by_text("Error detail and retry").click()
    run.get_by_role("button", name="Retry").click()
    expect(run.locator(".status")).to_have_text("Aligned", timeout=WAIT)
    run.get_by_text("Guidelines, figures and review").click()
    body = run.locator(".run-body")
    expect(body).to_contain_text("Do not mark a short answer down")
    expect(body).to_contain_text("creates a new custom metric, helpfulness-aligned")
    body.get_by_label("accept it anyway").check()
    body.get_by_role("button", name="Accept", exact=True).click()
    fork = body.get_by_role("link", name="helpfulness-aligned version 1")
    expect(fork).to_be_visible()
    fork.click()
    expect(page.get_by_role("heading", name="helpfulness-aligned")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Forked from")
    expect(page.locator("#versions tr[data-version='1']")).to_contain_text("forked from")

    # An Aligned run with held-out verification: figures, chart and changed verdicts.
    run_id = verified(demo)
    page.goto(f"{served_with_models}/alignment-runs/{run_id}")
    expect(page.locator("svg.plot")).to_be_visible()
    expect(page.locator(".figures-table")).to_contain_text("Weighted kappa")
    expect(page.locator("details.verdicts")).to_contain_text("4 of 5 test rows")
    screenshot(page, "run-aligned")
    assert errors == []
