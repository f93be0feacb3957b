"""`rubricate users`: add (password from RUBRICATE_NEW_PASSWORD or --password), list,
token, remove, and the errors a typo gets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rubricate.domain.users import Role

if TYPE_CHECKING:
    from conftest import Cli

PASSWORD = "correct horse battery"


def listed(cli: Cli) -> list[list[str]]:
    return [line.split() for line in cli.ok("users", "list").stdout.splitlines()]


def test_add_list_token_remove(cli: Cli) -> None:
    assert "no users" in cli.ok("users", "list").stdout
    added = cli("users", "add", "ada", "--role", "admin", env={"RUBRICATE_NEW_PASSWORD": PASSWORD})
    assert added.exit_code == 0, added.output
    assert "user ada added (admin)" in added.stdout
    assert PASSWORD not in added.output
    assert (
        "user rex added (reviewer)" in cli.ok("users", "add", "rex", "--password", PASSWORD).stdout
    )
    assert listed(cli) == [["ada", "admin"], ["rex", "reviewer"]]
    with cli.workspace() as rb:
        assert rb.users.sign_in("ada", PASSWORD) is not None
        assert rb.users.get("rex").role is Role.REVIEWER

    first = cli.ok("users", "token", "ada").stdout.strip()
    second = cli.ok("users", "token", "ada").stdout.strip()
    assert len(first) >= 40 and first != second
    with cli.workspace() as rb:
        found = rb.users.by_token(second)
        assert found is not None and found.name == "ada"
        assert rb.users.by_token(first) is None  # a new token replaces the old one

    assert "user rex removed" in cli.ok("users", "remove", "rex").stdout
    assert listed(cli) == [["ada", "admin"]]
    with cli.workspace() as rb:
        assert rb.users.sign_in("rex", PASSWORD) is None


def test_a_bad_role_is_a_clear_error(cli: Cli) -> None:
    stderr = cli.fails("users", "add", "ada", "--role", "owner", "--password", PASSWORD)
    assert "role must be reviewer or admin" in stderr
    assert "no users" in cli.ok("users", "list").stdout


def test_a_duplicate_user_is_refused(cli: Cli) -> None:
    cli.ok("users", "add", "ada", "--role", "admin", "--password", PASSWORD)
    stderr = cli.fails("users", "add", "ada", "--password", "another password")
    assert "user 'ada' exists already" in stderr
    with cli.workspace() as rb:
        assert rb.users.get("ada").role is Role.ADMIN
        assert rb.users.sign_in("ada", PASSWORD) is not None


def test_bad_names_passwords_and_unknown_users(cli: Cli) -> None:
    assert "a password has at least 8 characters" in cli.fails(
        "users", "add", "ada", "--password", "short"
    )
    assert "a user name is letters, digits" in cli.fails(
        "users", "add", "not a name", "--password", PASSWORD
    )
    assert "no user named 'nobody'" in cli.fails("users", "token", "nobody")
    assert "no user named 'nobody'" in cli.fails("users", "remove", "nobody")


def test_the_password_is_asked_for_twice_when_not_given(cli: Cli) -> None:
    from typer.testing import CliRunner

    from rubricate.cli import app

    runner = CliRunner(env={"RUBRICATE_DATABASE_URL": None, "RUBRICATE_NEW_PASSWORD": None})
    result = runner.invoke(
        app,
        ["--database-url", cli.database_url, "users", "add", "ada"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    with cli.workspace() as rb:
        assert rb.users.sign_in("ada", PASSWORD) is not None


def test_users_list_takes_json(cli: Cli) -> None:
    assert cli.json("users", "list") == []
    cli.ok("users", "add", "ada", "--role", "admin", "--password", PASSWORD)
    assert cli.json("users", "list") == [{"name": "ada", "role": "admin"}]
