"""`rubricate serve`: the web UI, the REST API and run workers in one process."""

from __future__ import annotations

from typing import Annotated

import typer

from rubricate.cli._common import state
from rubricate.cli._output import say

Host = Annotated[str, typer.Option(help="Address to listen on; 127.0.0.1 keeps it local.")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]


def serve(
    ctx: typer.Context,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            max=256,
            help="Runs carried out at once in this process (0: leave them to "
            "`rubricate worker` processes).",
        ),
    ] = 4,
) -> None:
    """Serve the web UI and the REST API (/api/v1, documented at /docs) and carry out
    queued runs, until Ctrl-C.

    On localhost with no user accounts, nobody signs in (single-user mode). Elsewhere, add
    accounts first with `rubricate users add`.
    """
    from rubricate.web.server import serve as run_server

    settings = state(ctx).settings()
    url = f"http://{url_host(host)}:{port}/"

    def ready() -> None:  # after the server's checks: a refused host prints no URL
        say(f"rubricate is serving {url} (Ctrl-C stops it)", style="bold")

    run_server(settings, host=host, port=port, workers=workers, ready=ready)


def url_host(host: str) -> str:
    """The host as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
