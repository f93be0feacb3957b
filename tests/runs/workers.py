"""Worker processes for the durable-run tests: `rubricate worker` in a subprocess on the
test's database, talking to the test's fake OpenAI-compatible server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rubricate import Rubricate, Settings
from rubricate.demo import build_demo

WORKER = "from rubricate.cli import main; main()"


def demo_workspace(database_url: str) -> Iterator[Rubricate]:
    """The demo workspace on the test's database, without the response cache (a worker's
    checkpoints must spare the calls, not the cache); closed when the test ends."""
    workspace = Rubricate(Settings(database_url=database_url, response_cache=False))
    build_demo(workspace)
    yield workspace
    workspace.close()


def worker_env(database_url: str, base_url: str, key: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RUBRICATE_DATABASE_URL": database_url,
            "RUBRICATE_SETTINGS_FILE": os.devnull,
            "RUBRICATE_RESPONSE_CACHE": "false",  # the cache must not hide a missing checkpoint
            "OPENAI_BASE_URL": base_url,
            "OPENAI_API_KEY": key,
            **extra,
        }
    )
    return env


@contextmanager
def worker(env: dict[str, str], executor_id: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `rubricate worker`, killed when the block ends (whatever happened)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, "worker", "--executor-id", executor_id],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
