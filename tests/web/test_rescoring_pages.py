"""Re-scoring from a metric version's page (TestClient): the form's estimate shows calls,
tokens and cost and changes nothing; Start records the evaluation run and queues it on
the workers' real queue (no worker here, so it stays queued), then its page follows it;
a reviewer may not start one (403) but may compare; the comparison page shows both
versions' agreement with the resolved human scores side by side."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.service.comparison_support import METRIC, add_v2_results
from tests.web.conftest import SignIn, csrf_of, single_user

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.models import fake
from rubricate.runs import queue as run_queue

PAGE = f"/metrics/{METRIC}"
RESCORE = f"{PAGE}/versions/1/rescore"


@pytest.fixture
def web(demo: Rubricate) -> Iterator[TestClient]:
    """Single-user (the local admin), on the workers' real queue with no worker."""
    with single_user(demo) as client:
        yield client


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    with fake.registered("judge", lambda call: {"score": 3, "rationale": "fine"}) as model:
        yield model


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def queued_workflows(rb: Rubricate, run_id: str) -> list[str]:
    client = run_queue._client(rb.settings)
    try:
        found = client.list_workflows(workflow_id_prefix=run_id, load_input=False)
        return [w.workflow_id for w in found if w.status == "ENQUEUED"]
    finally:
        client.destroy()


def test_every_version_offers_re_scoring_and_the_comparison(
    web: TestClient, demo: Rubricate
) -> None:
    add_v2_results(demo)
    body = web.get(PAGE).text
    assert (
        f'href="{PAGE}/versions/1/rescore"' in body and f'href="{PAGE}/versions/2/rescore"' in body
    )
    assert f'href="{PAGE}/compare"' in body


def test_the_estimate_shows_calls_tokens_and_cost_and_changes_nothing(
    web: TestClient, demo: Rubricate, judge: fake.FakeModel
) -> None:
    form = web.get(RESCORE)
    assert (
        form.status_code == 200 and "Estimate" in form.text and "Start re-scoring" not in form.text
    )
    query = {"evaluation": EVALUATION, "model": "fake:judge", "max_calls": "10"}
    estimated = web.get(RESCORE, params=query)
    assert estimated.status_code == 200, estimated.text
    shown = text_of(estimated.text)
    assert re.search(r'data-estimate="calls">48<', estimated.text)
    assert re.search(r'data-estimate="cost">unknown<', estimated.text)  # the fake has no price
    assert "Prompt tokens" in shown and "Start re-scoring" in shown
    assert "the cap of 10 calls stops it after about 10 rows" in shown
    assert demo.evaluation_runs.list() == [] and judge.calls == []


def test_a_problem_is_shown_on_the_form(web: TestClient, demo: Rubricate) -> None:
    shown = text_of(web.get(RESCORE, params={"evaluation": "nope", "model": "fake:judge"}).text)
    assert "no evaluation named 'nope'" in shown and "Start re-scoring" not in shown
    shown = text_of(
        web.get(
            RESCORE, params={"evaluation": EVALUATION, "model": "fake:judge", "max_calls": "ten"}
        ).text
    )
    assert "'ten' is not a number of calls" in shown


def test_start_queues_the_run_for_a_worker_and_its_page_follows_it(
    web: TestClient, demo: Rubricate, judge: fake.FakeModel
) -> None:
    form = {"evaluation": EVALUATION, "model": "fake:judge", "max_calls": "30", "max_cost": ""}
    started = web.post(RESCORE, data=form)
    assert started.status_code == 303, started.text
    (run,) = demo.evaluation_runs.list()
    assert started.headers["location"] == f"/evaluation-runs/{run.id}"
    assert run.params == {
        "metric": f"{METRIC}@1",
        "temperature": 0.0,
        "seed": None,
        "max_calls": 30,
    }
    assert run.status.value == "pending" and judge.calls == []  # a worker scores it
    assert queued_workflows(demo, run.id) == [run.id]
    page = web.get(f"/evaluation-runs/{run.id}")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Scoring support-bot-demo with answer_helpfulness v1" in shown
    assert "0 / 48" in shown and "no worker is alive" in shown and "30 calls" in shown
    assert 'hx-trigger="every 2s"' in page.text  # polls while in flight


def test_a_refused_start_stays_on_the_form(
    web: TestClient, demo: Rubricate, judge: fake.FakeModel
) -> None:
    form = {"evaluation": EVALUATION, "model": "fake:judge", "max_cost": "2"}
    refused = web.post(RESCORE, data=form)
    assert refused.status_code == 422
    assert "price of fake:judge is unknown" in text_of(refused.text)
    assert demo.evaluation_runs.list() == []


def test_a_reviewer_cannot_re_score_but_can_compare(sign_in: SignIn, accounts: Rubricate) -> None:
    v2 = add_v2_results(accounts)
    rex = sign_in("rex")
    assert "Re-score an evaluation" not in rex.get(PAGE).text
    token = csrf_of(rex, PAGE)
    assert rex.get(RESCORE, params={"evaluation": EVALUATION}).status_code == 403
    refused = rex.post(RESCORE, data={"evaluation": EVALUATION, "csrf_token": token})
    assert refused.status_code == 403 and "only an admin can do this" in refused.text
    assert accounts.evaluation_runs.list() == []
    compared = rex.get(f"{PAGE}/compare", params={"evaluation": EVALUATION, "a": 1, "b": v2})
    assert compared.status_code == 200


def test_the_comparison_shows_both_versions_side_by_side(web: TestClient, demo: Rubricate) -> None:
    v2 = add_v2_results(demo)
    found = demo.version_comparison.compare(METRIC, EVALUATION, 1, v2)
    body = web.get(f"{PAGE}/compare", params={"evaluation": EVALUATION}).text  # the newest two
    shown = text_of(body)
    assert f"{METRIC} v1 vs v{v2} on {EVALUATION}" in shown
    assert f"On the {found.rows} rows both versions scored" in shown
    row = re.search(r'data-figure="Weighted kappa">(.*?)</tr>', body, re.S)
    assert row is not None
    kappas = re.findall(r"<b>([^<]+)</b>", row.group(1))
    assert kappas == [f"{found.a.figures.kappa.value:.2f}", f"{found.b.figures.kappa.value:.2f}"]
    assert "95% bootstrap intervals" in shown
    empty = text_of(
        web.get(f"{PAGE}/compare", params={"evaluation": EVALUATION, "a": 1, "b": 1}).text
    )
    assert "choose two different versions" in empty


def test_with_one_version_scored_the_page_says_what_to_do(web: TestClient, demo: Rubricate) -> None:
    shown = text_of(web.get(f"{PAGE}/compare", params={"evaluation": EVALUATION}).text)
    assert "Fewer than two versions have scores" in shown and "re-score with v1" in shown
