"""The evaluation page's Reviewers section and the Start Alignment dialog's warning when
reviewers agree too little (the panel of tests/service/calibration_support.py)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient
from tests.service.calibration_support import (
    EVALUATION,
    LABELS,
    MANIFEST,
    METRIC,
    load_panel,
    panel_row,
)
from tests.web.run_pages_support import HX, START, text_of
from tests.web.run_pages_support import queue as queue  # the fixtures, as pytest finds them
from tests.web.run_pages_support import web as web

from rubricate import Rubricate
from rubricate.demo import EVALUATION as DEMO
from rubricate.testing.datasets import write_dataset_folder


def reviewers_of(html: str) -> str:
    found = re.search(r'<section class="card" id="reviewers">(.*?)</section>', html, re.S)
    assert found, "no Reviewers section"
    return text_of(found.group(1))


def test_the_section_lists_each_reviewer(web: TestClient, demo: Rubricate, tmp_path: Path) -> None:
    load_panel(demo, tmp_path)
    page = web.get(f"/evaluations/{EVALUATION}", params={"metric": METRIC})
    assert page.status_code == 200
    section = reviewers_of(page.text)
    assert "above the group’s 0.33" in section
    assert re.search(r"dee ↓ pulls α down 20 95% 0% 1.00 1.0 harsher", section), section
    assert re.search(r"ana 20 95% 50% 0.03 0.5 more lenient", section), section
    assert re.search(r"eve 1 5% — 0.33 —", section), section  # shares no row: no figures
    assert "Within Δ" not in section  # on 1–5 at one step it is exact agreement
    labels = reviewers_of(web.get(f"/evaluations/{EVALUATION}", params={"metric": LABELS}).text)
    assert "in label steps" in labels and "1.0 harsher" in labels


def test_the_demo_page_shows_sensible_figures(web: TestClient) -> None:
    section = reviewers_of(web.get(f"/evaluations/{DEMO}").text)
    assert "above the group’s 0.88" in section
    assert re.search(r"chidi ↓ pulls α down 43 90% 47% 0.92 0.3 harsher", section), section
    assert re.search(r"ana 48 100% 61% 0.84 0.2 more lenient", section), section


def test_no_section_without_annotations(web: TestClient, demo: Rubricate, tmp_path: Path) -> None:
    rows = [{**panel_row(i, harsh=True), "annotations": {}} for i in range(3)]
    demo.import_path(write_dataset_folder(tmp_path / "judged", MANIFEST, rows), "judged")
    page = web.get("/evaluations/judged", params={"metric": METRIC})
    assert page.status_code == 200
    assert 'id="reviewers"' not in page.text


def test_the_dialog_warns_and_names_the_harsh_reviewer(
    web: TestClient, demo: Rubricate, tmp_path: Path
) -> None:
    load_panel(demo, tmp_path)
    data = {**START, "evaluations": [EVALUATION]}
    answer = web.post(f"/metrics/{METRIC}/align/preview", data=data, headers=HX)
    shown = html.unescape(text_of(answer.text))
    assert "Check your reviewers first." in shown
    assert "Krippendorff's alpha 0.33, below 0.4. Alpha without dee: 1.00." in shown
    assert "Reviewers disagree with each other" not in shown  # one warning, not two


def test_the_dialog_has_no_warning_when_reviewers_agree(web: TestClient) -> None:
    shown = text_of(
        web.post("/metrics/answer_helpfulness/align/preview", data=START, headers=HX).text
    )
    assert "Check your reviewers first." not in shown
