"""What a new user read wrong on the web pages (issue 13): run ids shown whole, a delta as
it was typed, a version made by an import named plainly, and a 404 page that points at
pages rather than at a CLI command."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.web.run_pages_support import queue as queue  # the fixtures, as pytest finds them
from tests.web.run_pages_support import text_of
from tests.web.run_pages_support import web as web

from rubricate import Rubricate

METRIC = "answer_helpfulness"
RUN_ID = "support-bot-first-alignment"  # longer than the 8 characters pages used to show


def test_run_ids_are_shown_whole_and_a_delta_as_typed(web: TestClient, demo: Rubricate) -> None:
    demo.alignment_runs.start(
        metric=METRIC, evaluations=["support-bot-demo"], delta=1.5, run_id=RUN_ID
    )
    history = text_of(web.get(f"/metrics/{METRIC}/runs").text)
    assert f"run {RUN_ID}" in history
    assert "Δ ≥ 1.5 " in history and "1.500" not in history
    page = web.get(f"/alignment-runs/{RUN_ID}").text
    assert f"<title>Alignment run {RUN_ID} ·" in page
    assert "Delta threshold 1.5 " in text_of(page)


def test_a_version_made_by_an_import_says_so(web: TestClient) -> None:
    shown = text_of(web.get(f"/metrics/{METRIC}").text)
    assert "made by an import, for the judge scores it brought" in shown
    assert "stands for" not in shown


@pytest.mark.parametrize(
    "path", ["/metrics/nope", "/evaluations/nope", "/alignment-runs/nope", "/no-such-page"]
)
def test_a_404_page_names_no_cli_command(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 404
    alert = re.search(r'role="alert">([^<]*)<', response.text)
    assert alert is not None and alert[1].lower().startswith(("no ", "not found"))
    assert "rubricate" not in alert[1] and "(see" not in response.text
    assert 'href="/metrics"' in response.text and 'href="/evaluations"' in response.text
