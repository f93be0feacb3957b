"""A TestClient over ``create_app``: on an empty workspace, or on the demo workspace (two
metrics, one evaluation of 48 rows, three reviewers, resolved by majority)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.api.api_support import LOCAL, LOCAL_TOKEN, TOKEN

from rubricate import Rubricate
from rubricate.api import create_app


@pytest.fixture
def client(demo: Rubricate) -> Iterator[TestClient]:
    """The demo workspace, with a token (sent with every request)."""
    app = create_app(demo, tokens={TOKEN: "ana"})
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as test_client:
        yield test_client


@pytest.fixture
def empty_client(rb: Rubricate) -> Iterator[TestClient]:
    """An empty workspace (built-in metrics only), single-user: no token needed."""
    app = create_app(rb, single_user=True, local_token=LOCAL_TOKEN)
    with TestClient(app, **LOCAL) as test_client:
        yield test_client
