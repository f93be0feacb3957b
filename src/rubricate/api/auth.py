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
        return User(name, Role.ADMIN)
    rb: Rubricate = request.app.state.rubricate
    return rb.users.by_token(token)


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's name: its token's name, or ``local`` on a single-user server. The
    caller (name and role) is kept on ``request.state.user`` for the role checks."""
    tokens: Tokens = request.app.state.tokens
    if tokens.single_user:
        request.state.user = LOCAL
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
