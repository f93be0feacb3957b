"""End-to-end fixtures: the fake OpenAI-compatible HTTP server (one per session, reset for
each test) and workspaces holding the demo evaluation, so that scoring runs through the
real client code path: pydantic-ai, the openai SDK, HTTP, the fake server, and back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from tests.fake_server_support import use_fake
from typer.testing import CliRunner, Result

from rubricate import Rubricate, Settings
from rubricate.cli import app
from rubricate.demo import EVALUATION, build_demo
from rubricate.store.tables import Base, JudgeResultRecord, RowRecord
from rubricate.testing.fake_openai import FakeOpenAI, FakeRequest, RunningFake, running

METRIC = "answer_helpfulness"  # ordinal 1-5 with labels, in the demo
ROWS = 48  # the demo evaluation's rows
SECRET = "sk-e2e-secret-key-0123456789"  # the key the tests send, and look for everywhere

# Calls fail fast and retries wait little: a test that waits on purpose says so.
FAST: dict[str, Any] = {"model_timeout": 5.0, "max_retry_wait": 0.05, "model_attempts": 3}


@pytest.fixture(scope="session")
def server() -> Iterator[RunningFake]:
    """One fake server for the whole session, on a free port."""
    with running() as started:
        yield started


@pytest.fixture
def fake(server: RunningFake, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """The fake server, reset to its defaults, demanding SECRET; OPENAI_BASE_URL points at
    it and OPENAI_API_KEY holds SECRET for this test only."""
    fake = use_fake(server, monkeypatch, SECRET)
    fake.require_key = SECRET
    return fake


OpenWorkspace = Callable[..., Rubricate]


@pytest.fixture
def workspace(database_url: str) -> Iterator[OpenWorkspace]:
    """``workspace(**settings)``: a workspace on this test's database with the demo
    evaluation in it; settings default to FAST. Every call opens one more workspace on the
    same database (so a test can change settings between runs); all are closed at the end."""
    opened: list[Rubricate] = []

    def open_workspace(**changes: Any) -> Rubricate:
        rb = Rubricate(Settings(database_url=database_url, **(FAST | changes)))
        opened.append(rb)
        if len(opened) == 1:
            build_demo(rb)
        return rb

    yield open_workspace
    for rb in opened:
        rb.close()


@pytest.fixture
def rb(workspace: OpenWorkspace) -> Rubricate:
    """A workspace with the demo evaluation and the FAST settings."""
    return workspace()


def evaluate(rb: Rubricate, model: str = "openai-chat:gpt-4.1-mini", **options: Any) -> Any:
    """Score the demo evaluation (response cache off unless asked for)."""
    options.setdefault("cache", False)
    return rb.evaluate(metric=METRIC, evaluation=EVALUATION, model=model, **options)


@dataclass(frozen=True)
class Stored:
    """A judge result as stored, with its row's id and texts."""

    row: str
    input: str
    output: str
    score: float | None
    rationale: str | None
    raw_output: str | None
    error: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    cached: bool
    judge_model: str | None


def stored_results(rb: Rubricate, run_id: str) -> dict[str, Stored]:
    """The run's judge results by row id (sb-001 ...)."""
    with rb.db.read() as session:
        found = session.execute(
            select(JudgeResultRecord, RowRecord)
            .join(RowRecord, RowRecord.id == JudgeResultRecord.row_id)
            .where(JudgeResultRecord.evaluation_run_id == run_id)
        )
        results: dict[str, Stored] = {}
        for result, row in found:
            assert row.external_id not in results, "a row has two results in one run"
            results[row.external_id] = Stored(
                row=row.external_id,
                input=row.input,
                output=row.output,
                score=result.score,
                rationale=result.rationale,
                raw_output=result.raw_output,
                error=result.error,
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
                cost_usd=result.cost_usd,
                latency_ms=result.latency_ms,
                cached=result.cached,
                judge_model=result.judge_model,
            )
        return results


def requests_for(fake: FakeOpenAI, text: str) -> list[FakeRequest]:
    """The requests the fake server saw whose last user message holds ``text``."""
    return [r for r in fake.requests if text in r.last_user_message]


def every_stored_value(rb: Rubricate) -> Iterator[tuple[str, str, str]]:
    """(table, column, str(value)) for every non-null value of every table."""
    with rb.db.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is not None:
                        text = value if isinstance(value, str) else json.dumps(value, default=str)
                        yield table.name, column, text


class Cli:
    """`rubricate --database-url URL ...` in-process, with the caller's environment (the
    fake fixture's OPENAI_* variables) plus ``env``."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def __call__(self, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
        runner = CliRunner(env={"RUBRICATE_DATABASE_URL": None, "COLUMNS": "200", **(env or {})})
        return runner.invoke(app, ["--database-url", self.database_url, *args])

    def ok(self, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
        result = self(*args, env=env)
        assert result.exit_code == 0, (
            f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
        )
        return result

    def json(self, *args: str, env: Mapping[str, str | None] | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", env=env).stdout)


@pytest.fixture
def cli(database_url: str, workspace: OpenWorkspace) -> Cli:
    """The CLI on a database that holds the demo evaluation."""
    workspace()
    return Cli(database_url)
