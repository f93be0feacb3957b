"""Reviewing and accepting an Aligned run in a TestClient: strike, restore and edit,
accept (admins only; custom: the next version, built-in: a fork; a stale base refused unless
merged), reject, refusals without a CSRF token or of a bad edit, and escaping.

Runs are carried out in this process (the offline engine) or given the result a worker would
have stored (tests/web/run_pages_support.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from tests.web.conftest import SignIn, csrf_of
from tests.web.run_pages_support import (
    BUILTIN,
    CONFIRM,
    CUSTOM,
    HX,
    aligned_with,
    carried_out,
    import_builtin,
    started,
    text_of,
)
from tests.web.run_pages_support import queue as queue  # the fixtures, as pytest finds them
from tests.web.run_pages_support import web as web

from rubricate import Rubricate
from rubricate.domain.metrics import VersionOrigin

# -- reviewing and accepting ----------------------------------------------------------------


def test_an_aligned_run_is_reviewed_and_accepted_as_the_next_version(
    web: TestClient, demo: Rubricate
) -> None:
    run_id = started(web)
    carried_out(demo, run_id)  # the offline engine, here
    html = web.get(f"/alignment-runs/{run_id}").text
    shown = text_of(html)
    assert "Aligned" in shown and "23 disagreements found" in shown
    assert "23 agreeing rows skipped" in shown
    assert "Not verified: no judge model was given" in shown
    assert "Accept makes these 3 guidelines version 2 of answer_helpfulness" in shown
    struck = web.post(f"/alignment-runs/{run_id}/guidelines/2/strike", headers=HX)
    assert struck.status_code == 200 and "<del>" in struck.text
    assert "these 2 guidelines" in text_of(struck.text)
    restored = web.post(f"/alignment-runs/{run_id}/guidelines/2/restore", headers=HX)
    assert "<del>" not in restored.text
    edited = web.post(
        f"/alignment-runs/{run_id}/guidelines/1/edit",
        data={"text": "Score answers that break policy 1 or 2."},
        headers=HX,
    )
    assert edited.status_code == 200 and "Score answers that break policy 1 or 2." in edited.text
    assert ">edited<" in edited.text
    accepted = web.post(f"/alignment-runs/{run_id}/accept", data=CONFIRM, headers=HX)
    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["HX-Trigger"] == "runs-changed, metric-changed"
    assert "answer_helpfulness</b> version 2" in accepted.text
    version = demo.metrics.version(CUSTOM)
    assert (version.number, version.origin, version.source_run_id) == (
        2,
        VersionOrigin.ALIGNMENT,
        run_id,
    )
    assert "- Score answers that break policy 1 or 2." in version.guidelines
    again = web.post(f"/alignment-runs/{run_id}/accept", data=CONFIRM, headers=HX)
    assert again.status_code == 200 and len(demo.metrics.versions(CUSTOM)) == 2
    assert ">Accept</button>" not in again.text  # accepted: no more decisions
    page = web.get(f"/metrics/{CUSTOM}").text
    assert f'href="/alignment-runs/{run_id}"' in page and "accepted from" in page


def test_accepting_on_a_builtin_metric_forks_it(
    web: TestClient, demo: Rubricate, tmp_path: Path
) -> None:
    import_builtin(demo, tmp_path)
    run_id = aligned_with(demo, "Do not reward refunds against policy.", metric=BUILTIN)
    shown = text_of(web.get(f"/alignment-runs/{run_id}").text)
    assert "creates a new custom metric, helpfulness-aligned" in shown
    assert "The built-in helpfulness stays unchanged" in shown
    accepted = web.post(f"/alignment-runs/{run_id}/accept", data=CONFIRM)  # a plain form post
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/alignment-runs/{run_id}"
    fork = demo.metrics.get("helpfulness-aligned")
    assert not fork.is_builtin and demo.metrics.version("helpfulness-aligned").number == 1
    assert "helpfulness-aligned</b> version 1" in web.get(f"/alignment-runs/{run_id}").text
    page = web.get("/metrics/helpfulness-aligned").text
    assert "Forked from" in page and "forked from" in page
    assert len(demo.metrics.versions(BUILTIN)) == 1


def test_a_stale_base_is_refused_and_offers_a_merge(web: TestClient, demo: Rubricate) -> None:
    first = aligned_with(demo, "Penalise refunds against policy.")
    second = aligned_with(demo, "Reward short answers.")
    assert web.post(f"/alignment-runs/{first}/accept", data=CONFIRM, headers=HX).status_code == 200
    page = text_of(web.get(f"/alignment-runs/{second}").text)
    assert "version 2 is active now" in page and "Accept and merge" in page
    refused = web.post(f"/alignment-runs/{second}/accept", data=CONFIRM, headers=HX)
    assert refused.status_code == 409
    assert "another run was accepted or a version was added meanwhile" in refused.text
    assert ">Accept and merge</button>" in refused.text
    assert len(demo.metrics.versions(CUSTOM)) == 2
    merged = web.post(
        f"/alignment-runs/{second}/accept", data={**CONFIRM, "merge": "1"}, headers=HX
    )
    assert merged.status_code == 200 and "merged with the version that was active" in merged.text
    newest = demo.metrics.version(CUSTOM)
    assert newest.number == 3
    assert "Penalise refunds" in newest.guidelines and "Reward short answers" in newest.guidelines


def test_a_reviewer_reviews_but_cannot_accept_or_reject(
    sign_in: SignIn, accounts: Rubricate
) -> None:
    run_id = aligned_with(accounts, "Penalise refunds against policy.")
    rex = sign_in("rex")
    token = csrf_of(rex)
    html = rex.get(f"/alignment-runs/{run_id}").text
    assert "Only an admin can accept or reject" in html
    assert ">Accept</button>" not in html and ">Reject</button>" not in html
    for action in ("accept", "reject"):
        refused = rex.post(f"/alignment-runs/{run_id}/{action}", data={"csrf_token": token})
        assert refused.status_code == 403, action
        assert "only an admin" in refused.text
    run = accounts.alignment_runs.get(run_id)
    assert run.result is not None and run.result.review.decision is None
    assert len(accounts.metrics.versions(CUSTOM)) == 1
    struck = rex.post(f"/alignment-runs/{run_id}/guidelines/1/strike", data={"csrf_token": token})
    assert struck.status_code == 303  # reviewers may strike and edit
    ada = sign_in("ada")
    rejected = ada.post(
        f"/alignment-runs/{run_id}/reject", data={"csrf_token": csrf_of(ada)}, headers=HX
    )
    assert rejected.status_code == 200 and "Rejected by ada" in rejected.text


def test_review_without_csrf_token_changes_nothing(web: TestClient, demo: Rubricate) -> None:
    run_id = aligned_with(demo, "Penalise refunds against policy.")
    del web.headers["X-CSRF-Token"]
    for action in ("accept", "reject", "guidelines/1/strike", "cancel"):
        assert web.post(f"/alignment-runs/{run_id}/{action}").status_code == 403, action
    run = demo.alignment_runs.get(run_id)
    assert run.result is not None and run.result.review.decision is None
    assert run.result.review.edits == []


def test_reject_then_accept_is_refused(web: TestClient, demo: Rubricate) -> None:
    run_id = aligned_with(demo, "Penalise refunds against policy.")
    rejected = web.post(f"/alignment-runs/{run_id}/reject", headers=HX)
    assert rejected.status_code == 200 and "Rejected by local" in rejected.text
    refused = web.post(f"/alignment-runs/{run_id}/accept", data=CONFIRM, headers=HX)
    assert refused.status_code == 409 and "was rejected" in refused.text
    assert len(demo.metrics.versions(CUSTOM)) == 1


def test_a_bad_edit_is_refused(web: TestClient, demo: Rubricate) -> None:
    run_id = aligned_with(demo, "Penalise refunds against policy.")
    empty = web.post(f"/alignment-runs/{run_id}/guidelines/1/edit", data={"text": " "}, headers=HX)
    assert empty.status_code == 422 and "must not be empty" in empty.text
    unknown = web.post(f"/alignment-runs/{run_id}/guidelines/9/strike", headers=HX)
    assert unknown.status_code == 422 and "has no guideline 9" in unknown.text


def test_guidelines_and_errors_are_escaped(web: TestClient, demo: Rubricate) -> None:
    attack = "<script>alert('x')</script> & <b>bold</b>"
    run_id = aligned_with(demo, attack)
    for url in (f"/alignment-runs/{run_id}", f"/metrics/{CUSTOM}/runs?open={run_id}"):
        html = web.get(url).text
        assert "<script>alert" not in html and "<b>bold</b>" not in html
        assert (
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
        )
    edited = web.post(
        f"/alignment-runs/{run_id}/guidelines/1/edit",
        data={"text": "<img src=x onerror=alert(1)>"},
        headers=HX,
    )
    assert "<img src=x" not in edited.text and "&lt;img src=x onerror=alert(1)&gt;" in edited.text
