"""The security benchmark's parts: a real `rubricate serve` (or `rubricate worker`) in a
subprocess under an address-space limit with its peak RSS read from /proc, a plain HTTP
client on loopback, and the record of probes (each handled or defective)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import free_port

CLI = "from rubricate.cli import main; main()"
ADDRESS_SPACE = 2 * 1024**3  # RLIMIT_AS of every child: a regression fails, not the host
MEMORY_CEILING_MB = 500.0  # the server's peak RSS past this fails the bench


# --- probes ------------------------------------------------------------------------------------


@dataclass
class Probe:
    category: str
    name: str
    expected: str
    handled: bool
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    probes: list[Probe] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # category -> why

    def probe(self, category: str, name: str, expected: str, check: Callable[[], str]) -> bool:
        """Run ``check``: it returns a detail when the behaviour is as expected and raises
        ``Defect`` (or anything else) when not. Printed as it goes."""
        began = time.monotonic()
        try:
            detail, handled = check(), True
        except Defect as defect:
            detail, handled = str(defect), False
        except Exception as error:  # a probe that crashed is a defect too, with its reason
            last = traceback.format_exception_only(type(error), error)[-1].strip()
            detail, handled = f"probe raised {last}", False
        seconds = time.monotonic() - began
        self.probes.append(Probe(category, name, expected, handled, detail, seconds))
        mark = "ok  " if handled else "FAIL"
        print(f"  [{mark}] {category}: {name} ({seconds:.1f} s) - {detail}", flush=True)
        return handled

    def skip(self, category: str, reason: str) -> None:
        self.skipped[category] = reason
        print(f"  [skip] {category}: {reason}", flush=True)


class Defect(Exception):
    """The server did not behave as the probe expected."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Defect(message)


# --- processes under a memory limit -------------------------------------------------------------


def _limit_address_space() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _status_kb(pid: int, key: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found[1]) if found else None


class Child:
    """A `rubricate` command in a subprocess under RLIMIT_AS; its peak RSS (VmHWM) is
    sampled every 0.2 s, so a child that dies still reports how high it got."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", CLI, *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_limit_address_space,
            )
        self.peak_kb = 0
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._done.is_set() and self.process.poll() is None:
            self.peak_kb = max(self.peak_kb, _status_kb(self.process.pid, "VmHWM") or 0)
            self._done.wait(0.2)

    @property
    def peak_mb(self) -> float:
        self.peak_kb = max(self.peak_kb, _status_kb(self.process.pid, "VmHWM") or 0)
        return self.peak_kb / 1024

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, number: int) -> None:
        if self.alive():
            self.process.send_signal(number)

    def stop(self) -> None:
        """SIGTERM (as Ctrl-C would), then SIGKILL after 30 s."""
        self.peak_mb  # noqa: B018 - a last sample before it exits
        self._done.set()
        if self.alive():
            self.process.send_signal(signal.SIGCONT)  # a paused child cannot stop otherwise
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print(f"  {self.name} ignored SIGTERM for 30 s: killed", flush=True)
                self.process.kill()
                self.process.wait()

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Served(Child):
    """`rubricate serve` on 127.0.0.1 and a free port, up when this returns."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 4) -> None:
        self.port = free_port()
        args = ["serve", "--port", str(self.port), "--workers", str(workers)]
        super().__init__("rubricate serve", args, env, log)
        self.http = Http(self.port)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if not self.alive():
                raise SystemExit(f"rubricate serve exited at start:\n{self.tail()}")
            with contextlib.suppress(OSError):
                if self.http.request("GET", "/static/style.css", timeout=2).status == 200:
                    break
            time.sleep(0.2)
        else:
            self.stop()
            raise SystemExit(f"rubricate serve did not start in 90 s:\n{self.tail()}")
        found = re.search(r"local server \(for writes\): (\S+)", log.read_text(errors="replace"))
        self.local_token = found[1] if found else None


# --- HTTP ------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)

    def brief(self) -> str:
        return f"{self.status} {self.body[:160].decode(errors='replace')!r}"


class Http:
    """One request per connection, so a probe's headers (Host, Origin, a broken body)
    never leak into the next."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        *,
        token: str | None = None,
        timeout: float = 60,
    ) -> Answer:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        began = time.monotonic()
        try:
            # the server may answer and close while the body is still being sent
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.request(method, path, body=body, headers=sent)  # type: ignore[arg-type]
            answer = connection.getresponse()
            data = answer.read()
            return Answer(
                answer.status,
                data,
                {k.lower(): v for k, v in answer.getheaders()},
                time.monotonic() - began,
            )
        finally:
            connection.close()

    def json(
        self, method: str, path: str, payload: object, *, token: str | None, **headers: str
    ) -> Answer:
        body = json.dumps(payload).encode()
        sent = {"Content-Type": "application/json", **headers}
        return self.request(method, path, body, sent, token=token)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if condition():
            return time.monotonic() - began
        time.sleep(0.2)
    raise Defect(f"timed out after {timeout:g} s waiting for {what}")


def environment(database_url: str, fake_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "RUBRICATE_DATABASE_URL": database_url,
        "RUBRICATE_SETTINGS_FILE": os.devnull,
        "RUBRICATE_RESPONSE_CACHE": "false",  # every judge reply comes from the fake server
        "OPENAI_BASE_URL": fake_url,
        "OPENAI_API_KEY": "sk-security-bench",
        **extra,
    }
