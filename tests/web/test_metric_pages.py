"""A metric's page in a TestClient: its facts and versions, Edit prompt (a new version by
hand), making a version active (roll back) and following the newest again, the diff of two
versions, and the Alignment section's run history (an htmx fragment that polls itself
while a run is in flight)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.web.run_pages_support import START, aligned_with, carried_out, text_of
from tests.web.run_pages_support import queue as queue  # the fixtures, as pytest finds them
from tests.web.run_pages_support import web as web

from rubricate import Rubricate
from rubricate.domain.metrics import VersionOrigin

CUSTOM = "answer_helpfulness"
BUILTIN = "helpfulness"
HX = {"HX-Request": "true"}
PROMPT = "Score {{ output }} for {{ input }}.\n{{ guidelines }}\nScale: {{ scale }}"


def test_a_custom_metric_page(web: TestClient) -> None:
    response = web.get(f"/metrics/{CUSTOM}")
    assert response.status_code == 200
    html = response.text
    shown = text_of(html)
    assert "answer_helpfulness custom" in shown
    assert "How well the answer solves the customer" in shown
    assert "v1 active made by an import, for the judge scores it brought" in shown
    assert "Prompt and guidelines of v1" in html and "Edit prompt" in html
    assert 'name="csrf_token"' in html
    assert "Alignment" in html and ">Start Alignment</button>" in html
    assert f'hx-get="/metrics/{CUSTOM}/align" hx-target="#dialog"' in html
    assert "No alignment runs yet" in html
    assert "every 1s" not in html  # nothing in flight: the history does not poll


def test_a_builtin_metric_page(web: TestClient) -> None:
    html = web.get(f"/metrics/{BUILTIN}").text
    shown = text_of(html)
    assert "helpfulness built-in" in shown and "never modified" in shown
    assert "shipped with rubricate" in shown
    assert "Edit prompt" not in html and "Make active" not in html
    assert ">Start Alignment</button>" in html


def test_unknown_metrics_are_404(web: TestClient) -> None:
    for url in ("/metrics/nope", "/metrics/nope/runs", "/metrics/nope/diff?a=1&b=1"):
        response = web.get(url)
        assert response.status_code == 404, url
        assert "no metric named" in response.text
    fragment = web.get("/metrics/nope/runs", headers=HX)
    assert fragment.status_code == 404 and fragment.headers["HX-Retarget"] == "#messages"
    assert web.post("/metrics/nope/versions", data={"prompt": PROMPT}).status_code == 404
    assert web.post("/metrics/nope/pin", data={"version": "1"}).status_code == 404
    assert web.get(f"/metrics/{CUSTOM}/diff?a=1&b=7").status_code == 404


def test_edit_prompt_makes_the_next_version(web: TestClient, demo: Rubricate) -> None:
    made = web.post(
        f"/metrics/{CUSTOM}/versions", data={"prompt": PROMPT, "guidelines": "- Be strict."}
    )
    assert made.status_code == 303 and made.headers["location"] == f"/metrics/{CUSTOM}#versions"
    version = demo.metrics.version(CUSTOM)
    assert (version.number, version.origin, version.guidelines) == (
        2,
        VersionOrigin.MANUAL,
        "- Be strict.",
    )
    shown = text_of(web.get(f"/metrics/{CUSTOM}").text)
    assert "v2 active written by hand" in shown and "from v1" in shown
    by_htmx = web.post(f"/metrics/{CUSTOM}/versions", data={"prompt": PROMPT}, headers=HX)
    assert by_htmx.status_code == 204 and by_htmx.headers["HX-Redirect"].endswith("#versions")
    assert demo.metrics.version(CUSTOM).number == 3


def test_edit_prompt_refusals_change_nothing(web: TestClient, demo: Rubricate) -> None:
    bad = web.post(f"/metrics/{CUSTOM}/versions", data={"prompt": "{{ nope }}"}, headers=HX)
    assert bad.status_code == 422 and "unknown variable &#39;nope&#39;" in bad.text
    assert bad.headers["HX-Retarget"] == "#messages"
    assert web.post(f"/metrics/{CUSTOM}/versions", data={"prompt": " "}).status_code == 422
    builtin = web.post(f"/metrics/{BUILTIN}/versions", data={"prompt": PROMPT})
    assert builtin.status_code == 409 and "never modified" in builtin.text
    del web.headers["X-CSRF-Token"]
    forged = web.post(
        f"/metrics/{CUSTOM}/versions", data={"prompt": PROMPT, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert web.post(f"/metrics/{CUSTOM}/pin", data={"version": "1"}).status_code == 403
    assert len(demo.metrics.versions(CUSTOM)) == 1
    assert len(demo.metrics.versions(BUILTIN)) == 1


def test_roll_back_and_follow_the_newest(web: TestClient, demo: Rubricate) -> None:
    demo.metrics.add_version(CUSTOM, prompt=PROMPT)
    html = web.get(f"/metrics/{CUSTOM}").text
    assert ">Make active</button>" in html
    rolled = web.post(f"/metrics/{CUSTOM}/pin", data={"version": "1"})
    assert rolled.status_code == 303
    assert demo.metrics.version(CUSTOM).number == 1
    shown = text_of(web.get(f"/metrics/{CUSTOM}").text)
    assert "v1 (pinned)" in shown and "Follow newest" in shown
    assert web.post(f"/metrics/{CUSTOM}/pin", data={"version": "9"}).status_code == 422
    assert web.post(f"/metrics/{CUSTOM}/pin", data={"version": "x"}).status_code == 422
    assert web.post(f"/metrics/{BUILTIN}/pin", data={"version": "1"}).status_code == 409
    web.post(f"/metrics/{CUSTOM}/pin", data={"version": ""})
    assert demo.metrics.version(CUSTOM).number == 2
    assert "v2 (the newest)" in text_of(web.get(f"/metrics/{CUSTOM}").text)


def test_diff_of_two_versions(web: TestClient, demo: Rubricate) -> None:
    old = demo.metrics.version(CUSTOM)
    demo.metrics.add_version(CUSTOM, prompt=old.prompt, guidelines="- Never <b>reward</b> length.")
    fragment = web.get(f"/metrics/{CUSTOM}/diff", params={"a": 1, "b": 2}, headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "v1 → v2" in fragment.text
    assert '<span class="d-file">--- answer_helpfulness@1/guidelines</span>' in fragment.text
    assert '<span class="d-add">+- Never &lt;b&gt;reward&lt;/b&gt; length.</span>' in fragment.text
    assert "No difference." in fragment.text  # the prompt is the same
    page = web.get(f"/metrics/{CUSTOM}/diff", params={"a": 1, "b": 2})
    assert "<html" in page.text and "d-add" in page.text
    assert web.get(f"/metrics/{CUSTOM}/diff", params={"a": 0, "b": 2}).status_code == 422
    assert 'hx-get="/metrics/answer_helpfulness/diff"' in web.get(f"/metrics/{CUSTOM}").text


def test_the_run_history_is_newest_first_and_polls_while_a_run_is_in_flight(
    web: TestClient, demo: Rubricate
) -> None:
    done = aligned_with(demo, "Penalise refunds against policy.")
    empty = web.get(f"/metrics/{CUSTOM}/runs", headers=HX)
    assert empty.status_code == 200 and "every 1s" not in empty.text
    started = web.post(
        f"/metrics/{CUSTOM}/align", data={**START, "run_id": "in-flight"}, headers=HX
    )
    assert started.status_code == 200
    history = web.get(f"/metrics/{CUSTOM}/runs", headers=HX)
    html = history.text
    assert 'hx-trigger="runs-changed from:body, every 1s"' in html
    ids = re.findall(r'data-run-id="([^"]+)"', html)
    assert ids == ["in-flight", done]
    shown = text_of(html)
    assert "Pending" in shown and "from support-bot-demo" in shown and "Cancel" in shown
    assert "1 guideline · 23 disagreements found · 23 agreeing rows skipped" in shown
    assert "ready to review" in shown
    assert f'hx-get="/alignment-runs/{done}/panel?embedded=1"' in html
    carried_out(demo, "in-flight")
    settled = web.get(f"/metrics/{CUSTOM}/runs").text
    assert "every 1s" not in settled and "Pending" not in settled


def test_expanded_runs_stay_expanded_when_the_history_refreshes(
    web: TestClient, demo: Rubricate
) -> None:
    run_id = aligned_with(demo, "Penalise refunds against policy.")
    html = web.get(f"/metrics/{CUSTOM}/runs", params={"open": run_id}).text
    assert f'data-run="{run_id}" open' in html
    assert "Penalise refunds against policy." in html and ">Accept</button>" in html
    assert 'name="embedded" value="1"' in html  # its actions answer with the embedded panel
    closed = web.get(f"/metrics/{CUSTOM}/runs").text
    assert ">Accept</button>" not in closed
