"""Finding the one record a person named: locked when asked, and NotFound, saying where to
look, when there is none."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from rubricate.domain.errors import NotFound

R = TypeVar("R")


def one_named(
    session: Session, query: Select[R], missing: str, *, lock: bool = False, key_share: bool = False
) -> R:
    """The record ``query`` finds, else NotFound(``missing``). ``lock``: the row is held
    until the transaction ends (PostgreSQL's FOR UPDATE, or FOR NO KEY UPDATE with
    ``key_share``, which lets rows that point at it be written meanwhile; a SQLite write
    transaction holds the whole database already)."""
    record = session.scalar(query.with_for_update(key_share=key_share) if lock else query)
    if record is None:
        raise NotFound(missing)
    return record
