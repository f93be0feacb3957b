"""A batch of results written twice counts once (issue 12, major 2: a worker paused in the
middle of writing a batch committed it after thawing, the run's new owner had scored the
same rows, and the run's rows_done, counted up per write, reached its total 8 rows early:
those rows were never scored)."""

from __future__ import annotations

from sqlalchemy import select

from rubricate import Rubricate
from rubricate.demo import EVALUATION, build_demo
from rubricate.models import cost, fake
from rubricate.service.row_scoring import RowScoring
from rubricate.store.tables import RowRecord, utcnow

METRIC = "answer_helpfulness"


def test_a_batch_saved_twice_counts_its_rows_once(rb: Rubricate) -> None:
    build_demo(rb)
    with fake.registered("judge", lambda _call: {"score": 3, "rationale": "r"}):
        run = rb.evaluation_runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
    with rb.db.read() as session:
        rows = list(session.scalars(select(RowRecord.id).order_by(RowRecord.position).limit(8)))
    version = rb.metrics.version(METRIC)
    results = [
        {
            "row_id": row,
            "metric_version_id": version.id,
            "evaluation_run_id": run.id,
            "judge_model": "fake:judge",
            "score": 3.0 if i % 4 else None,
            "error": None if i % 4 else "the judge's answer is not JSON",
            "created_at": utcnow(),
        }
        for i, row in enumerate(rows)
    ]
    paid = cost.Tally()
    paid.add(10, 2, None, cached=False, attempts=1)
    scoring = RowScoring(rb.db, rb.settings)
    scoring._save(run.id, results, paid)  # the paused worker's write, committed late
    scoring._save(run.id, results[4:], paid)  # the new owner's, of rows it also scored
    after = rb.evaluation_runs.get(run.id)
    assert (after.rows_done, after.rows_failed) == (8, 2)  # not 12 and 3
    assert after.calls == 2  # both paid for their calls: each request counts once
