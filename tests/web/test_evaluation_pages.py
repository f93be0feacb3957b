"""The evaluation pages in a TestClient: the list, an evaluation's page for one metric (picker,
figures, plot, rows paged and filtered), annotating a row, resolving it and applying a
policy; and the plot drawn on its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import SignIn, csrf_of

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.domain.scale import Scale
from rubricate.service.evaluation_reads import Point, RowFilter, RowView
from rubricate.testing.datasets import write_dataset_folder
from rubricate.web.pages import evaluations as pages
from rubricate.web.plots import default_delta, judge_vs_human

HELPFUL = "answer_helpfulness"  # 1-5, labelled points
POLICY = "policy_compliance"  # fail/pass
PAGE = f"/evaluations/{EVALUATION}"
HTMX = {"HX-Request": "true"}


def rows_on(html: str) -> list[str]:
    return re.findall(r'<tr class="erow[^"]*" data-row="([^"]+)"', html)


def stored(rb: Rubricate, metric: str, row: str) -> RowView:
    return rb.evaluation_reads.row(EVALUATION, metric, row)


# -- the list ----------------------------------------------------------------------------


def test_the_list_shows_each_evaluation_with_its_metrics(local: TestClient) -> None:
    response = local.get("/evaluations")
    assert response.status_code == 200
    html = response.text
    assert f'href="{PAGE}"' in html
    assert "imported" in html and ">48<" in html and "Completed" in html
    for metric in (HELPFUL, POLICY):
        assert f"?metric={metric}" in html
    assert "48 annotated by 3 reviewers" in html
    assert "46 resolved" in html  # the demo's majority policy leaves 2 helpfulness rows


def test_the_list_says_when_there_is_nothing(rb: Rubricate) -> None:
    from rubricate.web.app import create_server_app

    app = create_server_app(rb, single_user=True)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert "No evaluations yet" in client.get("/evaluations").text


# -- one evaluation ----------------------------------------------------------------------


def test_the_page_picks_a_metric_and_shows_figures_plot_and_rows(
    local: TestClient, demo: Rubricate
) -> None:
    html = local.get(PAGE).text
    assert re.search(r'aria-current="page">\s*answer_helpfulness', html)  # the first metric
    assert f"?metric={POLICY}" in html
    points = demo.evaluation_reads.points(EVALUATION, HELPFUL)
    assert len(points) == 46
    assert html.count('<circle class="agree"') + html.count('<circle class="disagree"') == 46
    off = sum(1 for p in points if abs(p.judge - p.human) >= 1)
    assert html.count('<circle class="disagree"') == off
    assert "Excellent" in html and "Harmful or useless" in html  # the scale's labels
    assert "Krippendorff" in html and "Exact agreement" in html and "Weighted kappa" in html
    assert rows_on(html) == [f"sb-{i:03d}" for i in range(1, 49)]
    assert "Rows 1–48 of 48" in html
    # the local admin sees the admin's controls
    assert "Apply policy" in html and 'name="value"' in html
    assert '<option value="mean"' in html  # a numeric scale


def test_figures_with_intervals_come_after_the_page(local: TestClient) -> None:
    html = local.get(PAGE, params={"metric": HELPFUL}).text
    assert f'hx-get="{PAGE}/figures?metric={HELPFUL}" hx-trigger="load"' in html
    figures = local.get(f"{PAGE}/figures", params={"metric": HELPFUL})
    assert figures.status_code == 200
    assert "95% bootstrap intervals" in figures.text and "hx-get" not in figures.text
    assert re.search(r"<b>50%</b><span[^>]*>\d+% to \d+%</span>", figures.text)


def test_rows_are_paged(local: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 20)
    first = local.get(PAGE, params={"metric": HELPFUL}).text
    assert rows_on(first)[0] == "sb-001" and len(rows_on(first)) == 20
    assert "page 1 of 3" in first and 'rel="next"' in first and 'rel="prev"' not in first
    last = local.get(PAGE, params={"metric": HELPFUL, "page": 3}).text
    assert rows_on(last) == [f"sb-{i:03d}" for i in range(41, 49)]
    assert "Rows 41–48 of 48" in last and 'rel="prev"' in last and 'rel="next"' not in last
    beyond = local.get(PAGE, params={"metric": HELPFUL, "page": 9}).text
    assert rows_on(beyond) == [] and "No rows here on page 9" in beyond
    assert local.get(PAGE, params={"page": 0}).status_code == 422


def test_filters_show_disagreeing_and_unresolved_rows(local: TestClient, demo: Rubricate) -> None:
    points = demo.evaluation_reads.points(EVALUATION, HELPFUL)
    off = [p.row for p in points if abs(p.judge - p.human) >= 1]
    html = local.get(PAGE, params={"metric": HELPFUL, "filter": "disagreeing"}).text
    assert rows_on(html) == off
    assert html.count('<tr class="erow off"') == len(off)
    assert f'Disagreeing <span class="count">{len(off)}</span>' in html
    unresolved = local.get(PAGE, params={"metric": HELPFUL, "filter": "unresolved"}).text
    views = demo.evaluation_reads.rows(EVALUATION, HELPFUL, limit=100)
    assert rows_on(unresolved) == [v.row.external_id for v in views if v.resolved is None]
    assert len(rows_on(unresolved)) == 2
    assert local.get(PAGE, params={"filter": "nonsense"}).status_code == 422


def test_a_label_scale_has_no_mean_policy(local: TestClient) -> None:
    html = local.get(PAGE, params={"metric": POLICY}).text
    assert '<option value="mean"' not in html
    assert '<option value="1">1 · pass</option>' in html
    refused = local.post(
        f"{PAGE}/resolve",
        data={"metric": POLICY, "policy": "mean", "csrf_token": csrf_of(local, PAGE)},
    )
    assert refused.status_code == 422
    assert "mean policy needs a numeric scale" in refused.text


def test_unknown_evaluation_or_metric_is_a_404_page(local: TestClient) -> None:
    missing = local.get("/evaluations/nope")
    assert missing.status_code == 404 and "no evaluation named" in missing.text
    other = local.get(PAGE, params={"metric": "helpfulness"})  # a metric with nothing here
    assert other.status_code == 404
    assert "no judge results or annotations for metric" in other.text


# -- annotating and resolving ------------------------------------------------------------


def test_a_reviewer_annotates_a_row_and_gets_that_row_back(
    sign_in: SignIn, accounts: Rubricate
) -> None:
    rex = sign_in("rex")
    html = rex.get(PAGE, params={"metric": HELPFUL}).text
    assert "Apply policy" not in html and 'name="value"' not in html  # no admin controls
    token = csrf_of(rex, PAGE)
    response = rex.post(
        f"{PAGE}/annotations",
        data={"row": "sb-003", "metric": HELPFUL, "score": "2", "comment": " Too short. "},
        headers={**HTMX, "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<tr") and "<html" not in response.text
    assert rows_on(response.text) == ["sb-003"]
    assert re.search(r'class="mine">\s*<span class="annotator">rex</span>', response.text)
    assert "2 · Poor" in response.text and "Too short." in response.text
    view = stored(accounts, HELPFUL, "sb-003")
    mine = view.review_of("rex")
    assert mine is not None and (mine.score, mine.comment) == (2.0, "Too short.")
    # again: the reviewer's annotation is replaced, not added; an empty comment is none
    again = rex.post(
        f"{PAGE}/annotations",
        data={"row": "sb-003", "metric": HELPFUL, "score": "4", "csrf_token": token},
    )
    assert again.status_code == 200 and '<option value="4" selected>' in again.text
    reviews = stored(accounts, HELPFUL, "sb-003").reviews
    assert [(r.annotator, r.score, r.comment) for r in reviews if r.annotator == "rex"] == [
        ("rex", 4.0, None)
    ]


def test_a_label_is_annotated_by_its_value(local: TestClient, demo: Rubricate) -> None:
    response = local.post(
        f"{PAGE}/annotations",
        data={"row": "sb-002", "metric": POLICY, "score": "0", "csrf_token": csrf_of(local)},
        headers=HTMX,
    )
    assert response.status_code == 200 and "0 · fail" in response.text
    mine = stored(demo, POLICY, "sb-002").review_of("local")
    assert mine is not None and mine.score == 0.0


def test_a_score_off_the_scale_is_an_alert_in_the_messages(
    local: TestClient, demo: Rubricate
) -> None:
    response = local.post(
        f"{PAGE}/annotations",
        data={"row": "sb-003", "metric": HELPFUL, "score": "9", "csrf_token": csrf_of(local)},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#messages"
    assert 'role="alert"' in response.text and "outside the scale" in response.text
    assert stored(demo, HELPFUL, "sb-003").review_of("local") is None
    unknown = local.post(
        f"{PAGE}/annotations",
        data={"row": "sb-999", "metric": HELPFUL, "score": "3", "csrf_token": csrf_of(local)},
        headers=HTMX,
    )
    assert unknown.status_code == 404 and "no row &#39;sb-999&#39;" in unknown.text


def test_an_admin_resolves_a_row(sign_in: SignIn, accounts: Rubricate) -> None:
    ada = sign_in("ada")
    html = ada.get(PAGE, params={"metric": HELPFUL}).text
    assert "Apply policy" in html
    response = ada.post(
        f"{PAGE}/resolutions",
        data={"row": "sb-003", "metric": HELPFUL, "value": "3"},
        headers={**HTMX, "X-CSRF-Token": csrf_of(ada, PAGE)},
    )
    assert response.status_code == 200 and rows_on(response.text) == ["sb-003"]
    assert "3 · Adequate" in response.text and "by ada" in response.text
    view = stored(accounts, HELPFUL, "sb-003")
    assert (view.resolved, view.resolved_by) == (3.0, "user:ada")


def test_an_admin_applies_a_policy_and_sees_its_report(local: TestClient, demo: Rubricate) -> None:
    local.post(
        f"{PAGE}/resolutions",
        data={"row": "sb-001", "metric": HELPFUL, "value": "4", "csrf_token": csrf_of(local)},
    )
    response = local.post(
        f"{PAGE}/resolve",
        data={
            "metric": HELPFUL,
            "policy": "median",
            "replace": "true",
            "csrf_token": csrf_of(local),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{PAGE}?metric={HELPFUL}"
    page = local.get(response.headers["location"]).text
    report = re.search(r'<div class="notice report".*?</div>', page, re.S)
    assert report, page
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", report.group(0)))
    assert "Applied the median policy (replacing earlier policies’ values) to 48" in text
    numbers = re.search(r"(\d+) resolved, (\d+) left unresolved for an admin, (\d+) kept", text)
    assert numbers, text
    resolved, left, kept = map(int, numbers.groups())
    assert kept == 1  # the admin's own decision: never replaced by a policy
    assert resolved + left + kept == 48
    assert stored(demo, HELPFUL, "sb-001").resolved_by == "user:local"
    views = demo.evaluation_reads.rows(EVALUATION, HELPFUL, limit=100)
    assert sum(1 for v in views if v.resolved_by == "policy:median") == resolved
    # the report is shown once
    assert "notice report" not in local.get(f"{PAGE}?metric={HELPFUL}").text


# -- an interval scale -------------------------------------------------------------------


@pytest.fixture
def interval(demo: Rubricate, tmp_path: Path) -> str:
    """An evaluation with one 0-1 criterion: three rows, judged, annotated, resolved."""
    manifest = {
        "name": "closeness",
        "task": "How close each answer is.",
        "criteria": [{"name": "closeness", "scale": {"type": "interval", "min": 0, "max": 1}}],
    }
    rows = [
        {
            "id": f"c{i}",
            "input": f"question {i}",
            "output": f"answer {i}",
            "annotations": {"closeness": [{"annotator": "ana", "score": human}]},
            "judge": {"closeness": {"score": judge, "model": "fake:judge"}},
        }
        for i, (judge, human) in enumerate([(0.9, 0.8), (0.2, 0.9), (0.5, 0.5)])
    ]
    demo.import_path(write_dataset_folder(tmp_path / "closeness", manifest, rows), "closeness")
    demo.annotations.resolve("closeness", "closeness", "mean")
    return "/evaluations/closeness"


def test_an_interval_scale_takes_numbers(local: TestClient, interval: str, demo: Rubricate) -> None:
    html = local.get(interval).text
    assert 'type="number" name="score"' in html and 'step="any"' in html
    assert html.count('<circle class="disagree"') == 1  # 0.2 vs 0.9: a quarter of the range
    assert "Weighted kappa" not in html  # no points to weigh
    response = local.post(
        f"{interval}/annotations",
        data={"row": "c0", "metric": "closeness", "score": "0.75", "csrf_token": csrf_of(local)},
        headers=HTMX,
    )
    assert response.status_code == 200 and "0.75" in response.text
    view = demo.evaluation_reads.row("closeness", "closeness", "c0")
    mine = view.review_of("local")
    assert mine is not None and mine.score == 0.75
    assert (
        demo.evaluation_reads.row_counts("closeness", "closeness", 0.25)[RowFilter.DISAGREEING] == 1
    )


# -- the plot ----------------------------------------------------------------------------


FIVE = Scale(type="ordinal", min=1, max=5, labels={1: "Bad", 5: "Great"})


def test_the_plot_escapes_text_and_keeps_its_dots_in_place() -> None:
    points = [Point("<script>alert(1)</script>", 5, 1), Point("r2", 3, 3)]
    svg = str(judge_vs_human(points, FIVE, delta=1, title="a <b> title"))
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "a &lt;b&gt; title" in svg
    assert svg.count('<circle class="disagree"') == 1 and svg.count('<circle class="agree"') == 1
    assert ">Great<" in svg and ">Bad<" in svg and "Judge score" in svg
    assert svg == str(judge_vs_human(points, FIVE, delta=1, title="a <b> title"))  # no random


def test_the_plot_thins_many_rows_and_says_so() -> None:
    points = [Point(f"r{i}", 1 + i % 5, 1 + i % 3) for i in range(2500)]
    svg = str(judge_vs_human(points, FIVE, delta=1))
    assert svg.count("<circle class=") == 2000 and "2,000 of 2,500 rows drawn" in svg
    assert "No row has both" in str(judge_vs_human([], FIVE, delta=1))


def test_the_default_delta_is_one_step_or_a_quarter_of_the_range() -> None:
    assert default_delta(FIVE) == 1
    assert default_delta(Scale(type="labels", labels={0: "fail", 1: "pass"})) == 1
    assert default_delta(Scale(type="interval", min=0, max=1)) == 0.25
