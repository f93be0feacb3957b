"""What a run's page shows a reviewer (issue 11, item 5): supporting rows by the user's
ids, each a link to the row's page, at most 8 then "and N more"; every guideline that
verification dropped with its reason; no Accept when there is nothing to accept; the
reason a run is unverified beside a confirming checkbox; the figures as whole-evaluation
estimates with the paired difference. And the row page the links lead to."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.testclient import TestClient
from tests.api.test_run_rows_api import run_on_demo_rows
from tests.service.test_accept_rules import DROPPED, run_with
from tests.web.run_pages_support import CONFIRM, HX, queue, raised, text_of, web

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.domain.alignment import Figure, Verification

CUSTOM = "answer_helpfulness"
__all__ = ["queue", "web"]  # fixtures from run_pages_support


def verified_with_rows(demo: Rubricate, **changes: object) -> tuple[str, dict[int, str]]:
    """A run of the demo's rows whose guidelines raised agreement; ``changes`` to its check."""
    return run_on_demo_rows(demo, raised(**changes))


def test_rows_are_the_users_ids_linked_to_their_pages(web: TestClient, demo: Rubricate) -> None:
    run_id, rows = verified_with_rows(demo)
    html = web.get(f"/alignment-runs/{run_id}").text
    ids = list(rows)
    links = re.findall(r'<a class="mono row-link" href="([^"]+)">([^<]+)</a>', html)
    assert [text for _, text in links[:8]] == [rows[i] for i in ids[:8]]
    assert links[0][0] == f"/evaluations/{EVALUATION}/row?id={rows[ids[0]]}&amp;metric={CUSTOM}"
    shown = text_of(html)
    assert f"{rows[ids[7]]} and 3 more" in shown
    assert "Dropped by verification (1)" in shown
    assert "Be stricter overall. lowered agreement on 9 of 14 rows it acted on" in shown
    assert f"rows {rows[ids[40]]}" in shown
    assert "estimate for the whole evaluation , from 120 held-out test rows drawn as a " in shown
    assert "after minus before on the same rows: +0.081 [95% interval +0.012 – +0.150]" in shown
    assert "the guidelines raised agreement" in shown
    assert "accept it anyway" not in shown and ">Accept</button>" in html  # verified: no box
    page = web.get(links[0][0].replace("&amp;", "&"))
    assert page.status_code == 200
    assert f'data-row="{rows[ids[0]]}"' in page.text and "Row" in page.text


def test_a_drop_is_said_and_accept_asks_for_confirmation(web: TestClient, demo: Rubricate) -> None:
    run_id, _ = verified_with_rows(
        demo,
        difference=Figure(value=-0.05, low=-0.1, high=0.01),
        raised=False,
        test_drop=True,
        warning="The chosen guidelines LOWERED agreement on the held-out test rows.",
    )
    html = web.get(f"/alignment-runs/{run_id}").text
    shown = text_of(html)
    assert "LOWERED agreement on the held-out test rows" in shown
    assert "the guidelines lowered agreement" in shown
    assert "Not verified: The held-out test rows show a drop in agreement" in shown
    assert re.search(r'name="confirm_unverified" value="1" required', html)
    refused = web.post(f"/alignment-runs/{run_id}/accept", headers=HX)
    assert refused.status_code == 409
    assert "Not accepted: this run is not verified (the held-out test rows" in text_of(refused.text)
    assert len(demo.metrics.versions(CUSTOM)) == 1
    accepted = web.post(f"/alignment-runs/{run_id}/accept", data=CONFIRM, headers=HX)
    assert accepted.status_code == 200 and len(demo.metrics.versions(CUSTOM)) == 2
    assert "accepted unverified, confirmed knowing that the held-out test rows show a drop" in (
        text_of(accepted.text)
    )


def test_no_accept_when_nothing_is_kept(web: TestClient, demo: Rubricate) -> None:
    run_id = run_with(demo, [], Verification(status="verified"), proposed=[DROPPED])
    html = web.get(f"/alignment-runs/{run_id}").text
    shown = text_of(html)
    assert "found no guideline to propose" not in shown
    assert "Verification put none of the 1 proposed guideline forward" in shown
    assert "Nothing to accept. Verification put none of run" in shown
    assert ">Accept</button>" not in html and ">Reject</button>" in html


def test_the_row_page_escapes_and_refuses_unknown_rows(web: TestClient, demo: Rubricate) -> None:
    missing = web.get(f"/evaluations/{EVALUATION}/row?id={quote('<b>x</b>/1')}")
    assert missing.status_code == 404
    assert "<b>x</b>" not in missing.text and "&lt;b&gt;x&lt;/b&gt;/1" in missing.text
    assert web.get("/evaluations/nope/row?id=sb-001").status_code == 404
    shown = web.get(f"/evaluations/{EVALUATION}/row?id=sb-001&metric={CUSTOM}")
    assert shown.status_code == 200 and 'data-row="sb-001"' in shown.text
    assert 'aria-current="page">answer_helpfulness<' in shown.text
