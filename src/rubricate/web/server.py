"""`rubricate serve`: the API, the web UI and the run workers in one process. uvicorn runs
the app in the main thread (it owns Ctrl-C); a worker takes queued runs from a thread of
its own and stops when the server does."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from rubricate.domain.errors import InvalidInput
from rubricate.service.workspace import Rubricate
from rubricate.settings import Settings
from rubricate.web.app import create_server_app

log = logging.getLogger("rubricate.serve")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def single_user_mode(rb: Rubricate, host: str) -> bool:
    """No sign-in on localhost while no account exists; elsewhere accounts are required,
    so that a server on a network never lets everyone in as an admin."""
    if rb.users.any():
        return False
    if is_loopback(host):
        return True
    raise InvalidInput(
        f"serving on {host} needs user accounts: add an admin first with "
        "`rubricate users add NAME --role admin`",
        field="host",
    )


@contextmanager
def in_process_worker(settings: Settings, concurrency: int) -> Iterator[None]:
    from rubricate.runs.worker import Worker

    stop = threading.Event()
    worker = Worker(settings, concurrency=concurrency)
    thread = threading.Thread(target=worker.run, args=(stop,), name="rubricate-worker")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    open_path: str | None = None,
    workers: int = 4,
    ready: Callable[[], None] | None = None,
) -> None:
    """Serve until Ctrl-C. ``workers``: runs carried out at once in this process (0: none,
    leave them to `rubricate worker` processes). ``open_path`` is only printed by callers.
    ``ready`` is called once the server may start (a refusal comes before it), so that a
    caller announces its URL only for a server that will be there."""
    del open_path  # the URL to open is the caller's to print
    rb = Rubricate(settings)
    single_user = single_user_mode(rb, host)
    local_token = secrets.token_urlsafe(32)
    app = create_server_app(
        rb,
        single_user=single_user,
        secret_key=settings.session_secret.get_secret_value() if settings.session_secret else None,
        local_token=local_token,
        port=port,
        host=host,
    )
    if single_user:  # scripts need it to write; the pages carry their own CSRF token
        print(f"API token of this local server (for writes): {local_token}", file=sys.stderr)
    if ready is not None:
        ready()
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    try:
        if workers > 0:
            with in_process_worker(settings, workers):
                server.run()
        else:
            server.run()
    finally:
        rb.close()
