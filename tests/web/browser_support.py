"""Browser tests' parts: `rubricate serve` in a subprocess (API, web UI and an in-process
worker, as a user runs it) on the test's database, talking to the fake OpenAI-compatible
server, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port

# Not under test-results/: pytest-playwright empties that folder when a session starts.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
SERVE = "from rubricate.cli import main; main()"


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"rubricate serve exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/static/style.css", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"rubricate serve did not start:\n{log.read_text()}")


@contextmanager
def serving(database_url: str, log: Path, **env: str) -> Iterator[str]:
    """`rubricate serve` on a free port; yields its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "RUBRICATE_DATABASE_URL": database_url,
        "RUBRICATE_SETTINGS_FILE": os.devnull,
        **env,
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "--port", str(port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot under test-results/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
