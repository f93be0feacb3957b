"""The user's ids of rows named by their database ids, in a few queries for any number."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from rubricate.domain.row_refs import RowRef
from rubricate.store.tables import EvaluationRecord, RowRecord
from rubricate.util import batched

CHUNK = 900  # ids per query: under every driver's limit on bound parameters


def row_refs(session: Session, row_ids: Iterable[int]) -> dict[int, RowRef]:
    """Each stored row among ``row_ids`` with its evaluation's name and external id; one
    query per ``CHUNK`` ids (ids of rows deleted since are left out)."""
    found: dict[int, RowRef] = {}
    for chunk in batched(sorted(set(row_ids)), CHUNK):
        query = (
            select(RowRecord.id, EvaluationRecord.name, RowRecord.external_id)
            .join(EvaluationRecord, EvaluationRecord.id == RowRecord.evaluation_id)
            .where(RowRecord.id.in_(chunk))
        )
        for row_id, evaluation, external_id in session.execute(query):
            found[row_id] = RowRef(row_id, evaluation, external_id)
    return found
