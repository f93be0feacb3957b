"""The fake OpenAI-compatible server as a test's provider: tests that start one share how
it is reset and pointed at, so no test sees another's settings or key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rubricate.testing.fake_openai import FakeOpenAI, RunningFake, running


def use_fake(server: RunningFake, monkeypatch: pytest.MonkeyPatch, key: str) -> FakeOpenAI:
    """The server's fake, reset to its defaults (its settings too); OPENAI_BASE_URL points
    at it and OPENAI_API_KEY holds ``key``, for this test only."""
    server.fake.reset(config=True)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    return server.fake


@pytest.fixture(scope="module")
def server() -> Iterator[RunningFake]:
    """One fake server for a test module, on a free port (import it to use it)."""
    with running() as started:
        yield started
