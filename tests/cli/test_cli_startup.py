"""The CLI starts without the heavy libraries a command does not use (issue 13: every
command paid ~2.4 s of CPU for them). Timing is bench/cli_startup.py's; this checks the
imports, which no machine's load changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# The heavy libraries (0.1-2 s each) are the benchmark's list: one list for both checks.
BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from cli_startup import HEAVY  # noqa: E402

# Runs the CLI in a fresh interpreter, then prints every module it loaded.
PROGRAM = """
import json, sys
from rubricate.cli import main
try:
    main()
except SystemExit:
    pass
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


def loaded_modules(database_url: str, *words: str) -> list[str]:
    env = dict(os.environ, RUBRICATE_DATABASE_URL=database_url)
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, *words],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("MODULES "), done.stdout + done.stderr
    loaded: list[str] = json.loads(last.removeprefix("MODULES "))
    return loaded


def heavy_imports(database_url: str, *words: str) -> list[str]:
    loaded = set(loaded_modules(database_url, *words))
    return sorted(name for name in HEAVY if name in loaded)


@pytest.mark.parametrize(
    "words",
    [
        ("--help",),
        ("metrics", "list"),
        ("metrics", "list", "--json"),
        ("align", "--help"),
        ("import", "--help"),
        ("export", "--help"),
    ],
)
def test_a_command_loads_no_heavy_library(database_url: str, words: tuple[str, ...]) -> None:
    assert heavy_imports(database_url, *words) == []


def test_an_empty_database_is_migrated_with_alembic(tmp_path: Path) -> None:
    # The first command on a new database does need Alembic; the next ones do not.
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert heavy_imports(url, "metrics", "list") == ["alembic"]
    assert heavy_imports(url, "metrics", "list") == []


def test_a_command_loads_only_its_own_commands(database_url: str) -> None:
    # The root builds a command when it is used: a listing of metrics leaves the alignment,
    # evaluation, import and demo commands unloaded (--help lists, so loads, them all).
    cli = "rubricate.cli."
    found = loaded_modules(database_url, "metrics", "list")
    loaded = {name.removeprefix(cli) for name in found if name.startswith(cli)}
    assert "metrics" in loaded
    assert not loaded & {"align", "demo", "evaluate", "transfer", "annotations", "serve"}
