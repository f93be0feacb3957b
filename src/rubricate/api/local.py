"""The guard of a single-user server (localhost, no accounts): it answers only to its own
loopback names, so a web site that rebinds its DNS name to 127.0.0.1 gets nothing (DNS
rebinding), and it refuses a write whose Origin (or Referer) is another site. Writes also
need a token (api/auth.py), which other sites cannot send from the user's browser."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from rubricate.api.auth import SAFE_METHODS

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def _host_and_port(netloc: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit(f"//{netloc}")
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", None


class LocalOnly:
    """Plain ASGI middleware. ``port``: the served port (None: any, e.g. in tests);
    ``names``: the loopback names served (the host given to ``serve`` is added)."""

    def __init__(
        self, app: ASGIApp, *, port: int | None = None, names: frozenset[str] = LOOPBACK_NAMES
    ) -> None:
        self.app = app
        self.port = port
        self.names = names

    def _ours(self, netloc: str, default_port: int | None) -> bool:
        host, port = _host_and_port(netloc)
        if host not in self.names:
            return False
        return self.port is None or (port or default_port) == self.port

    def _refusal(self, scope: Scope) -> str | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self._ours(host, 80):
            return (
                f"this local server answers only to its loopback names "
                f"({', '.join(sorted(self.names))}), not to Host {host!r}"
            )
        if scope.get("method", "GET") in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None:
            if origin == "null" or not self._from_us(origin):
                return f"a write from another site ({origin}) is refused by this local server"
            return None
        referer = headers.get("referer")
        if referer is not None and not self._from_us(referer):
            return "a write from another site is refused by this local server (Referer)"
        return None

    def _from_us(self, url: str) -> bool:
        parts = urlsplit(url)
        default = {"http": 80, "https": 443}.get(parts.scheme)
        return default is not None and self._ours(parts.netloc, default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no websockets are served
            await self.app(scope, receive, send)
            return
        message = self._refusal(scope)
        if message is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"error": {"message": message, "field": None, "file": None, "line": None}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
