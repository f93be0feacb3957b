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
import asyncio
import hashlib
import inspect
import itertools
import json
import signal
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields, replace
from types import FrameType
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rubricate.testing import _fake_wire as wire

Api = Literal["chat", "responses"]
HANG_SECONDS = 3600.0
MAX_RECORDED_REQUESTS = 10_000
DEFAULT_MODELS = ("fake-judge",)


@dataclass(frozen=True)
class Fault:
    """What to do instead of answering: exactly one of `status`, `hang` and `malformed`.

    `status`: reply with that HTTP error and an OpenAI error body (`message`, `code` override
    the defaults); `retry_after` (seconds) sets the `Retry-After` header. `hang`: answer
    nothing for an hour (until the client gives up or the server stops). `malformed`: 200
    with a body that is not valid JSON. The fault applies only to requests whose last user
    message contains `when_contains` (when given), `times` times (None: forever).
    """

    status: int | None = None
    retry_after: float | None = None
    hang: bool = False
    malformed: bool = False
    when_contains: str | None = None
    times: int | None = 1
    message: str | None = None
    code: str | None = None

    def __post_init__(self) -> None:
        if (self.status is not None) + self.hang + self.malformed != 1:
            raise ValueError("a Fault needs exactly one of status=..., hang=True, malformed=True")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"a Fault status must be an HTTP error (400-599), not {self.status}")
        if self.retry_after is not None and (self.status is None or self.retry_after < 0):
            raise ValueError("retry_after needs a status and must not be negative")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for forever)")

    @classmethod
    def from_json(cls, data: object) -> Fault:
        """A fault from its JSON object (the fields of this class); ValueError when invalid."""
        if not isinstance(data, dict):
            raise ValueError(f"a fault must be a JSON object, not {data!r}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FakeRequest:
    """A request to the model API, normalized from either API for responders and tests.

    `messages` are `{"role", "content"}` plain-text dicts (roles system, developer, user,
    assistant, tool; a Responses `instructions` becomes a leading system message). `key` is
    the stable hash of the body without volatile fields (`by_request`'s key).
    """

    api: Api
    model: str
    messages: list[dict[str, str]]
    tool_names: list[str]
    wants_json: bool
    raw: dict[str, Any]
    headers: dict[str, str]
    key: str

    @property
    def last_user_message(self) -> str:
        for message in reversed(self.messages):
            if message["role"] == "user":
                return message["content"]
        return ""


@dataclass(frozen=True)
class FakeReply:
    """A responder's answer: `text`, or a tool call with `tool_args` (a dict, sent as JSON,
    or a string, sent verbatim) to `tool_name` (default: the first tool offered). Token
    counts default to estimates from the text lengths."""

    text: str | None = None
    tool_args: dict[str, Any] | str | None = None
    tool_name: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.tool_args is None):
            raise ValueError("a FakeReply needs exactly one of text=... and tool_args=...")


Responder = Callable[[FakeRequest], FakeReply | Awaitable[FakeReply]]


def default_score(text: str) -> int:
    """The default responder's score for a last user message: 1..5, stable across runs."""
    return hashlib.sha256(text.encode()).digest()[0] % 5 + 1


def judge_responder(request: FakeRequest) -> FakeReply:
    """Answers like an LLM judge: a call of the first tool offered (unless JSON output is
    asked for), else text, with `{"score": S, "rationale": ...}`."""
    score = default_score(request.last_user_message)
    answer = {"score": score, "rationale": f"The fake judge gives {score}."}
    if request.tool_names and not request.wants_json:
        return FakeReply(tool_args=answer)
    return FakeReply(text=json.dumps(answer))


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


# --- the ASGI application -------------------------------------------------------------------


def _error(status: int, message: str, *, code: str | None = None, **headers: str) -> Response:
    return JSONResponse(wire.error_body(status, message, code=code), status, headers=headers)


def _normalize(api: Api, body: dict[str, Any], headers: dict[str, str]) -> FakeRequest:
    read = api == "chat"
    model = body.get("model")
    return FakeRequest(
        api=api,
        model=model if isinstance(model, str) else "",
        messages=wire.chat_messages(body) if read else wire.responses_messages(body),
        tool_names=wire.chat_tool_names(body) if read else wire.responses_tool_names(body),
        wants_json=wire.chat_wants_json(body) if read else wire.responses_wants_json(body),
        raw=body,
        headers=headers,
        key=wire.request_key(body),
    )


