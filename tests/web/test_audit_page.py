"""The audit log's page: an admin sees who changed what (a pin made on the metric's page,
under their name), filters by action and pages through it, and downloads it as JSON
lines; a detail's text is escaped; reviewers neither see the link nor open the page."""

from __future__ import annotations

import json
import re

from tests.web.conftest import SignIn, csrf_of

from rubricate import Rubricate
from rubricate.domain.audit import AuditAction
from rubricate.store.audit import record_event

METRIC = "answer_helpfulness"
HOSTILE = '<script>alert("x")</script>'


def rows_of(html: str) -> list[str]:
    return re.findall(r'<tr data-event="\d+">(.*?)</tr>', html, re.S)


def test_an_admin_sees_a_change_made_on_the_web_under_their_name(sign_in: SignIn) -> None:
    ada = sign_in("ada")
    token = csrf_of(ada, f"/metrics/{METRIC}")
    pinned = ada.post(f"/metrics/{METRIC}/pin", data={"version": "1", "csrf_token": token})
    assert pinned.status_code == 303, pinned.text
    page = ada.get("/audit")
    assert page.status_code == 200
    assert '<a href="/audit" aria-current="page">Audit log</a>' in page.text
    for heading in ("When", "Who", "Action", "What", "Details"):
        assert f"<th>{heading}</th>" in page.text
    newest = rows_of(page.text)[0]  # newest first
    assert "<td>ada</td>" in newest and "version.pinned" in newest
    assert f"metric {METRIC}" in newest and "version=1" in newest
    assert 'href="/audit/export"' in page.text and "Download (JSON lines)" in page.text


def test_a_reviewer_gets_403_and_no_link(sign_in: SignIn) -> None:
    rex = sign_in("rex")
    assert 'href="/audit"' not in rex.get("/metrics").text
    for path in ("/audit", "/audit/export"):
        answer = rex.get(path)
        assert answer.status_code == 403
        assert "only an admin can do this" in answer.text
        assert "text/html" in answer.headers["content-type"]  # the error page, not data


def test_detail_text_is_escaped(sign_in: SignIn, accounts: Rubricate) -> None:
    with accounts.db.write() as session:
        record_event(
            session,
            "ben",
            AuditAction.GUIDELINE_EDITED,
            f"run {HOSTILE}",
            guideline=1,
            text=HOSTILE,
        )
    html = sign_in("ada").get("/audit").text
    assert HOSTILE not in html and "<script>alert" not in html
    newest = rows_of(html)[0]
    assert "guideline=1" in newest and "text=&#34;&lt;script&gt;alert(" in newest


def test_filter_pages_and_download(sign_in: SignIn, accounts: Rubricate) -> None:
    with accounts.db.write() as session:
        for number in range(60):
            record_event(session, "bot", AuditAction.ROW_SENT_BACK, "queue q", row=f"r{number}")
    ada = sign_in("ada")
    first = ada.get("/audit", params={"action": "row.sent_back"}).text
    assert len(rows_of(first)) == 50 and "r59" in rows_of(first)[0]
    assert 'href="/audit?action=row.sent_back&amp;page=2"' in first
    assert '<option value="row.sent_back" selected>' in first
    second = ada.get("/audit", params={"action": "row.sent_back", "page": 2}).text
    assert len(rows_of(second)) == 10 and "r0" in rows_of(second)[-1]
    beyond = ada.get("/audit", params={"action": "row.sent_back", "page": 9}).text
    assert rows_of(beyond) == rows_of(second)  # past the end: the last page
    assert ada.get("/audit", params={"action": "bogus"}).status_code == 422

    download = ada.get("/audit/export")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in download.headers["content-disposition"]
    events = [json.loads(line) for line in download.text.splitlines()]
    sent_back = [e["detail"]["row"] for e in events if e["action"] == "row.sent_back"]
    assert sent_back == [f"r{n}" for n in range(60)]  # oldest first
