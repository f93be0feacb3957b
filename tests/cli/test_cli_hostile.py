"""Issue 12 through the CLI: hostile input is refused with exit 2, naming the parameter
(or file, line and field), and creates nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tests.alignment.alignment_support import EVALUATION, METRIC, write_dataset

from rubricate import NotFound
from rubricate.models import fake
from rubricate.service.alignment_runs import AlignmentRunService

if TYPE_CHECKING:
    from conftest import Cli


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--scale", "0-10000000"], "--scale"),
        (["--scale-json", '{"type": "ordinal", "min": 0, "max": 1e12}'], "--scale-json"),
    ],
)
def test_a_scale_too_wide_is_refused(
    cli: Cli, prompt: Path, options: list[str], named: str
) -> None:
    stderr = cli.fails("metrics", "create", "wide", "--prompt-file", str(prompt), *options)
    assert named in stderr and "at most 101 points" in stderr
    with cli.workspace() as rb, pytest.raises(NotFound):
        rb.metrics.get("wide")


def test_an_import_with_a_scale_too_wide_is_refused(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "wide"
    folder.mkdir()
    manifest = {"name": "wide", "criteria": [{"name": "wide", "scale": {"min": 0, "max": 1e12}}]}
    (folder / "dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "rows.jsonl").write_text('{"id": "r1", "input": "q", "output": "a"}\n')
    stderr = cli.fails("import", str(folder), "--evaluation", "wide")
    assert "dataset.json:1" in stderr and "criteria[0].scale.max" in stderr
    with cli.workspace() as rb:
        assert rb.evaluations.list() == []


# --- names that would be unreachable (issue 12: `--run-id 'a/b'` skipped the API's rule) --


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    with fake.registered("cli-hostile", lambda _call: {"score": 3, "rationale": "r"}) as model:
        yield model


EVALUATE = (
    "evaluate",
    "--metric",
    "quality",
    "--evaluation",
    "tiny",
    "--model",
    "fake:cli-hostile",
)


@pytest.mark.parametrize("name", ["a/b", "..", "a\\b"])
def test_an_import_into_an_unreachable_evaluation_is_refused(
    cli: Cli, tiny: Path, name: str
) -> None:
    stderr = cli.fails("import", str(tiny), "--evaluation", name)
    assert "option --evaluation: evaluation name" in stderr
    with cli.workspace() as rb:
        assert rb.evaluations.list() == []


@pytest.mark.parametrize("run_id", ["a/b", "..", "with space"])
def test_an_unreachable_run_id_is_refused(
    cli: Cli, tiny: Path, judge: fake.FakeModel, run_id: str
) -> None:
    cli.ok("import", str(tiny), "--evaluation", "tiny")
    stderr = cli.fails(*EVALUATE, "--run-id", run_id)
    assert "option --run-id: run id" in stderr
    stderr = cli.fails(
        "align", "start", "--metric", "quality", "--evaluation", "tiny", "--run-id", run_id
    )
    assert "option --run-id: run id" in stderr
    assert judge.calls == []
    with cli.workspace() as rb:
        assert rb.evaluation_runs.list() == [] and rb.alignment_runs.list("quality") == []


# --- RUBRICATE_RESPONSE_CACHE=false was ignored: --cache defaulted to true ---------------


@pytest.mark.parametrize(("setting", "second_calls"), [("false", 4), ("true", 0), (None, 0)])
def test_evaluate_follows_the_response_cache_setting(
    cli: Cli, tiny: Path, judge: fake.FakeModel, setting: str | None, second_calls: int
) -> None:
    cli.ok("import", str(tiny), "--evaluation", "tiny")
    env = {"RUBRICATE_RESPONSE_CACHE": setting}
    first = json.loads(cli(*EVALUATE, "--json", env=env).stdout)
    second = json.loads(cli(*EVALUATE, "--json", env=env).stdout)
    assert first["calls"] == 4 and second["calls"] == second_calls
    assert len(judge.calls) == 4 + second_calls
    cli(*EVALUATE, "--cache", env=env)  # the flag, when given, wins over the setting
    assert json.loads(cli(*EVALUATE, "--json", "--cache", env=env).stdout)["calls"] == 0
    assert json.loads(cli(*EVALUATE, "--json", "--no-cache", env=env).stdout)["calls"] == 4


@pytest.mark.parametrize(
    ("flag", "passed"), [((), None), (("--cache",), True), (("--no-cache",), False)]
)
def test_align_leaves_the_cache_to_the_setting_unless_a_flag_is_given(
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: tuple[str, ...],
    passed: bool | None,
) -> None:
    """The alignment engine reads RUBRICATE_RESPONSE_CACHE when given None; its current
    prompt is always scored fresh, so the cache is checked at the call, not by its hits."""
    seen: list[bool | None] = []
    real = AlignmentRunService.run

    def run(self: AlignmentRunService, run_id: str, **options: Any) -> Any:
        seen.append(options.get("cache"))
        return real(self, run_id, **options)

    monkeypatch.setattr(AlignmentRunService, "run", run)
    cli.ok("import", str(write_dataset(tmp_path / "clarity", 40)), "--evaluation", EVALUATION)
    resolve = ("annotations", "resolve", "--evaluation", EVALUATION, "--metric", METRIC)
    cli.ok(*resolve, "--policy", "majority")
    start = ("align", "start", "--metric", METRIC, "--evaluation", EVALUATION)
    cli.ok(*start, "--wait", *flag)
    cli.ok(*start, "--run-id", "later")
    cli.ok("align", "run", "later", *flag)
    assert seen == [passed, passed]
