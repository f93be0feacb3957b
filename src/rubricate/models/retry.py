"""rubricate's one retry policy (the SDKs' own retries are off): which failures are worth
another try, and how long to wait before it, honouring Retry-After."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelHTTPError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelServerError,
    ModelTimeoutError,
    ModelUnavailableError,
    UnexpectedModelBehavior,
)


def is_fatal(error: BaseException) -> bool:
    """Failures that no row can get past: a refused key, an unknown model, a server that
    cannot be reached at all. The run stops instead of failing every row alike."""
    if isinstance(error, ModelAuthenticationError | ModelNotFoundError):
        return True
    if isinstance(error, ModelHTTPError) and error.status_code in {401, 403, 404}:
        return True
    return isinstance(error, ModelConnectionError) and not isinstance(error, ModelTimeoutError)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, TimeoutError | UnexpectedModelBehavior | json.JSONDecodeError):
        return True  # a timeout, or a reply that could not be read (malformed JSON)
    if isinstance(
        error, ModelRateLimitError | ModelServerError | ModelUnavailableError | ModelConnectionError
    ):
        return True
    if isinstance(error, ModelHTTPError):
        return error.status_code in {408, 409, 425, 429} or error.status_code >= 500
    return isinstance(error, ModelAPIError) and not is_fatal(error) and _unread_body(error)


def _unread_body(error: ModelAPIError) -> bool:
    cause = error.__cause__
    return cause is not None and type(cause).__name__ in {
        "APIResponseValidationError",
        "JSONDecodeError",
    }


def retry_after(error: BaseException) -> float | None:
    """Seconds the server asked us to wait, from Retry-After (seconds or an HTTP date)."""
    parsed = getattr(error, "retry_after", None)
    if isinstance(parsed, int | float):
        return max(0.0, float(parsed))
    headers = getattr(error, "headers", None) or {}
    value = headers.get("retry-after") if isinstance(headers, dict) else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff(attempt: int, base: float, cap: float, error: BaseException) -> float:
    """Wait before try ``attempt + 1``: the server's Retry-After when it gave one, else
    exponential backoff with jitter (so that many callers do not retry in step)."""
    asked = retry_after(error)
    if asked is not None:
        return min(asked, cap)
    wait: float = min(cap, base * 2 ** (attempt - 1))
    return wait * random.uniform(0.5, 1.0)
