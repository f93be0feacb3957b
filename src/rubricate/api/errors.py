"""Errors as JSON: ``{"error": {"message", "field", "file", "line"}}``, with the status
each kind of error means (NotFound 404, Conflict 409, InvalidInput 422, Unavailable 503)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from rubricate.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RubricateError,
    Unavailable,
)


class ErrorDetail(BaseModel):
    message: str
    field: str | None = None
    file: str | None = None
    line: int | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


_DESCRIPTIONS = {
    401: "Missing or unknown API token",
    403: "The caller's role does not allow this (admins only)",
    413: "The request body is larger than this route accepts",
    404: "Not found",
    409: "Conflicts with what is stored",
    422: "Invalid input; `field` names the parameter at fault",
    503: "The database or the run queue cannot be used",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error responses a route declares; 401, 422 and 503 are added to every route by
    the app (every route takes a token, validates its input and uses the database)."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


ErrorPage = Callable[[Request, int, str], Response]


def _body(
    request: Request,
    status: int,
    message: str,
    *,
    field: str | None = None,
    file: str | None = None,
    line: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """JSON under /api; elsewhere the web UI's error page, when the app has one."""
    page: ErrorPage | None = getattr(request.app.state, "error_page", None)
    if page is not None and not request.url.path.startswith("/api/"):
        return page(request, status, message)
    detail = ErrorDetail(message=message, field=field, file=file, line=line)
    return JSONResponse(
        ErrorBody(error=detail).model_dump(mode="json"), status_code=status, headers=headers
    )


def status_of(error: RubricateError) -> int:
    """The HTTP status an error means (the web's pages answer with it too)."""
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, Unavailable):
        return 503
    return 422


async def _rubricate_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RubricateError)
    if isinstance(error, InvalidInput):
        return _body(
            request, 422, error.message, field=error.field, file=error.file, line=error.line
        )
    return _body(request, status_of(error), str(error))


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    if not problems:
        return _body(request, 422, "invalid request")
    first = problems[0]
    field = _field_of(first.get("loc", ()))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    text = f"{field}: {message}" if field else message
    if len(problems) > 1:
        text += f" (and {len(problems) - 1} more)"
    return _body(request, 422, text, field=field)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    message = error.detail if isinstance(error.detail, str) else str(error.detail)
    if error.status_code == 400:  # a body that is not JSON at all: invalid input, as any other
        return _body(request, 422, f"the request body cannot be read: {message}", field="body")
    field = "body" if error.status_code == 413 else None  # api/bodies.py's limits
    headers = getattr(error, "headers", None)
    return _body(request, error.status_code, message, field=field, headers=headers)


async def _database_error(request: Request, error: Exception) -> Response:
    """A database that went away mid-request (the services' own checks say Unavailable)."""
    assert isinstance(error, OperationalError)
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return _body(request, 503, f"the database cannot be used: {reason}")


def install(app: FastAPI) -> None:
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(RubricateError, _rubricate_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
