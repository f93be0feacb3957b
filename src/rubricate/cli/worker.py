"""`rubricate worker`: carry out queued alignment and evaluation runs until stopped."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from rubricate.cli._common import state
from rubricate.cli._output import say


def worker(
    ctx: typer.Context,
    executor_id: Annotated[
        str | None,
        typer.Option(
            "--executor-id", help="This worker's id (default: host name and a random part)."
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Runs carried out at once by this worker.")
    ] = 4,
) -> None:
    """Take queued runs and carry them out, until stopped (Ctrl-C or SIGTERM). Any number of
    workers may share a PostgreSQL database; a dead worker's runs go to a live one."""
    from rubricate.runs.worker import Worker

    settings = state(ctx).settings()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    runner = Worker(settings, executor_id=executor_id, concurrency=concurrency)
    say(f"worker {runner.executor_id} is taking runs (Ctrl-C stops it)")
    runner.run(stop)
    say(f"worker {runner.executor_id} stopped")
