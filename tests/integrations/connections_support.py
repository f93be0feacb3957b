"""The connections the REST API's and the web's connector tests configure: the Langfuse
contract fake (seeded as tests.integrations.conftest.seed), its keys in the variables the
connection names, and an MLflow server that is down, in a workspace's settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from tests.conftest import free_port
from tests.integrations.conftest import seed

from rubricate import Rubricate, Settings
from rubricate.testing.fake_langfuse import FakeLangfuse, RunningLangfuse, running

PUBLIC = "pk-lf-public-0123456789"
SECRET = "sk-lf-secret-9876543210-do-not-show"
PUBLIC_VAR, SECRET_VAR = "PROD_LF_PUBLIC", "PROD_LF_SECRET"
LANGFUSE, MLFLOW = "prod-langfuse", "team-mlflow"


@dataclass
class Configured:
    rb: Rubricate  # its settings name LANGFUSE (the fake) and MLFLOW (down)
    fake: FakeLangfuse
    server: RunningLangfuse


@contextmanager
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Configured]:
    monkeypatch.setenv(PUBLIC_VAR, PUBLIC)
    monkeypatch.setenv(SECRET_VAR, SECRET)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    fake = FakeLangfuse(public_key=PUBLIC, secret_key=SECRET)
    seed(fake)
    with running(fake) as server:
        connections = {
            LANGFUSE: {"kind": "langfuse", "host": server.host,
                       "public_key_env": PUBLIC_VAR, "secret_key_env": SECRET_VAR},
            MLFLOW: {"kind": "mlflow", "tracking_uri": f"http://127.0.0.1:{free_port()}"},
        }  # fmt: skip
        rb = Rubricate(Settings(database_url=database_url, connections=connections))
        try:
            yield Configured(rb, fake, server)
        finally:
            rb.close()
