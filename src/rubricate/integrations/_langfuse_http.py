"""Langfuse's public REST API over HTTP: the connection taken from the environment, basic
auth with the project's keys, paging, a few retries of 429/5xx, and errors that name what
to fix (a refused key names the variables it came from, never their values; an unreachable
host names the host and the setting that gives it).

Reference: https://api.reference.langfuse.com (the OpenAPI document of the public API).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx

from rubricate.domain.errors import InvalidInput, NotFound, Unavailable

PUBLIC_KEY = "LANGFUSE_PUBLIC_KEY"
SECRET_KEY = "LANGFUSE_SECRET_KEY"
HOST = "LANGFUSE_HOST"
HOST_ALIASES = (HOST, "LANGFUSE_BASE_URL")  # the newer SDKs' name for the same setting
DEFAULT_HOST = "https://cloud.langfuse.com"
PAGE_SIZE = 100  # items a page: the public API's largest
RETRIES = 3  # of a 429 or a 502/503/504, before the answer is an error
RETRY_STATUSES = frozenset({429, 502, 503, 504})
LONGEST_WAIT = 30.0  # seconds, whatever Retry-After asks
MESSAGE_CHARS = 300  # of a server's error message, in ours
SHORTEST_KEY = 4  # a key blanked out of a server's message from here on
OnPage = Callable[[int, int], None]  # (items on this page, total items)


@dataclass(frozen=True)
class LangfuseConnection:
    """Where Langfuse is and the project's API keys; the secret never shows in a repr.
    ``public_key_env`` and ``secret_key_env`` name the variables the keys came from, and
    ``host_setting`` the setting of the host: the errors name them (the command line's
    LANGFUSE_* by default, or a configured connection's own)."""

    host: str
    public_key: str
    secret_key: str = field(repr=False)
    public_key_env: str = PUBLIC_KEY
    secret_key_env: str = SECRET_KEY
    host_setting: str = HOST

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", check_host(self.host, self.host_setting))

    @property
    def keys(self) -> str:
        """The variables of the keys, as an error names them."""
        return f"{self.public_key_env} and {self.secret_key_env}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LangfuseConnection:
        """From LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_HOST (default
        https://cloud.langfuse.com), as Langfuse's own SDKs read them."""
        env = os.environ if environ is None else environ
        missing = [name for name in (PUBLIC_KEY, SECRET_KEY) if not env.get(name, "").strip()]
        if missing:
            raise InvalidInput(
                f"set {' and '.join(missing)}: the API keys of the Langfuse project (its "
                f"settings, API keys), and {HOST} unless it is {DEFAULT_HOST}",
                field=missing[0],
            )
        named = next((name for name in HOST_ALIASES if env.get(name, "").strip()), None)
        host = DEFAULT_HOST if named is None else env[named]
        return cls(host, env[PUBLIC_KEY].strip(), env[SECRET_KEY].strip(),
                   host_setting=named or HOST)  # fmt: skip


def check_host(host: str, setting: str = HOST) -> str:
    """An http(s) URL without a trailing slash; ``setting`` is where it was set."""
    text = host.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            f"{host!r} is not an http(s) URL: set {setting} to the Langfuse server, such as "
            f"{DEFAULT_HOST}",
            field=setting,
        )
    return text


