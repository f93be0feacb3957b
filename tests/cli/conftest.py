"""CLI tests run `rubricate` in-process, then look at the database it left behind."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from rubricate import Rubricate, Settings
from rubricate.cli import app

# The tiny dataset; its figures are worked out by hand in the tests.
# quality (1–5) by r1, r2, r3:   a: 2 2 3   b: 1 2 3   c: 4 4   d: 5
# verdict (fail/pass):           a: pass pass fail   b: fail fail fail   c: pass pass
MANIFEST = {
    "name": "tiny",
    "task": "A few answers to check the CLI with.",
    "criteria": [
        {"name": "quality", "scale": {"type": "ordinal", "min": 1, "max": 5}},
        {"name": "verdict", "scale": {"type": "labels", "labels": {"0": "fail", "1": "pass"}}},
    ],
}
PROMPT = "Rate the answer.\nQuestion: {{ input }}\nAnswer: {{ output }}\n"
QUALITY = {"a": [2, 2, 3], "b": [1, 2, 3], "c": [4, 4], "d": [5]}
VERDICT = {"a": ["pass", "pass", "fail"], "b": ["fail", "fail", "fail"], "c": ["pass", "pass"]}


def tiny_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for row_id, scores in QUALITY.items():
        annotations: dict[str, Any] = {
            "quality": [
                {"annotator": f"r{i + 1}", "score": s, "comment": f"r{i + 1} on {row_id}"}
                for i, s in enumerate(scores)
            ]
        }
        if row_id in VERDICT:
            annotations["verdict"] = [
                {"annotator": f"r{i + 1}", "label": label}
                for i, label in enumerate(VERDICT[row_id])
            ]
        rows.append(
            {
                "id": row_id,
                "input": f"question {row_id}",
                "output": f"answer {row_id}",
                "metadata": {"n": len(rows)},
                "annotations": annotations,
                "judge": {"quality": {"score": 4, "rationale": "fine", "model": "fake:judge"}},
            }
        )
    return rows


MakeDataset = Callable[..., Path]


@pytest.fixture
def make_dataset(tmp_path: Path) -> MakeDataset:
    """Write the tiny dataset into a folder; ``extra`` lines are appended to rows.jsonl."""

    def make(name: str = "tiny", extra: tuple[str, ...] = ()) -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True)
        (folder / "dataset.json").write_text(json.dumps(MANIFEST), encoding="utf-8")
        lines = [json.dumps(row) for row in tiny_rows()] + list(extra)
        (folder / "rows.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return folder

    return make


@pytest.fixture
def tiny(make_dataset: MakeDataset) -> Path:
    """A dataset folder: 4 rows, criteria quality (1–5) and verdict (fail/pass)."""
    return make_dataset()


@pytest.fixture
def prompt(tmp_path: Path) -> Path:
    """A scoring prompt file for a custom metric."""
    path = tmp_path / "prompt.txt"
    path.write_text(PROMPT, encoding="utf-8")
    return path


class Cli:
    """`rubricate --database-url URL ...` on one database, and that database's workspace."""

    def __init__(
        self, database_url: str, *, root: typer.Typer = app, group: tuple[str, ...] = ()
    ) -> None:
        """``root``: the app (rubricate's own by default); ``group``: the words before each
        command's own (a subcommand group)."""
        self.database_url, self.root, self.group = database_url, root, group

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        runner = CliRunner(env={"RUBRICATE_DATABASE_URL": None, "COLUMNS": "120", **(env or {})})
        return runner.invoke(self.root, ["--database-url", self.database_url, *self.group, *args])

    def ok(self, *args: str) -> Result:
        """Run a command that must succeed."""
        result = self(*args)
        assert result.exit_code == 0, (
            f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
        )
        return result

    def json(self, *args: str) -> Any:
        """Run a command with --json and parse what it printed."""
        return json.loads(self.ok(*args, "--json").stdout)

    def fails(self, *args: str) -> str:
        """Run a command that must fail with exit code 2 and a clean message; its stderr."""
        result = self(*args)
        assert result.exit_code == 2, f"exit {result.exit_code}\n{result.output}"
        assert "Traceback" not in result.output
        assert result.stdout == ""
        return result.stderr

    @contextmanager
    def workspace(self, *, migrate: bool = True) -> Iterator[Rubricate]:
        """The workspace on the same database, to check what a command left behind."""
        with Rubricate(Settings(database_url=self.database_url, auto_migrate=migrate)) as rb:
            yield rb


@pytest.fixture
def cli(database_url: str) -> Cli:
    """The CLI on a fresh, migrated database."""
    return Cli(database_url)


@pytest.fixture
def empty_cli(empty_database_url: str) -> Cli:
    """The CLI on a database with no tables at all."""
    return Cli(empty_database_url)
