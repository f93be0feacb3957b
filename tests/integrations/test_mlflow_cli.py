"""`rubricate import mlflow` against a real MLflow store (SQLite backend): a dry run, the
import, again, a changed assessment, errors that list what exists; the CLI's help does not
load MLflow."""

from __future__ import annotations

import json

import pytest
from tests.cli.test_cli_startup import loaded_modules
from tests.integrations.conftest import Cli
from tests.integrations.mlflow_support import EXPERIMENT, Store, build, mlflow, store_fixtures

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")

template, store = store_fixtures(build, "mlflow-cli")


@pytest.fixture
def run(database_url: str, store: Store) -> Cli:
    return Cli(database_url, {"MLFLOW_TRACKING_URI": store.uri})


def test_dry_run_then_import_then_again(run: Cli, store: Store) -> None:
    where = f"MLflow experiment {EXPERIMENT!r} at {store.uri}"
    dry = run.ok("import", "mlflow", "--experiment", EXPERIMENT, "--judge", "tone", "--dry-run")
    assert dry.stdout.startswith(
        f"Dry run, nothing kept. Would import {where} into mlflow-{EXPERIMENT} (a new evaluation):"
    ), dry.stdout
    said = dry.stdout
    assert "annotations    3 added" in said and "judge results  2 added" in said
    assert "read           3 traces" in said and "metrics        tone created" in said
    assert "skipped        1 trace without an input or an output in its root span" in said
    done = run.ok("import", "mlflow", "--experiment", EXPERIMENT, "--judge", "tone", "--json")
    found = json.loads(done.stdout)
    assert (found["rows_added"], found["annotations_added"], found["dry_run"]) == (2, 3, False)
    again = run.ok("import", "mlflow", "--experiment", EXPERIMENT, "--judge", "tone")
    assert again.stdout.startswith(f"Nothing changed: mlflow-{EXPERIMENT} already holds")


def test_a_changed_assessment_is_listed(run: Cli, store: Store) -> None:
    from mlflow.entities import Feedback

    run.ok("import", "mlflow", "--experiment", EXPERIMENT, "--judge", "tone")
    ids = store.ids
    changed = Feedback(name="tone", value=2, rationale="too cold")
    mlflow.update_assessment(trace_id=ids["skip"],
                             assessment_id=ids["ana_skip"], assessment=changed)  # fmt: skip
    said = run.ok("import", "mlflow", "--experiment", EXPERIMENT, "--judge", "tone").stdout
    assert "changed        1 assessment changed in MLflow since an earlier import" in said
    assert (
        f"annotation by ana on trace {ids['skip']}: 4 stored, 2 in MLflow, rationale changed "
        f"(assessment {ids['ana_skip']})"
    ) in said


def test_errors_list_what_exists(run: Cli) -> None:
    unknown = run.fails("import", "mlflow", "--experiment", "nope")
    assert "no experiment named or numbered 'nope'" in unknown and "support-bot" in unknown
    judge = run.fails("import", "mlflow", "--experiment", EXPERIMENT, "--judge", "Tone")
    assert "feedback named 'Tone'" in judge and "other, tone" in judge


def test_help_does_not_load_mlflow(database_url: str) -> None:
    for words in (("--help",), ("import", "--help"), ("import", "mlflow", "--help")):
        loaded = loaded_modules(database_url, *words)
        assert "mlflow" not in loaded, words
