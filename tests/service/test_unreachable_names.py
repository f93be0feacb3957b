"""Issue 12: a name with ``/`` was accepted, then unreachable (404). Every way in refuses
it, naming the parameter, and changes nothing: Python here, the CLI in
tests/cli/test_cli_hostile.py, the API in tests/api/test_api_hostile_scales.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rubricate import Rubricate
from rubricate.demo import EVALUATION, build_demo
from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale
from rubricate.models import fake


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    with fake.registered("names", lambda _call: {"score": 3, "rationale": "r"}) as model:
        yield model


def rows_file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "r1", "input": "q", "output": "a"}\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["a/b", "..", "a\\b", "x\ny"])
def test_an_import_into_an_unreachable_evaluation_is_refused(
    rb: Rubricate, tmp_path: Path, name: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        rb.import_path(rows_file(tmp_path), name)
    assert caught.value.field == "evaluation"
    assert rb.evaluations.list() == []


def test_a_metric_name_with_a_slash_is_refused(rb: Rubricate) -> None:
    with pytest.raises(InvalidInput) as caught:
        rb.metrics.create("a/b", scale=Scale(type="ordinal", min=1, max=5), prompt="{{ output }}")
    assert caught.value.field == "name"


@pytest.mark.parametrize("run_id", ["a/b", "..", "a b"])
def test_an_unreachable_run_id_is_refused(
    rb: Rubricate, judge: fake.FakeModel, run_id: str
) -> None:
    build_demo(rb)
    metric = "answer_helpfulness"
    with pytest.raises(InvalidInput) as caught:
        rb.evaluate(metric=metric, evaluation=EVALUATION, model="fake:names", run_id=run_id)
    assert caught.value.field == "run_id"
    with pytest.raises(InvalidInput) as aligned:
        rb.alignment_runs.start(metric=metric, evaluations=[EVALUATION], delta=1, run_id=run_id)
    assert aligned.value.field == "run_id"
    assert rb.evaluation_runs.list() == [] and rb.alignment_runs.list(metric) == []
    assert judge.calls == []
