"""The web UI in a TestClient: the demo workspace served single-user (as `rubricate serve`
on localhost) or with accounts (an admin and a reviewer, signed in by ``sign_in``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright
from tests.web.browser_support import serving

from rubricate import Rubricate
from rubricate.api.queueing import RunQueue
from rubricate.web.app import create_server_app

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: TestClient, path: str = "/metrics") -> str:
    """The CSRF token of the client's session, read off a page's form or <body>."""
    html = client.get(path).text
    found = CSRF.search(html) or re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


@contextmanager
def single_user(rb: Rubricate, run_queue: RunQueue | None = None) -> Iterator[TestClient]:
    """The web UI single-user (everyone the local admin) in a client that does not follow
    redirects, the CSRF header set as htmx sends it; runs go to ``run_queue`` (by default
    the workers' real queue)."""
    app = create_server_app(rb, single_user=True, run_queue=run_queue)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        client.headers["X-CSRF-Token"] = csrf_of(client)
        yield client


@pytest.fixture
def local(demo: Rubricate) -> Iterator[TestClient]:
    """Single-user: nobody signs in; everyone is the local admin."""
    app = create_server_app(demo, single_user=True)
    with TestClient(app, base_url="http://127.0.0.1") as client:  # loopback names only
        yield client


@pytest.fixture
def accounts(demo: Rubricate) -> Rubricate:
    demo.users.add("ada", "admin", PASSWORD)
    demo.users.add("rex", "reviewer", PASSWORD)
    return demo


SignIn = Callable[[str], TestClient]
SERVE_TOKEN = "tests:a-token-for-serve-tests"


@pytest.fixture
def sign_in(accounts: Rubricate) -> Iterator[SignIn]:
    """``sign_in("ada")`` gives a client signed in as that user, on a server with accounts."""
    app = create_server_app(accounts, single_user=False)
    clients: list[TestClient] = []

    def signed(name: str) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        token = csrf_of(client, "/login")
        response = client.post(
            "/login", data={"name": name, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 303, response.text
        return client

    yield signed
    for client in clients:
        client.close()


CHROMIUM = "/usr/bin/chromium"  # Debian's: nothing is downloaded
CHROMIUM_ARGS = [  # as root in a container, on a machine without a network
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not pytest-playwright's session-wide browser: its
    event loop would run in the main thread for the rest of the session (and its
    parametrized fixtures reorder the session), so later code could not asyncio.run."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


@pytest.fixture
def served(demo: Rubricate, database_url: str, tmp_path: Path) -> Iterator[str]:
    """`rubricate serve` on the demo workspace; the base URL."""
    # an operator's token: a single-user server takes API writes only with a token
    with serving(database_url, tmp_path / "serve.log", RUBRICATE_API_TOKENS=SERVE_TOKEN) as url:
        yield url
