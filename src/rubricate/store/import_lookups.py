"""The queries an import's batches make besides their inserts: what is stored already for
the values a batch names (IN_CHUNK values a query), the largest id of a table before the
import's first insert into it, and ANALYZE on PostgreSQL as tables grow."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from rubricate.util import batched

IN_CHUNK = 5000  # ids per IN (...) query, well below any database's parameter limit


def stored_where_in(
    session: Session,
    table: Table,
    column: Any,
    wanted: Sequence[Any],
    where: Any = None,
    columns: Sequence[Any] | None = None,
) -> Iterator[Any]:
    """Rows of ``table`` (``columns`` of them) whose ``column`` is in ``wanted``."""
    for chunk in batched(sorted(set(wanted)), IN_CHUNK):
        query = select(*(columns or table.c)).where(column.in_(chunk))
        yield from session.execute(query if where is None else query.where(where))


def largest_id(session: Session, table: Table) -> int:
    """The largest id stored in ``table``; 0 when it is empty."""
    return session.scalar(select(func.max(table.c.id))) or 0


def analyze(session: Session, table: Table) -> None:
    """Let PostgreSQL's planner count the rows of ``table`` (the open transaction's too)."""
    session.execute(text(f"ANALYZE {table.name}"))  # a table's own name, never user input
