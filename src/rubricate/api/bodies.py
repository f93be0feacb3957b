"""Request body limits per route, before anything reads a body whole: a declared
Content-Length over the limit is refused at once, and a streamed (chunked) body is counted
chunk by chunk and refused as soon as it passes the limit. Plain ASGI, so it wraps every
route of the API and of the web UI alike. The numbers are in rubricate.limits."""

from __future__ import annotations

import json
import re

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rubricate.limits import BODY_MAX_FORM, BODY_MAX_JSON, BODY_MAX_UPLOAD

_UPLOAD = re.compile(r"^(/api/v1/evaluations/[^/]+/import|/evaluations/import)/?$")  # API, web


def body_limit(path: str) -> int:
    """The largest body ``path`` accepts: an upload, a JSON write, or a web form."""
    if _UPLOAD.match(path):
        return BODY_MAX_UPLOAD
    if path.startswith("/api/"):
        return BODY_MAX_JSON
    return BODY_MAX_FORM


def _too_large(limit: int) -> str:
    return f"the request body is larger than this route accepts ({limit} bytes)"


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, 413 if declared.isdigit() else 400, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # raised inside the app: its error handlers answer 413
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, send: Send, status: int, limit: int) -> None:
        message = _too_large(limit) if status == 413 else "Content-Length is not a number"
        error = {"message": message, "field": "body", "file": None, "line": None}
        body = json.dumps({"error": error}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
