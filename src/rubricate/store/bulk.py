"""Bulk inserts straight through the driver's executemany.

SQLAlchemy's per-record parameter processing is most of an import's time; records of
plain numbers and text need none, so the statement is compiled once and the driver gets
the values as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.orm import Session


def insert_many(session: Session, table: Table, records: Sequence[dict[str, Any]]) -> None:
    """Insert ``records`` (all with the same keys: plain values only, no JSON or dates);
    ``created_at`` is set by the database."""
    if not records:
        return
    connection = session.connection()
    statement = table.insert().values(created_at=func.now())
    compiled = statement.compile(dialect=connection.dialect, column_keys=list(records[0]))
    if compiled.positional:
        values = itemgetter(*(compiled.positiontup or []))
        connection.exec_driver_sql(str(compiled), [values(record) for record in records])
    else:
        connection.exec_driver_sql(str(compiled), list(records))
