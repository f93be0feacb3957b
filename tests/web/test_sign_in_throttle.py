"""Failed sign-ins are throttled per user name and per client address (rubricate.limits):
past the limit within the window, even the right password gets 429 with Retry-After;
the count lives in the database, so every server process on it shares it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, csrf_of

from rubricate import Rubricate
from rubricate.limits import (
    SIGNIN_MAX_FAILURES_PER_ADDRESS,
    SIGNIN_MAX_FAILURES_PER_USER,
    SIGNIN_WINDOW_SECONDS,
)
from rubricate.service import users as users_module
from rubricate.store.tables import utcnow
from rubricate.web.app import create_server_app


@pytest.fixture
def server(accounts: Rubricate) -> Iterator[TestClient]:
    app = create_server_app(accounts, single_user=False)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def _try(client: TestClient, name: str, password: str) -> Any:
    token = csrf_of(client, "/login")
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def test_a_user_is_throttled_after_repeated_failures(server: TestClient) -> None:
    for _ in range(SIGNIN_MAX_FAILURES_PER_USER):
        assert _try(server, "ada", "wrong password").status_code == 401
    throttled = _try(server, "ada", PASSWORD)  # even the right password, now
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= SIGNIN_WINDOW_SECONDS
    assert "too many failed sign-ins: try again in 15 minutes" in throttled.text
    assert _try(server, "rex", PASSWORD).status_code == 303  # another user is not blocked


def test_the_window_passes(server: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(SIGNIN_MAX_FAILURES_PER_USER):
        _try(server, "ada", "wrong password")
    assert _try(server, "ada", PASSWORD).status_code == 429
    later = utcnow() + timedelta(seconds=SIGNIN_WINDOW_SECONDS + 1)
    monkeypatch.setattr(users_module, "utcnow", lambda: later)
    assert _try(server, "ada", PASSWORD).status_code == 303


def test_a_success_clears_the_users_failures(server: TestClient) -> None:
    for _ in range(SIGNIN_MAX_FAILURES_PER_USER - 1):
        _try(server, "ada", "wrong password")
    assert _try(server, "ada", PASSWORD).status_code == 303
    for _ in range(SIGNIN_MAX_FAILURES_PER_USER - 1):
        assert _try(server, "ada", "wrong password").status_code == 401
    assert _try(server, "ada", PASSWORD).status_code == 303


def test_an_address_is_throttled_across_names(accounts: Rubricate, server: TestClient) -> None:
    for i in range(SIGNIN_MAX_FAILURES_PER_ADDRESS):
        assert _try(server, f"guess{i}", "wrong password").status_code == 401
    assert _try(server, "rex", PASSWORD).status_code == 429
    # a second server process on the same database counts the same failures
    other = Rubricate(accounts.settings)
    try:
        with TestClient(create_server_app(other), follow_redirects=False) as second:
            assert _try(second, "rex", PASSWORD).status_code == 429
    finally:
        other.close()
