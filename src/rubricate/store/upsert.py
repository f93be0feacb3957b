"""Insert-or-update in one statement (``ON CONFLICT DO UPDATE``), on SQLite and PostgreSQL.

Deleting and inserting again lets two concurrent writers of the same key both insert on
PostgreSQL, where one then fails on the unique constraint; one upsert statement cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rubricate.store.tables import Base, table_of, utcnow


def upsert(
    session: Session,
    record: type[Base],
    values: Mapping[str, Any],
    *,
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``values``, or update the columns ``update`` (and ``created_at``) of the row
    that has the same ``keys``; ``keys`` must be a unique constraint of the table."""
    upsert_many(session, record, [values], keys=keys, update=update)


def upsert_many(
    session: Session,
    record: type[Base],
    rows: Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """``upsert`` each of ``rows`` (all with the same columns), in order, as one statement
    executed many times: built and compiled once."""
    if not rows:
        return
    table = table_of(record)
    dated = "created_at" in table.c
    if dated:
        now = utcnow()
        rows = [{"created_at": now, **row} for row in rows]
        update = [*update, "created_at"]
    # Both dialects spell ON CONFLICT alike; only the construct's module differs.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: statement.excluded[c] for c in update}
    )
    if len(rows) == 1:
        session.execute(statement.values(dict(rows[0])))
    else:
        session.execute(statement, [dict(row) for row in rows])


def insert_ignoring_duplicates(
    session: Session, record: type[Base], rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``rows``, skipping any whose ``keys`` already exist (``ON CONFLICT DO
    NOTHING``): for writes that two workers may both make, where the first one stays."""
    if not rows:
        return
    table = table_of(record)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    session.execute(statement, [dict(row) for row in rows])
