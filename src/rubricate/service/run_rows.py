"""The rows an alignment run's result names, as the user knows them (evaluation and the
id in their files), read once for the whole result: what the CLI, the API and the web
show instead of database ids."""

from __future__ import annotations

from rubricate.domain.alignment import AlignmentResult
from rubricate.domain.row_refs import RowRef, result_row_ids
from rubricate.store.database import Database
from rubricate.store.row_refs import row_refs


def result_rows(db: Database, result: AlignmentResult | None) -> dict[int, RowRef]:
    """Every row the result's guidelines and proposals name, by database id."""
    if result is None:
        return {}
    ids = result_row_ids(result)
    if not ids:
        return {}
    with db.read() as session:
        return row_refs(session, ids)
