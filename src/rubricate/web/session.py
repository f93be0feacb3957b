"""Who is signed in, and CSRF protection.

A session is a signed cookie (Starlette's SessionMiddleware) holding the user's name and a
random CSRF token. The user's role is read from the database on every request, so a removed
user is out at once. Every form posts the token (a hidden field); htmx sends it as the
``X-CSRF-Token`` header (set once on <body>). A single-user server (localhost, no
accounts) signs everyone in as ``local``, an admin, and still checks the token."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import Depends, Request

from rubricate.api.roles import Access, requirement
from rubricate.domain.errors import Forbidden, NotFound
from rubricate.domain.users import LOCAL, User
from rubricate.service.workspace import Rubricate

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(Exception):
    """Raised for a page that needs a user when nobody is signed in: go to /login."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def signed_in(request: Request) -> User | None:
    """The user of this request, or None."""
    if request.app.state.single_user:
        return LOCAL
    name = request.session.get("user")
    if not isinstance(name, str):
        return None
    rb: Rubricate = request.app.state.rubricate
    try:
        return rb.users.get(name)
    except NotFound:
        request.session.pop("user", None)
        return None


def sign_in(request: Request, user: User) -> None:
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["user"] = user.name
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def _current_user(request: Request) -> User:
    user = signed_in(request)
    if user is None:
        raise SignInRequired
    return user


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()  # Starlette keeps it: the route reads it again
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = request.session.get("csrf")
    if not sent or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise Forbidden("the form's CSRF token is missing or stale: reload the page and retry")


def requires(access: Access) -> Any:
    """A page's declaration of who may open it: ``dependencies=[requires(Access.ADMIN)]``
    (checked in rubricate.api.roles, the one place for the API and the web alike)."""
    return requirement(access, _current_user)


CurrentUser = Annotated[User, Depends(_current_user)]
