"""`rubricate align verify RUN`: after a person edits a verified run's guidelines, the
check runs again (here with --wait) and says what it found; refused with the reason when
the run has no judge model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.service.test_reverifying import EDITED, _verified_run
from tests.service.test_reverifying import models as models  # the fixture, as pytest finds it
from typer.testing import CliRunner

from rubricate import Rubricate
from rubricate.cli import app


def cli(database_url: str, *args: str) -> tuple[int, str, str]:
    runner = CliRunner(env={"RUBRICATE_DATABASE_URL": None, "COLUMNS": "200"})
    result = runner.invoke(app, ["--database-url", database_url, "align", *args])
    return result.exit_code, result.stdout, result.stderr


def test_verify_again_after_an_edit(
    rb: Rubricate, tmp_path: Path, models: list[str], database_url: str
) -> None:
    run_id = _verified_run(rb, tmp_path)
    rb.reviews.edit(run_id, 1, EDITED)
    code, shown, _ = cli(database_url, "show", run_id)
    assert code == 0 and "not verified" in shown
    code, out, err = cli(database_url, "verify", run_id, "--wait")
    assert code == 0, err
    assert f"Run {run_id} verified again: verified." in out
    assert f"1. [verified] {EDITED}" in out
    code, out, _ = cli(database_url, "verify", run_id, "--wait", "--json")
    assert code == 0 and json.loads(out)["result"]["verification"]["status"] == "verified"


def test_verify_again_needs_a_judge_model(
    rb: Rubricate, tmp_path: Path, models: list[str], database_url: str
) -> None:
    run_id = _verified_run(rb, tmp_path, judge_model=None)
    code, out, err = cli(database_url, "verify", run_id, "--wait")
    assert code == 2 and out == "" and "without a judge model" in err
