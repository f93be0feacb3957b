"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from rubricate.api.roles import Access
from rubricate.service.users import SignInThrottled
from rubricate.service.workspace import Rubricate
from rubricate.web.pages.common import see_other
from rubricate.web.session import requires, sign_in, sign_out
from rubricate.web.templating import page

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this server: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/", dependencies=[requires(Access.PUBLIC)])
def home() -> Response:
    return see_other("/metrics")


@router.get("/login", dependencies=[requires(Access.PUBLIC)])
def login_form(request: Request, next: str | None = None) -> Response:
    if request.app.state.single_user:
        return see_other("/")
    return page(request, "login.html", next=_safe_next(next), failed=False)


@router.post("/login", dependencies=[requires(Access.PUBLIC)])
def login(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    rb: Rubricate = request.app.state.rubricate
    address = request.client.host if request.client else ""
    try:
        user = rb.users.sign_in(name, password, address)
    except SignInThrottled as throttled:
        response = page(
            request,
            "login.html",
            status_code=429,
            next=_safe_next(next),
            failed=False,
            throttled=str(throttled),
        )
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    if user is None:
        return page(request, "login.html", status_code=401, next=_safe_next(next), failed=True)
    sign_in(request, user)
    return see_other(_safe_next(next))


@router.post("/logout", dependencies=[requires(Access.PUBLIC)])
def logout(request: Request) -> Response:
    sign_out(request)
    return see_other("/login")
