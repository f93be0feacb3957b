"""The queries over user accounts: all of them by name, whether there is any, and the one a
token's digest belongs to."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from rubricate.store.tables import UserRecord


def all_users(session: Session) -> Sequence[UserRecord]:
    """Every account, by name."""
    return session.scalars(select(UserRecord).order_by(UserRecord.name)).all()


def any_user(session: Session) -> bool:
    """Whether there is at least one account."""
    return session.scalars(select(UserRecord.name).limit(1)).first() is not None


def user_with_token(session: Session, digest: str) -> UserRecord | None:
    """The account whose API token has this digest, if any."""
    return session.scalars(select(UserRecord).where(UserRecord.token_digest == digest)).first()
