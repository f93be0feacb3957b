"""A fake OpenAI-compatible HTTP server for tests and benchmarks.

It serves the Chat Completions API (`POST /v1/chat/completions`), the Responses API
(`POST /v1/responses`) and `GET /v1/models` on 127.0.0.1, so the real client code path
(the `openai` SDK, through pydantic-ai) runs against it::

    fake = FakeOpenAI(latency=0.05)
    fake.faults = [Fault(status=429, retry_after=1.0)]
    with running(fake) as server:
        client = OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        ...
    assert fake.requests_total == ...

A *responder* decides each answer (`fake.responder = fn`, `fn(FakeRequest) -> FakeReply`,
or an async function); the default one, `judge_responder`, answers like an LLM judge with
`{"score": S, "rationale": "..."}`, S in 1..5 from a hash of the last user message
(`default_score`). Faults (`Fault`) are planned per request; statistics are kept for the
tests to assert on. Tests that run the server in another process (`python -m
rubricate.testing.fake_openai`) use the control endpoints under `/_fake/`: `GET stats`,
`POST reset`, `GET`/`POST config`.

Streaming is not supported: `stream: true` is answered with 400.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import threading
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any

from rubricate.testing._fake_app import RunningFake, running
from rubricate.testing._fake_types import (
    DEFAULT_MODELS,
    MAX_RECORDED_REQUESTS,
    FakeReply,
    FakeRequest,
    Fault,
    Responder,
    default_score,
    judge_responder,
)

__all__ = [
    "FakeOpenAI",
    "FakeReply",
    "FakeRequest",
    "Fault",
    "RunningFake",
    "default_score",
    "judge_responder",
    "main",
    "running",
]


@dataclass
class _Planned:
    fault: Fault
    left: int | None  # None: forever


class FakeOpenAI:
    """The configuration and the statistics of a fake server (thread-safe).

    Configuration, changeable at any time: `latency` (seconds before every reply),
    `faults` (the plan), `require_key` (the API key to demand), `responder`, `models`.
    Statistics: `requests_total`, `in_flight`, `max_in_flight`, `faults_served`,
    `by_request` (Counter of request keys), `by_api`, `requests` (the last 10,000
    `FakeRequest`s), `responder_errors`; `reset()` clears them (not the configuration).
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        faults: Iterable[Fault] = (),
        require_key: str | None = None,
        responder: Responder = judge_responder,
        models: tuple[str, ...] = DEFAULT_MODELS,
    ) -> None:
        self.latency = latency
        self.require_key = require_key
        self.responder = responder
        self.models = models
        self._lock = threading.Lock()
        self._plan: list[_Planned] = []
        self._ids = itertools.count(1)
        self._in_flight = 0
        self.faults = list(faults)
        self.reset()

    # --- faults ---------------------------------------------------------------------------

    @property
    def faults(self) -> list[Fault]:
        """The faults still planned, with their remaining `times`."""
        with self._lock:
            return [replace(planned.fault, times=planned.left) for planned in self._plan]

    @faults.setter
    def faults(self, faults: Iterable[Fault]) -> None:
        plan = [_Planned(fault, fault.times) for fault in faults]
        with self._lock:
            self._plan = plan

    def add_faults(self, *faults: Fault) -> None:
        """Append faults to the plan."""
        with self._lock:
            self._plan.extend(_Planned(fault, fault.times) for fault in faults)

    def _take_fault(self, last_user_message: str) -> Fault | None:
        """The first planned fault that applies to this request, consumed once."""
        with self._lock:
            for index, planned in enumerate(self._plan):
                fault = planned.fault
                if fault.when_contains is not None and fault.when_contains not in last_user_message:
                    continue
                if planned.left is not None:
                    planned.left -= 1
                    if planned.left == 0:
                        del self._plan[index]
                self._faults_served += 1
                return fault
        return None

    # --- statistics -----------------------------------------------------------------------

    def reset(self, *, config: bool = False) -> None:
        """Clear the statistics (requests being served still count as in flight); with
        `config=True`, also restore the default configuration (no latency, faults or key,
        `judge_responder`, the default models)."""
        if config:
            self.latency, self.require_key = 0.0, None
            self.responder, self.models = judge_responder, DEFAULT_MODELS
            self.faults = []
        with self._lock:
            self._requests_total = 0
            self._max_in_flight = self._in_flight
            self._faults_served = 0
            self._by_request: Counter[str] = Counter()
            self._by_api: Counter[str] = Counter()
            self._requests: deque[FakeRequest] = deque(maxlen=MAX_RECORDED_REQUESTS)
            self._responder_errors: list[str] = []

    @property
    def requests_total(self) -> int:
        return self._requests_total

    @property
    def in_flight(self) -> int:
        """Requests being served now."""
        return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests served at once since the last reset."""
        return self._max_in_flight

    @property
    def faults_served(self) -> int:
        return self._faults_served

    @property
    def by_request(self) -> Counter[str]:
        with self._lock:
            return self._by_request.copy()

    @property
    def by_api(self) -> Counter[str]:
        with self._lock:
            return self._by_api.copy()

    @property
    def requests(self) -> list[FakeRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def responder_errors(self) -> list[str]:
        with self._lock:
            return list(self._responder_errors)

    @property
    def duplicate_requests(self) -> int:
        """How many requests repeated an earlier request's key."""
        with self._lock:
            return sum(count - 1 for count in self._by_request.values())

    def stats(self) -> dict[str, Any]:
        """The statistics as JSON (what `GET /_fake/stats` returns)."""
        with self._lock:
            return {
                "requests_total": self._requests_total,
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "faults_served": self._faults_served,
                "duplicate_requests": sum(c - 1 for c in self._by_request.values()),
                "by_api": dict(self._by_api),
                "by_request": dict(self._by_request),
                "responder_errors": list(self._responder_errors),
            }

    def config(self) -> dict[str, Any]:
        """The configuration as JSON (what `GET /_fake/config` returns)."""
        return {
            "latency": self.latency,
            "require_key": self.require_key,
            "faults": [fault.to_json() for fault in self.faults],
            "models": list(self.models),
        }

    def configure(self, data: object) -> None:
        """Apply a JSON configuration (`latency`, `faults`, `require_key`, `models`, each
        optional; `faults` replaces the plan). ValueError when invalid, before any change."""
        if not isinstance(data, dict):
            raise ValueError("the configuration must be a JSON object")
        unknown = set(data) - {"latency", "faults", "require_key", "models"}
        if unknown:
            raise ValueError(f"unknown configuration fields: {sorted(unknown)}")
        latency = data.get("latency", self.latency)
        if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
            raise ValueError("latency must be a number of seconds >= 0")
        key = data.get("require_key", self.require_key)
        if key is not None and not isinstance(key, str):
            raise ValueError("require_key must be a string or null")
        models = data.get("models", list(self.models))
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise ValueError("models must be a list of strings")
        faults = data.get("faults")
        if faults is not None and not isinstance(faults, list):
            raise ValueError("faults must be a list")
        plan = None if faults is None else [Fault.from_json(item) for item in faults]
        self.latency, self.require_key, self.models = float(latency), key, tuple(models)
        if plan is not None:
            self.faults = plan

    def _started(self, request: FakeRequest) -> None:
        with self._lock:
            self._requests_total += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._by_request[request.key] += 1
            self._by_api[request.api] += 1
            self._requests.append(request)

    def _finished(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _responder_failed(self, message: str) -> None:
        with self._lock:
            self._responder_errors.append(message)


# --- command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rubricate.testing.fake_openai",
        description="Serve a fake OpenAI-compatible API on 127.0.0.1 until killed.",
    )
    parser.add_argument("--port", type=int, default=0, help="0 (the default): a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument("--require-key", help="demand `Authorization: Bearer KEY`")
    parser.add_argument("--fail-first", type=int, default=0, metavar="N", help="fail N requests")
    parser.add_argument("--fail-status", type=int, default=429, help="their status (429)")
    parser.add_argument("--retry-after", type=float, help="their Retry-After header, seconds")
    args = parser.parse_args(argv)
    faults = []
    if args.fail_first > 0:
        faults = [
            Fault(status=args.fail_status, retry_after=args.retry_after, times=args.fail_first)
        ]
    fake = FakeOpenAI(latency=args.latency, faults=faults, require_key=args.require_key)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with running(fake, port=args.port) as server:
        print(f"fake OpenAI server at {server.base_url}", flush=True)
        while not stop.wait(0.5):
            pass


if __name__ == "__main__":
    main()
