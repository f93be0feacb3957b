"""What the pages share to read a request and to answer one: the fields several forms
post, the page number of a long list, whether htmx asked, the redirect after a post, and
an error's words for the page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from rubricate.domain.errors import RubricateError

RowField = Annotated[str, Form(min_length=1, max_length=200)]  # a row's id, as in the user's files
ScoreField = Annotated[str, Form(min_length=1, max_length=100)]  # a score or value, as typed
PageNumber = Annotated[int, Query(alias="page", ge=1, le=10_000_000)]  # from 1
PostedPage = Annotated[int, Form(alias="page", ge=1, le=10_000_000)]  # the page a form was on


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def see_other(url: str) -> Response:
    """After a post: the page to show next (a GET, so that a reload posts nothing again)."""
    return RedirectResponse(url, status_code=303)


def problem(error: RubricateError) -> str:
    """An error as a page says it: its message without the file and line, if it has one."""
    return getattr(error, "message", None) or str(error)
