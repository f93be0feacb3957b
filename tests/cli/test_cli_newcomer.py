"""What a new user tripped over in the CLI (issue 13): flags named in errors as typed,
the same short options everywhere, a dry run that needs no key, counts in plain English,
and commands that say what to do next and can do it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.alignment.alignment_support import EVALUATION, METRIC, write_dataset

if TYPE_CHECKING:
    from conftest import Cli


@pytest.fixture
def loaded(cli: Cli, tmp_path: Path) -> Cli:
    cli.ok("import", str(write_dataset(tmp_path / "clarity", 40)), "-e", EVALUATION)
    cli.ok("annotations", "resolve", "-e", EVALUATION, "-m", METRIC, "--policy", "majority")
    return cli


def test_align_start_takes_the_short_options_annotations_takes(loaded: Cli) -> None:
    preview = loaded.json("align", "start", "-m", METRIC, "-e", EVALUATION, "--dry-run")
    assert preview["disagreements"] > 0


def test_a_dry_run_needs_no_key_and_evaluate_takes_the_short_options_too(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    models = ("--reflection-lm", "openai:gpt-4o", "--judge-model", "openai:gpt-4o-mini")
    preview = loaded.json("align", "start", "-m", METRIC, "-e", EVALUATION, *models, "--dry-run")
    assert preview["judge_calls"] > 0 and preview["reflection_calls"] > 0
    assert "OPENAI_API_KEY" in preview["cannot_start"]  # said, not refused
    # Starting the run for real still needs the key, and says so before anything is written.
    started = loaded("align", "start", "-m", METRIC, "-e", EVALUATION, *models)
    assert started.exit_code == 1 and "needs an API key" in started.stderr
    estimate = loaded.ok(
        "evaluate", "-m", METRIC, "-e", EVALUATION, "--model", "openai:gpt-4o-mini", "--dry-run"
    )
    assert "would send about" in estimate.stdout


def test_an_error_names_the_flag_not_the_services_field(loaded: Cli) -> None:
    start = ("align", "start", "-m", METRIC, "-e", EVALUATION)
    stderr = loaded.fails(*start, "--reflection-lm", "no-provider")
    assert stderr.startswith("error: option --reflection-lm: ")
    assert "field" not in stderr and "reflection_lm" not in stderr


def test_every_listing_takes_json() -> None:
    """The root help promises it: each list, versions and rows command has --json."""
    import typer.main

    from rubricate.cli import app

    missing = []
    root = typer.main.get_command(app)
    for group_name, group in root.commands.items():  # type: ignore[attr-defined]
        for name, command in getattr(group, "commands", {}).items():
            listing = name in ("list", "versions", "rows", "agreement", "show")
            if listing and "--json" not in {o for p in command.params for o in p.opts}:
                missing.append(f"{group_name} {name}")
    assert missing == []


def test_a_builtin_metric_is_not_changed_and_the_message_names_what_works(
    cli: Cli, tmp_path: Path
) -> None:
    prompt = tmp_path / "p.j2"
    prompt.write_text("Score {{ output }}.\n{{ guidelines }}\n{{ scale }}", encoding="utf-8")
    stderr = cli.fails("metrics", "add-version", "helpfulness", "--prompt-file", str(prompt))
    assert "never modified" in stderr and "fork it" not in stderr  # there is no fork command
    assert "helpfulness-aligned" in stderr and "create a custom metric" in stderr
