"""`rubricate serve`: single-user only on localhost without accounts, and its in-process
worker carries out a queued run."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from tests.web.conftest import SERVE_TOKEN
from typer.testing import CliRunner

from rubricate import Rubricate
from rubricate.cli import app
from rubricate.demo import EVALUATION
from rubricate.domain.errors import InvalidInput
from rubricate.web.server import is_loopback, single_user_mode


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_single_user_only_on_localhost_without_accounts(rb: Rubricate) -> None:
    assert single_user_mode(rb, "127.0.0.1") is True
    with pytest.raises(InvalidInput, match="rubricate users add NAME --role admin"):
        single_user_mode(rb, "0.0.0.0")
    rb.users.add("ada", "admin", "long enough password")
    assert single_user_mode(rb, "127.0.0.1") is False  # accounts exist: everyone signs in
    assert single_user_mode(rb, "0.0.0.0") is False


def test_serving_on_a_network_without_accounts_is_refused(database_url: str) -> None:
    result = CliRunner(env={"RUBRICATE_DATABASE_URL": None}).invoke(
        app, ["--database-url", database_url, "serve", "--host", "0.0.0.0", "--port", "1"]
    )
    assert result.exit_code == 2
    assert "option --host: serving on 0.0.0.0 needs user accounts" in result.stderr
    assert result.stdout == ""  # refused before it announced a URL it would not serve


def _call(url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    token = SERVE_TOKEN.partition(":")[2]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_serve_carries_out_a_queued_run(served: str) -> None:
    started = _call(
        f"{served}/api/v1/alignment-runs",
        {
            "metric": "answer_helpfulness",
            "evaluations": [EVALUATION],
            "reflection_lm": "builtin:offline",
        },
    )
    run_id = started["run"]["id"]
    assert started["alive_workers"] >= 1  # the server's own worker
    deadline = time.monotonic() + 60
    status = started["run"]["status"]
    while status not in ("aligned", "error", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.2)
        status = _call(f"{served}/api/v1/alignment-runs/{run_id}")["status"]
    assert status == "aligned"