class LangfuseClient:
    """The public API's calls that the connector makes, with its errors."""

    def __init__(
        self,
        connection: LangfuseConnection,
        *,
        timeout: float = 30.0,
        page_size: int = PAGE_SIZE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connection = connection
        self.host = connection.host
        self.setting = connection.host_setting  # named where the host may be at fault
        self.page_size = page_size
        self.timeout = timeout
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=connection.host,
            auth=httpx.BasicAuth(connection.public_key, connection.secret_key),
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "rubricate"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LangfuseClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(self._request("GET", path, params=dict(params or {})), "GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self._json(self._request("POST", path, json=body), "POST", path)

    def pages(
        self, path: str, params: Mapping[str, Any], on_page: OnPage | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paged list (``data`` and ``meta.totalPages``), page by page."""
        page = 1
        while True:
            body = self.get(path, {**params, "page": page, "limit": self.page_size})
            data, total_items, total_pages = self._page(body, path)
            if on_page is not None:
                on_page(len(data), total_items)
            yield from data
            if not data or page >= total_pages:
                return
            page += 1

    def _page(self, body: Any, path: str) -> tuple[list[dict[str, Any]], int, int]:
        data = body.get("data") if isinstance(body, dict) else None
        meta = body.get("meta") if isinstance(body, dict) else None
        if not isinstance(data, list) or not isinstance(meta, dict):
            raise self._unexpected("GET", path, "a page without data and meta")
        items, pages = meta.get("totalItems"), meta.get("totalPages")
        if not isinstance(items, int) or not isinstance(pages, int):
            raise self._unexpected("GET", path, "a page whose meta has no totalItems/totalPages")
        return [item for item in data if isinstance(item, dict)], items, pages

    def _request(self, method: str, path: str, **options: Any) -> Any:
        for attempt in range(RETRIES + 1):
            try:
                response = self._http.request(method, path, **options)
            except httpx.TimeoutException:
                raise Unavailable(
                    f"Langfuse at {self.host} did not answer {method} {path} within "
                    f"{self.timeout:g} s: check {self.setting}, or try again later"
                ) from None
            except httpx.TransportError as exc:
                raise Unavailable(
                    f"cannot reach Langfuse at {self.host} ({_reason(exc)}): check {self.setting} "
                    "and the network"
                ) from None
            if response.status_code in RETRY_STATUSES and attempt < RETRIES:
                self._sleep(_wait(response, attempt))
                continue
            return self._checked(response, method, path)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _checked(self, response: Any, method: str, path: str) -> Any:
        status = response.status_code
        if status < 300:
            return response
        if status == 401:
            raise Unavailable(
                f"Langfuse at {self.host} refused the API keys (401 Unauthorized): check "
                f"{self.connection.keys} (a key pair of one project on this host; "
                f"{self.setting} names the host)"
            )
        if status == 403:
            raise Unavailable(
                f"Langfuse at {self.host} does not let the keys of "
                f"{self.connection.public_key_env} {method} {path} (403 Forbidden): use keys of "
                "a project that may"
            )
        if status == 404:
            raise LangfuseNotFound(
                f"Langfuse at {self.host} has no {method} {path} (404): is {self.setting} the "
                "Langfuse server, of a version that serves its public API?"
            )
        if 300 <= status < 400:
            moved = response.headers.get("location", "elsewhere")
            raise Unavailable(
                f"Langfuse at {self.host} answered {status}, moved to {moved}: set "
                f"{self.setting} to it"
            )
        raise Unavailable(
            f"Langfuse at {self.host} answered {status} to {method} {path}"
            + (f": {message}" if (message := self._message(response)) else "")
        )

    def _message(self, response: Any) -> str:
        try:
            body = response.json()
        except ValueError:
            text = response.text
        else:
            found = body.get("message", body.get("error")) if isinstance(body, dict) else body
            text = found if isinstance(found, str) else str(found or "")
        text = " ".join(text.split())[:MESSAGE_CHARS]
        for key in (self.connection.public_key, self.connection.secret_key):
            if len(key) >= SHORTEST_KEY:  # a server that repeats the keys it was given
                text = text.replace(key, "***")
        return text

    def _json(self, response: Any, method: str, path: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._unexpected(method, path, "something that is not JSON") from None

    def _unexpected(self, method: str, path: str, what: str) -> Unavailable:
        return Unavailable(
            f"Langfuse at {self.host} answered {method} {path} with {what}: is {self.setting} the "
            "Langfuse server (its public API under /api/public)?"
        )


class LangfuseNotFound(NotFound):
    """A 404 of the public API: the caller says what was missing."""


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:MESSAGE_CHARS] or type(exc).__name__


def _wait(response: Any, attempt: int) -> float:
    """Retry-After (seconds) when given, else 1, 2, 4 s; at most LONGEST_WAIT."""
    given = response.headers.get("retry-after")
    try:
        seconds = float(given) if given is not None else 2.0**attempt
    except ValueError:  # an HTTP date: wait as if none were given
        seconds = 2.0**attempt
    return max(0.0, min(seconds, LONGEST_WAIT))
