"""The fake OpenAI server's HTTP side: the Starlette app over a `FakeOpenAI`, and serving it
with uvicorn in a background thread (see fake_openai.py; `serving` serves the fake Langfuse
too)."""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from rubricate.testing import _fake_wire as wire
from rubricate.testing._fake_types import (
    HANG_SECONDS,
    Api,
    FakeReply,
    FakeRequest,
    Fault,
)

if TYPE_CHECKING:
    from rubricate.testing.fake_openai import FakeOpenAI

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
        answer = wire.Answer(
            number=next(fake._ids),
            model=request.model,
            text=reply.text,
            tool=tool,
            input_tokens=reply.input_tokens or wire.estimate_tokens(prompt),
            output_tokens=reply.output_tokens or wire.estimate_tokens(output or ""),
        )
        return JSONResponse(wire.reply_body(request.api, request.raw, answer))

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


def _nothing() -> None:
    """No hook."""


@dataclass(frozen=True)
class RunningFake:
    """A fake server being served: `base_url` is what OpenAI clients take."""

    fake: FakeOpenAI
    port: int
    base_url: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", f"http://127.0.0.1:{self.port}/v1")


class _BackgroundServer:
    """uvicorn on 127.0.0.1 in a daemon thread, on a socket bound before it starts;
    ``bind`` runs on the server's event loop before it serves, ``stop`` first on stopping."""

    def __init__(
        self, asgi: ASGIApp, port: int, what: str, bind: Callable[[], None] = _nothing,
        stop: Callable[[], None] = _nothing,
    ) -> None:  # fmt: skip
        self.what, self.bind, self.on_stop = what, bind, stop
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
            asgi,
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
        name = what.removesuffix(" server").replace(" ", "-").lower()
        self.thread = threading.Thread(target=self._run, name=f"{name}-{self.port}", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()
            self.error = exc

    async def _serve(self) -> None:
        self.bind()
        await self.server.serve(sockets=[self.sock])

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {self.what} did not start: {self.error!r}")
            time.sleep(0.005)

    def stop(self) -> None:
        self.on_stop()
        self.server.should_exit = True
        self.thread.join(timeout=3.0)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout=3.0)
        self.sock.close()


@contextmanager
def serving(
    asgi: ASGIApp, port: int, what: str, bind: Callable[[], None] = _nothing,
    stop: Callable[[], None] = _nothing,
) -> Iterator[int]:  # fmt: skip
    """Serve ``asgi`` on 127.0.0.1:``port`` (0: a free port) in a background thread (the
    fake servers': ``what`` names it in errors); yields the port once it accepts
    connections, and stops it on exit."""
    server = _BackgroundServer(asgi, port, what, bind, stop)
    server.start()
    try:
        yield server.port
    finally:
        server.stop()


@contextmanager
def running(fake: FakeOpenAI | None = None, *, port: int = 0) -> Iterator[RunningFake]:
    """Serve `fake` (a new `FakeOpenAI` by default) on 127.0.0.1:`port` (0: a free port) in
    a background thread; returns once it accepts connections and stops it on exit."""
    from rubricate.testing.fake_openai import FakeOpenAI

    fake = fake if fake is not None else FakeOpenAI()
    app = _FakeApp(fake)
    with serving(app.asgi, port, "fake OpenAI server", app.bind, app.stop) as bound:
        yield RunningFake(fake=fake, port=bound)
