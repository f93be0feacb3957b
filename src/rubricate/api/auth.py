"""API tokens for scripts: ``Authorization: Bearer <token>``. Tokens are kept as sha256
digests only and compared in constant time; a token is never echoed back."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`")

SINGLE_USER = "local"


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class Tokens:
    """The known tokens as sha256 digests with their names. ``single_user``: no token is
    needed (a local, single-user server)."""

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


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's name: its token's name, or ``local`` on a single-user server."""
    tokens: Tokens = request.app.state.tokens
    if tokens.single_user:
        return SINGLE_USER
    if credentials is None:
        raise _unauthorized("an API token is required: Authorization: Bearer <token>")
    name = tokens.name_of(credentials.credentials)
    if name is None:
        raise _unauthorized("unknown API token")
    return name


Caller = Annotated[str, Depends(authenticate)]
