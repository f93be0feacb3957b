"""Alignment runs given the status and result a worker would have stored, for the tests of
the service and of every interface (CLI, API, web)."""

from __future__ import annotations

from collections.abc import Sequence

from rubricate import Rubricate
from rubricate.domain.alignment import AlignmentResult, GuidelineItem
from rubricate.domain.alignment_runs import RunStatus
from rubricate.store.runs import store_result
from rubricate.store.tables import AlignmentRunRecord, utcnow


def ended(
    rb: Rubricate,
    run_id: str,
    status: RunStatus,
    result: AlignmentResult | None = None,
    *,
    params: dict[str, object] | None = None,
    **fields: object,
) -> None:
    """Give a run the status (and result) a worker would have stored: ``params`` merged
    into its parameters, ``fields`` set on its record, the time it finished if it did."""
    with rb.db.write() as session:
        record = session.get(AlignmentRunRecord, run_id)
        assert record is not None
        record.status = status.value
        if params:
            record.params = record.params | params
        if result is not None:
            store_result(record, result)
        for name, value in fields.items():
            setattr(record, name, value)
        if status.finished:
            record.finished_at = utcnow()


def offline_result(
    guidelines: Sequence[str | GuidelineItem], *, row_ids: Sequence[int] = ()
) -> AlignmentResult:
    """The offline engine's result with 12 disagreements and these guidelines: an item as
    it is, a text as guideline 1, 2, ... (by its place), on ``row_ids``."""
    items = [
        g if isinstance(g, GuidelineItem) else GuidelineItem(id=i, text=g, row_ids=list(row_ids))
        for i, g in enumerate(guidelines, start=1)
    ]
    return AlignmentResult(engine="builtin:offline", guidelines=items, disagreements=12)
