"""The rows an evaluation run could not score, with their errors, by the user's row ids:
the service, `rubricate evaluation-runs errors` and GET /evaluation-runs/{id}/errors
(issue 13: `evaluate` said "see the rows' errors" and nothing showed them)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from rubricate import Rubricate
from rubricate.api import create_app
from rubricate.cli import app as cli_app
from rubricate.demo import EVALUATION, build_demo
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.evaluation_runs import EvaluationRun
from rubricate.models import fake
from rubricate.store.tables import RowRecord

METRIC = "answer_helpfulness"
TOKEN = "t" * 32


@pytest.fixture
def failed_run(rb: Rubricate) -> Iterator[tuple[Rubricate, EvaluationRun]]:
    """The demo's 48 rows scored by a judge whose every third answer is not JSON."""
    build_demo(rb)
    replies = itertools.cycle(["not json at all", {"score": 4, "rationale": "ok"}, {"score": 2}])
    with fake.registered("flaky", lambda _call: next(replies)):
        run = rb.evaluate(metric=METRIC, evaluation=EVALUATION, model="fake:flaky", concurrency=1)
    assert run.rows_failed == 16
    yield rb, run


def in_file_order(rb: Rubricate) -> list[str]:
    with rb.db.read() as session:
        return list(session.scalars(select(RowRecord.external_id).order_by(RowRecord.position)))


def test_the_service_lists_failed_rows_in_the_evaluations_order(
    failed_run: tuple[Rubricate, EvaluationRun],
) -> None:
    rb, run = failed_run
    errors, total = rb.evaluation_runs.errors(run.id, limit=5)
    assert total == run.rows_failed == 16 and len(errors) == 5
    every, _ = rb.evaluation_runs.errors(run.id, limit=100)
    assert len(every) == 16 and all(e.error for e in every)
    order = in_file_order(rb)
    assert [e.row for e in every] == sorted((e.row for e in every), key=order.index)
    assert [e.row for e in errors] == [e.row for e in every[:5]]
    with pytest.raises(InvalidInput, match="limit"):
        rb.evaluation_runs.errors(run.id, limit=0)
    with pytest.raises(NotFound):
        rb.evaluation_runs.errors("no-such-run")


def test_the_cli_shows_them_and_the_summary_points_there(
    failed_run: tuple[Rubricate, EvaluationRun], database_url: str
) -> None:
    rb, run = failed_run
    runner = CliRunner(env={"RUBRICATE_DATABASE_URL": None, "COLUMNS": "200"})
    base = ["--database-url", database_url, "evaluation-runs"]
    shown = runner.invoke(cli_app, [*base, "show", run.id])
    assert f"see `rubricate evaluation-runs errors {run.id}`" in shown.stdout
    listed = runner.invoke(cli_app, [*base, "errors", run.id, "--limit", "3"])
    assert listed.exit_code == 0, listed.output
    first, _ = rb.evaluation_runs.errors(run.id, limit=3)
    assert all(e.row in listed.stdout for e in first)
    assert "and 13 more rows (--limit 16 lists them all)" in listed.stdout
    as_json = json.loads(runner.invoke(cli_app, [*base, "errors", run.id, "--json"]).stdout)
    assert as_json["total"] == 16 and len(as_json["rows"]) == 16
    bad = runner.invoke(cli_app, [*base, "errors", run.id, "--limit", "0"])
    assert bad.exit_code == 2 and "--limit" in bad.stderr


def test_the_api_returns_them(failed_run: tuple[Rubricate, EvaluationRun]) -> None:
    rb, run = failed_run
    app = create_app(rb, tokens={TOKEN: "ana"})
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        page = client.get(f"/api/v1/evaluation-runs/{run.id}/errors", params={"limit": 2})
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["total"] == 16
        assert [r["row"] for r in body["rows"]] == [
            e.row for e in rb.evaluation_runs.errors(run.id, limit=2)[0]
        ]
        assert client.get(f"/api/v1/evaluation-runs/{run.id}/errors?limit=0").status_code == 422
        assert client.get("/api/v1/evaluation-runs/nope/errors").status_code == 404
