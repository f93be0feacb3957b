"""A slow loop hidden behind a row's metadata passes the creation check, then met a row
that takes it: it blocked the run's event loop, and cancel could not stop it (issue 12).
Every render is on a budget now: that row gets an error, the others are scored, and the
run completes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.service.test_evaluation_runs import results

from rubricate import Rubricate
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.domain.scale import Scale
from rubricate.models import fake

HIDDEN = (
    "Score {{ output }} for {{ input }} from 1 to 5.\n"
    "{% if metadata and metadata['slow'] %}"
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    "{% endif %}"
)


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    with fake.registered("judge", lambda call: {"score": 3, "rationale": "ok"}) as model:
        yield model


def test_a_slow_loop_behind_a_rows_metadata_fails_that_row_not_the_run(
    rb: Rubricate, judge: fake.FakeModel, tmp_path: Path
) -> None:
    (tmp_path / "dataset.json").write_text(json.dumps({"name": "slow", "criteria": []}))
    rows = [
        {"id": f"t{i}", "input": f"Question {i}?", "output": f"Answer {i}."}
        | ({"metadata": {"slow": True}} if i % 8 == 3 else {})
        for i in range(24)
    ]
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    (tmp_path / "rows.jsonl").write_text(lines, encoding="utf-8")
    rb.import_path(tmp_path, "slow")
    rb.metrics.create("hidden", scale=Scale(type="ordinal", min=1.0, max=5.0), prompt=HIDDEN)
    began = time.monotonic()
    run = rb.evaluate(metric="hidden", evaluation="slow", model="fake:judge")
    assert time.monotonic() - began < 60
    assert run.status is EvaluationRunStatus.COMPLETED
    stored = results(rb, run.id)
    assert len(stored) == run.rows_total == 24
    failed = [r for r in stored if r.error is not None]
    assert failed and len(failed) == 3
    assert all("too much work" in (r.error or "") for r in failed)
    assert len(judge.calls) == 21


def test_a_run_of_slow_rows_stops_soon_when_cancelled(
    rb: Rubricate, judge: fake.FakeModel, tmp_path: Path
) -> None:
    """Every row takes its template's whole budget (a doubling macro, about a second): the
    cancel is seen at the next row, not when the page of rows is done."""
    (tmp_path / "dataset.json").write_text(json.dumps({"name": "slow-all", "criteria": []}))
    rows = [
        {"id": f"t{i}", "input": f"Q {i}?", "output": f"A {i}.", "metadata": {"slow": True}}
        for i in range(64)
    ]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    rb.import_path(tmp_path, "slow-all")
    macro = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
    prompt = (
        macro + "Score {{ output }}.{% if metadata and metadata['slow'] %}{{ f(40) }}{% endif %}"
    )
    rb.metrics.create("greedy", scale=Scale(type="ordinal", min=1.0, max=5.0), prompt=prompt)
    run = rb.evaluation_runs.start(metric="greedy", evaluation="slow-all", model="fake:judge")
    thread = threading.Thread(target=rb.evaluation_runs.run, args=(run.id,))
    thread.start()
    time.sleep(1.5)
    rb.evaluation_runs.cancel(run.id)
    cancelled = time.monotonic()
    thread.join(60)
    stopped_after = time.monotonic() - cancelled
    assert stopped_after < 15, stopped_after
    final = rb.evaluation_runs.get(run.id)
    assert final.status is EvaluationRunStatus.CANCELLED
    assert final.rows_done < 64
