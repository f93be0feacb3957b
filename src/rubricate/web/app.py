"""The whole server app: the REST API (rubricate.api) and the web UI on one FastAPI app."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rubricate.api.app import create_app
from rubricate.api.queueing import RunQueue
from rubricate.service.workspace import Rubricate
from rubricate.web.pages import (
    audit,
    auth,
    connections,
    evaluations,
    metrics,
    queues,
    rescoring,
    rows,
    run_verify,
    runs,
    uploads,
)
from rubricate.web.session import SignInRequired, check_csrf
from rubricate.web.templating import page

STATIC = Path(__file__).parent / "static"
SESSION_DAYS = 14

# Scripts only from our own files (htmx, app.js): an injected <script> would not run even
# if escaping ever failed. Inline styles are allowed for htmx's indicator and SVG plots.
CONTENT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


# The services' messages point a CLI user at a command ("(see `rubricate metrics list`)");
# a web user gets the page's own links instead.
CLI_HINT = re.compile(r"\s*\((?:see )?`?rubricate [^)]*\)")


def error_page(request: Request, status: int, message: str) -> Response:
    """An error on a web page: a page of its own, or for htmx an alert in the page's
    message area (the page stays as it was)."""
    message = CLI_HINT.sub("", message)
    if request.headers.get("HX-Request"):
        response = page(request, "partials/alert.html", status_code=status, message=message)
        response.headers.update({"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"})
        return response
    return page(request, "error.html", status_code=status, status=status, message=message)


async def _to_login(request: Request, _: Exception) -> Response:
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response (plain ASGI: no per-request task as
    Starlette's BaseHTTPMiddleware makes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_server_app(
    rb: Rubricate,
    *,
    single_user: bool = False,
    secret_key: str | None = None,
    tokens: Mapping[str, str] | None = None,
    run_queue: RunQueue | None = None,
    local_token: str | None = None,
    port: int | None = None,
    host: str | None = None,
) -> FastAPI:
    """The API under /api/v1 and the web UI. ``single_user``: no sign-in, for a server on
    localhost; ``secret_key`` signs session cookies (default: a new one each start, which
    signs everyone out on a restart). ``local_token``, ``port``, ``host``: the guard of a
    single-user server (see rubricate.api.create_app)."""
    app = create_app(
        rb,
        tokens=tokens,
        single_user=single_user,
        run_queue=run_queue,
        local_token=local_token,
        port=port,
        host=host,
    )
    app.state.single_user = single_user
    app.state.error_page = error_page
    app.add_exception_handler(SignInRequired, _to_login)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key or secrets.token_urlsafe(32),
        session_cookie="rubricate_session",
        max_age=SESSION_DAYS * 24 * 3600,
        same_site="lax",
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    web = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
    areas = (
        auth, metrics, rescoring, runs, run_verify, uploads, evaluations, rows, queues, audit,
        connections,
    )  # fmt: skip
    for pages in areas:
        web.include_router(pages.router)
    app.include_router(web)
    return app