class _FakeApp:
    """The Starlette app serving one `FakeOpenAI`; `stop()` ends pauses and hangs early."""

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self.asgi = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/_fake/stats", self._stats, methods=["GET"]),
                Route("/_fake/reset", self._reset, methods=["POST"]),
                Route("/_fake/config", self._config, methods=["GET", "POST"]),
            ],
            exception_handlers={HTTPException: self._http_error},
        )

    def bind(self) -> None:
        """Called on the server's event loop before it serves."""
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()

    def stop(self) -> None:
        """Thread-safe: wake every pause and hang so the server can shut down at once."""
        self._stopping = True
        if self._loop is not None and self._stop_event is not None:
            with suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._stop_event.set)

    async def _pause(self, seconds: float) -> bool:
        """Sleep, unless the server stops meanwhile; True when it stopped."""
        if self._stopping or self._stop_event is None:
            return self._stopping
        if seconds > 0:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop_event.wait(), seconds)
        return self._stopping

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return _error(status, f"{request.method} {request.url.path}: {exc}")

    async def _chat(self, request: Request) -> Response:
        return await self._serve(request, "chat")

    async def _responses(self, request: Request) -> Response:
        return await self._serve(request, "responses")

    async def _serve(self, http: Request, api: Api) -> Response:
        try:
            body = json.loads(await http.body())
        except ValueError as exc:
            return _error(400, f"the request body is not valid JSON: {exc}")
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object")
        request = _normalize(api, body, dict(http.headers))
        fake = self.fake
        fake._started(request)
        try:
            key = fake.require_key
            if key is not None and http.headers.get("authorization") != f"Bearer {key}":
                return _error(401, "Incorrect API key provided (fake server).")
            if body.get("stream"):
                return _error(400, "the fake OpenAI server does not support stream=true")
            if await self._pause(fake.latency):
                return _error(503, "the fake server is stopping")
            fault = fake._take_fault(request.last_user_message)
            if fault is not None:
                return await self._fault(http, fault)
            return await self._answer(request)
        finally:
            fake._finished()

    async def _fault(self, http: Request, fault: Fault) -> Response:
        if fault.malformed:
            return Response(wire.MALFORMED_BODY, 200, media_type="application/json")
        if fault.hang:
            deadline = time.monotonic() + HANG_SECONDS
            while time.monotonic() < deadline and not await http.is_disconnected():
                if await self._pause(0.05):
                    break
            return _error(503, "the fake server is stopping")
        assert fault.status is not None
        headers = {}
        if fault.retry_after is not None:
            headers["retry-after"] = f"{fault.retry_after:g}"
        message = fault.message or f"Injected fault: HTTP {fault.status} (fake server)."
        return _error(fault.status, message, code=fault.code, **headers)

    async def _answer(self, request: FakeRequest) -> Response:
        fake = self.fake
        try:
            reply = fake.responder(request)
            if inspect.isawaitable(reply):
                reply = await reply
            if not isinstance(reply, FakeReply):
                raise TypeError(f"the responder returned {reply!r}, not a FakeReply")
            tool: tuple[str, str] | None = None
            if reply.tool_args is not None:
                name = reply.tool_name or next(iter(request.tool_names), None)
                if name is None:
                    raise ValueError("the reply calls a tool but the request offers none")
                args = reply.tool_args
                tool = (name, args if isinstance(args, str) else json.dumps(args))
        except Exception as exc:
            fake._responder_failed(repr(exc))
            return _error(500, f"the fake server's responder failed: {exc!r}")
        output = reply.text if tool is None else tool[1]
        prompt = "".join(message["content"] for message in request.messages)
        body = wire.reply_body(
            request.api,
            request.raw,
            number=next(fake._ids),
            model=request.model,
            text=reply.text,
            tool=tool,
            input_tokens=reply.input_tokens or wire.estimate_tokens(prompt),
            output_tokens=reply.output_tokens or wire.estimate_tokens(output or ""),
        )
        return JSONResponse(body)

    async def _models(self, request: Request) -> Response:
        return JSONResponse(wire.models_list(self.fake.models))

    async def _stats(self, request: Request) -> Response:
        return JSONResponse(self.fake.stats())

    async def _reset(self, request: Request) -> Response:
        """Clear the statistics; the JSON body `{"config": true}` restores the defaults too."""
        raw = await request.body()
        try:
            options = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            return _error(400, f"the request body is not valid JSON: {exc}")
        self.fake.reset(config=isinstance(options, dict) and options.get("config") is True)
        return JSONResponse(self.fake.stats())

    async def _config(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.fake.configure(json.loads(await request.body()))
            except ValueError as exc:
                return _error(400, str(exc))
        return JSONResponse(self.fake.config())


# --- running it -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunningFake:
    """A fake server being served: `base_url` is what OpenAI clients take."""

    fake: FakeOpenAI
    port: int
    base_url: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", f"http://127.0.0.1:{self.port}/v1")


class _BackgroundServer:
    """uvicorn on 127.0.0.1 in a daemon thread, on a socket bound before it starts."""

    def __init__(self, fake: FakeOpenAI, port: int) -> None:
        self.app = _FakeApp(fake)
        # proto=IPPROTO_TCP: accepted sockets inherit it, and asyncio sets TCP_NODELAY only
        # on those (without it, each keep-alive reply waits ~40 ms for a delayed ACK)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", port))
        except OSError:
            self.sock.close()
            raise
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(
            self.app.asgi,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, name=f"fake-openai-{self.port}", daemon=True
        )

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()
            self.error = exc

    async def _serve(self) -> None:
        self.app.bind()
        await self.server.serve(sockets=[self.sock])

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the fake OpenAI server did not start: {self.error!r}")
            time.sleep(0.005)

    def stop(self) -> None:
        self.app.stop()
        self.server.should_exit = True
        self.thread.join(timeout=3.0)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout=3.0)
        self.sock.close()


@contextmanager
def running(fake: FakeOpenAI | None = None, *, port: int = 0) -> Iterator[RunningFake]:
    """Serve `fake` (a new `FakeOpenAI` by default) on 127.0.0.1:`port` (0: a free port) in
    a background thread; returns once it accepts connections and stops it on exit."""
    fake = fake if fake is not None else FakeOpenAI()
    server = _BackgroundServer(fake, port)
    server.start()
    try:
        yield RunningFake(fake=fake, port=server.port)
    finally:
        server.stop()


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
