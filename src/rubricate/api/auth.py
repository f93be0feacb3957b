"""API tokens for scripts: ``Authorization: Bearer <token>``. A token is a user's (made by
``rubricate users token NAME``, with that user's role) or one of RUBRICATE_API_TOKENS
(an operator's, admin). Tokens are kept as sha256 digests only and compared in constant
time; a token is never echoed back."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rubricate.domain.users import LOCAL, Role, User
from rubricate.service.workspace import Rubricate

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`")

SINGLE_USER = LOCAL.name
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class Tokens:
    """The operator's tokens as sha256 digests with their names. ``single_user``: no token
    is needed (a local, single-user server)."""

    def __init__(self, tokens: Mapping[str, str], *, single_user: bool) -> None:
        self._digests = [(digest(token), name) for token, name in tokens.items()]
        self.single_user = single_user

    def name_of(self, token: str) -> str | None:
        wanted = digest(token)
        found = None
        for known, name in self._digests:  # every digest compared: no early exit
            if hmac.compare_digest(known, wanted):
                found = name
        return found


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def _user_of(request: Request, token: str) -> User | None:
    tokens: Tokens = request.app.state.tokens
    name = tokens.name_of(token)
    if name is not None:
        request.state.operator = True
        return User(name, Role.ADMIN)
    rb: Rubricate = request.app.state.rubricate
    return rb.users.by_token(token)


def is_operator(request: Request) -> bool:
    """An operator's token (RUBRICATE_API_TOKENS) or the local server's one user: they may
    write on others' behalf (an import, a script); a user's token acts as that user only."""
    return bool(getattr(request.state, "operator", False))


def _local_write_allowed(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> bool:
    """A write to a single-user server needs what another web site cannot send from the
    user's browser: the per-process token (or an operator's), or the web session's CSRF
    token as the X-CSRF-Token header (what the served pages send)."""
    if credentials is not None:
        local: str = request.app.state.local_token
        sent = credentials.credentials
        tokens: Tokens = request.app.state.tokens
        if hmac.compare_digest(digest(sent), digest(local)) or tokens.name_of(sent):
            return True
    session = request.scope.get("session")
    expected = session.get("csrf") if isinstance(session, dict) else None
    sent_csrf = request.headers.get(CSRF_HEADER)
    return bool(
        isinstance(expected, str) and sent_csrf and hmac.compare_digest(sent_csrf, expected)
    )


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's name: its token's name, or ``local`` on a single-user server. The
    caller (name and role) is kept on ``request.state.user`` for the role checks."""
    tokens: Tokens = request.app.state.tokens
    if tokens.single_user:
        if request.method not in SAFE_METHODS and not _local_write_allowed(request, credentials):
            raise _unauthorized(
                "a write to this local server needs its token: Authorization: Bearer <token> "
                "(printed by `rubricate serve` at start, or one of RUBRICATE_API_TOKENS); "
                "this keeps other web sites open in your browser from writing here"
            )
        request.state.user = LOCAL
        request.state.operator = True
        return LOCAL.name
    if credentials is None:
        raise _unauthorized("an API token is required: Authorization: Bearer <token>")
    user = _user_of(request, credentials.credentials)
    if user is None:
        raise _unauthorized("unknown API token")
    request.state.user = user
    return user.name


def current_user(request: Request, _: Annotated[str, Depends(authenticate)]) -> User:
    user: User = request.state.user
    return user


Caller = Annotated[str, Depends(authenticate)]
CallerUser = Annotated[User, Depends(current_user)]
