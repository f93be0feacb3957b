"""Failed sign-ins, in the database so that every server process counts them all: a
failure is a row; the rows of a user name or an address within the window are its
failures; rows older than the window are deleted as new ones come."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from rubricate.store.tables import SignInAttemptRecord

_Attempt = SignInAttemptRecord


def record_failure(
    session: Session, user_name: str, address: str, now: datetime, window: timedelta
) -> None:
    session.execute(delete(_Attempt).where(_Attempt.attempted_at < now - window))
    session.add(_Attempt(user_name=user_name[:100], address=address[:64], attempted_at=now))


def forget_user(session: Session, user_name: str) -> None:
    """A successful sign-in clears the user's failures (not the address's)."""
    session.execute(delete(_Attempt).where(_Attempt.user_name == user_name[:100]))


def _blocked_until(
    session: Session, where: ColumnElement[bool], since: datetime, most: int
) -> datetime | None:
    """When the oldest failure that keeps ``where`` at its limit leaves the window: the
    newest ``most`` failures count; None if fewer."""
    times = session.scalars(
        select(_Attempt.attempted_at)
        .where(where, _Attempt.attempted_at >= since)
        .order_by(_Attempt.attempted_at.desc())
        .limit(most)
    ).all()
    return times[-1] if len(times) >= most else None


def blocked_until(
    session: Session,
    user_name: str,
    address: str,
    now: datetime,
    window: timedelta,
    *,
    per_user: int,
    per_address: int,
) -> datetime | None:
    """When the user name and the address may try again (None: now)."""
    since = now - window
    found = [
        _blocked_until(session, _Attempt.user_name == user_name[:100], since, per_user),
        _blocked_until(session, _Attempt.address == address[:64], since, per_address),
    ]
    oldest = [t + window for t in found if t is not None]
    return max(oldest) if oldest else None
