"""The root command: help, database selection, `db upgrade`, and how errors look."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from rubricate.cli import app
from rubricate.store.migrate import shipped_head

if TYPE_CHECKING:
    from conftest import Cli

COMMANDS = [
    ["demo"],
    ["import"],
    ["export"],
    ["db", "upgrade"],
    *(
        ["metrics", c]
        for c in ("list", "show", "create", "add-version", "versions", "pin", "unpin")
    ),
    *(["evaluations", c] for c in ("list", "show", "rows")),
    *(["annotations", c] for c in ("resolve", "agreement", "add", "resolve-row")),
]


def test_help_names_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("demo", "import", "export", "metrics", "evaluations", "annotations", "db"):
        assert name in result.stdout
    assert "RUBRICATE_DATABASE_URL" in result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: rubricate " + " ".join(command) in " ".join(result.stdout.split())


def test_db_upgrade_creates_the_schema(empty_cli: Cli) -> None:
    cli = empty_cli
    with cli.workspace(migrate=False) as rb, pytest.raises(DBAPIError):
        rb.metrics.list()
    out = cli.ok("db", "upgrade").stdout
    head = shipped_head()  # the newest migration shipped
    assert f"schema upgraded from empty to {head}" in out
    with cli.workspace(migrate=False) as rb:
        builtins = [s for s in rb.metrics.list() if s.metric.is_builtin]
        assert len(builtins) >= 7
        assert f"{len(builtins)} built-in metrics" in out
    assert f"schema up to date (revision {head})" in cli.ok("db", "upgrade").stdout  # a no-op


def test_the_environment_variable_picks_the_database(cli: Cli) -> None:
    cli.ok("metrics", "create", "tone", "--scale", "1-3", "--prompt-file", __file__)
    result = CliRunner(env={"RUBRICATE_DATABASE_URL": cli.database_url}).invoke(
        app, ["metrics", "show", "tone", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"name": "tone"' in result.stdout


def test_a_database_password_is_never_printed() -> None:
    url = "postgresql://someone:s3cret-pw@127.0.0.1:1/nothing"
    result = CliRunner().invoke(app, ["--database-url", url, "evaluations", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: cannot use postgresql+psycopg://someone:***@127.0.0.1:1/"
    )
    assert "s3cret-pw" not in result.output
    assert "Traceback" not in result.output


def test_errors_are_one_line_and_exit_2(cli: Cli) -> None:
    stderr = cli.fails("metrics", "show", "nope")
    assert stderr == "error: no metric named 'nope' (see `rubricate metrics list`)\n"
    result = CliRunner().invoke(app, ["--database-url", "mysql://x/y", "metrics", "list"])
    assert result.exit_code == 2
    assert "unsupported database 'mysql'" in result.stderr


def test_a_bad_setting_is_named(cli: Cli) -> None:
    result = cli("metrics", "list", env={"RUBRICATE_IMPORT_BATCH_SIZE": "0"})
    assert result.exit_code == 2
    assert "RUBRICATE_IMPORT_BATCH_SIZE" in result.stderr
