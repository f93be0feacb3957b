"""Use cases on users: add, remove, sign in with a password, API tokens. Passwords are kept
as scrypt hashes and tokens as sha256 digests: neither can be read back."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from datetime import timedelta

from rubricate.domain.errors import Conflict, InvalidInput, NotFound, RubricateError
from rubricate.domain.users import Role, User
from rubricate.limits import (
    SIGNIN_MAX_FAILURES_PER_ADDRESS,
    SIGNIN_MAX_FAILURES_PER_USER,
    SIGNIN_WINDOW_SECONDS,
)
from rubricate.service.base import Service
from rubricate.store import sign_ins, users
from rubricate.store.tables import UserRecord, utcnow

USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
MIN_PASSWORD = 8
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # OWASP's minimum for scrypt; about 50 ms a check
SIGNIN_WINDOW = timedelta(seconds=SIGNIN_WINDOW_SECONDS)
_UNUSABLE = "scrypt$" + "0" * 32 + "$" + "0" * 128  # compared against for unknown users


class SignInThrottled(RubricateError):
    """Too many failed sign-ins for a name or from an address: try after ``retry_after``
    seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        minutes = math.ceil(self.retry_after / 60)
        super().__init__(
            f"too many failed sign-ins: try again in {minutes} minute{'s' * (minutes != 1)}"
        )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${key.hex()}"


def password_matches(password: str, stored: str) -> bool:
    _, salt, key = stored.split("$")
    found = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(found.hex(), key)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(record: UserRecord) -> User:
    return User(record.name, Role(record.role))


def _checked_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput("role must be reviewer or admin", field="role") from None


class UserService(Service):
    def add(self, name: str, role: str, password: str) -> User:
        if not USER_NAME.fullmatch(name):
            raise InvalidInput(
                "a user name is letters, digits, '.', '_', '@' or '-' (up to 100)", field="name"
            )
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(
                f"a password has at least {MIN_PASSWORD} characters", field="password"
            )
        checked = _checked_role(role)
        with self._db.write() as session:
            if session.get(UserRecord, name) is not None:
                raise Conflict(f"user {name!r} exists already")
            session.add(
                UserRecord(name=name, role=checked.value, password_hash=hash_password(password))
            )
        return User(name, checked)

    def list(self) -> list[User]:
        with self._db.read() as session:
            return [_user(r) for r in users.all_users(session)]

    def any(self) -> bool:
        with self._db.read() as session:
            return users.any_user(session)

    def get(self, name: str) -> User:
        with self._db.read() as session:
            record = session.get(UserRecord, name)
            if record is None:
                raise NotFound(f"no user named {name!r}")
            return _user(record)

    def remove(self, name: str) -> None:
        with self._db.write() as session:
            record = session.get(UserRecord, name)
            if record is None:
                raise NotFound(f"no user named {name!r}")
            session.delete(record)

    def sign_in(self, name: str, password: str, address: str = "") -> User | None:
        """The user if ``password`` is theirs; None otherwise (the same work either way,
        so timing does not tell which names exist). After too many failures for the
        name or from ``address`` (the client's) within the window, SignInThrottled is
        raised before the password is even checked."""
        now = utcnow()
        with self._db.read() as session:
            until = sign_ins.blocked_until(
                session,
                name,
                address,
                now,
                SIGNIN_WINDOW,
                per_user=SIGNIN_MAX_FAILURES_PER_USER,
                per_address=SIGNIN_MAX_FAILURES_PER_ADDRESS,
            )
            if until is not None:
                raise SignInThrottled(math.ceil((until - now).total_seconds()))
            record = session.get(UserRecord, name) if USER_NAME.fullmatch(name) else None
            stored = record.password_hash if record is not None else None
            matches = password_matches(password, stored or _UNUSABLE)
            user = _user(record) if record is not None and stored and matches else None
        with self._db.write() as session:
            if user is None:
                sign_ins.record_failure(session, name, address, now, SIGNIN_WINDOW)
            else:
                sign_ins.forget_user(session, name)
        return user

    def new_token(self, name: str) -> str:
        """A new API token for ``name``, replacing any earlier one; shown once."""
        token = secrets.token_urlsafe(32)
        with self._db.write() as session:
            record = session.get(UserRecord, name)
            if record is None:
                raise NotFound(f"no user named {name!r}")
            record.token_digest = token_digest(token)
        return token

    def by_token(self, token: str) -> User | None:
        with self._db.read() as session:
            record = users.user_with_token(session, token_digest(token))
            return _user(record) if record is not None else None
