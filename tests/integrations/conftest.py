"""Fixtures of the connector tests: a fake Langfuse project served over HTTP (the contract
fake, rubricate.testing.fake_langfuse), a small project in it, and the CLI on the test's
database with the project's keys in its environment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rubricate import Rubricate
from rubricate.cli import app
from rubricate.integrations.langfuse import LangfuseConnection
from rubricate.testing.fake_langfuse import FakeLangfuse, RunningLangfuse, running

SECRET = "sk-lf-0123456789-very-secret"


@dataclass
class Project:
    """The fake server, the connection to it and the ids of what the project holds."""

    fake: FakeLangfuse
    server: RunningLangfuse
    connection: LangfuseConnection
    ids: dict[str, str]

    @property
    def env(self) -> dict[str, str | None]:
        return {
            "LANGFUSE_HOST": self.server.host,
            "LANGFUSE_PUBLIC_KEY": self.fake.public_key,
            "LANGFUSE_SECRET_KEY": self.fake.secret_key,
            "LANGFUSE_BASE_URL": None,
        }


def seed(fake: FakeLangfuse) -> dict[str, str]:
    """A project with a 1–5 'tone' score config; three traces (the last one without an
    output); reviewers' and an evaluator's 'tone' scores, one on an observation."""
    config = fake.add_config("tone", "NUMERIC", min_value=1, max_value=5,
                             description="Is the tone right for a support chat?")  # fmt: skip
    chat = fake.add_trace(
        input=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Skip?"}],
        output={"role": "assistant", "content": "Yes: Settings, Deliveries, Skip."},
        userId="user-7",
        metadata={"plan": "pro"},
    )
    plain = fake.add_trace(input={"question": "Refund?"}, output="No refunds after 30 days.")
    silent = fake.add_trace(input="Hello?", output=None)
    c = config["id"]
    ids = {"chat": chat["id"], "plain": plain["id"], "silent": silent["id"], "config": c}
    ids["ana_chat"] = fake.add_score(chat["id"], "tone", 4, author="ana", comment="warm",
                                     config_id=c)["id"]  # fmt: skip
    fake.add_score(chat["id"], "tone", 5, author="bob", config_id=c)
    fake.add_score(plain["id"], "tone", 2, author="ana", comment="curt", config_id=c)
    fake.add_score(plain["id"], "tone", 3, source="API", config_id=c)  # no author: 'langfuse'
    fake.add_score(silent["id"], "tone", 3, author="ana", config_id=c)
    fake.add_score(chat["id"], "tone", 5, author="ana", observation_id="obs-1", config_id=c)
    ids["eval_chat"] = fake.add_score(chat["id"], "tone", 4, source="EVAL",
                                      comment="friendly")["id"]  # fmt: skip
    fake.add_score(plain["id"], "tone", 1, source="EVAL", metadata={"model": "gpt-4o-mini"})
    fake.add_score(plain["id"], "other", 1, author="ana")  # another score: never read
    return ids


@pytest.fixture
def project() -> Iterator[Project]:
    fake = FakeLangfuse(secret_key=SECRET)
    ids = seed(fake)
    with running(fake) as server:
        connection = LangfuseConnection(server.host, fake.public_key, fake.secret_key)
        yield Project(fake, server, connection, ids)


class Cli:
    def __init__(self, database_url: str, env: dict[str, str | None]) -> None:
        self.database_url, self.env = database_url, env

    def __call__(self, *args: str, **env: str | None) -> Result:
        runner = CliRunner(env={"RUBRICATE_DATABASE_URL": None, "COLUMNS": "120"} | self.env | env)
        return runner.invoke(app, ["--database-url", self.database_url, *args])

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, f"{result.exit_code}\n{result.output}\n{result.exception!r}"
        return result

    def fails(self, *args: str, code: int = 2, **env: str | None) -> str:
        result = self(*args, **env)
        assert result.exit_code == code, f"{result.exit_code}\n{result.output}"
        assert "Traceback" not in result.output
        return result.stderr


@pytest.fixture
def cli(database_url: str, project: Project) -> Cli:
    return Cli(database_url, project.env)


def by_row(rows: list[Any]) -> dict[str, Any]:
    """Rows by their id in the evaluation (here: the trace id)."""
    return {row.external_id: row for row in rows}


def annotations(rb: Rubricate, evaluation: str) -> dict[tuple[str, str], tuple[float, str | None]]:
    """The evaluation's 'tone' annotations: (row, annotator) -> (score, comment)."""
    listed = rb.evaluation_reads.annotations(evaluation, "tone", limit=100).items
    return {(a.row, a.annotator): (a.score, a.comment) for a in listed}


def judged(rb: Rubricate, evaluation: str, detail: str) -> dict[tuple[str, str | None], Any]:
    """The evaluation's judge results: (row, judge model) -> (score, the result's ``detail``
    field)."""
    listed = rb.evaluation_reads.judge_results(evaluation, limit=100).items
    return {(j.row, j.judge_model): (j.score, getattr(j, detail)) for j in listed}
