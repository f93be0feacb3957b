"""The one namespace of run ids (the table run_ids): a new run claims its id there, in the
transaction that writes the run. The run tables' foreign keys point at (id, kind), so the
database refuses a run whose id is another kind's; this module only turns that into a
clear message and tells a repeated start from a new one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rubricate.domain.errors import Conflict
from rubricate.domain.names import check_run_id
from rubricate.store.tables import RunIdRecord, RunKind, table_of, utcnow


def claim_run_id(session: Session, run_id: str, kind: RunKind) -> bool:
    """Claim ``run_id`` for a run of ``kind``: True when the id was free (the caller then
    writes its run), False when a run of this kind holds it already (a repeated start).
    An id a run of the other kind holds is refused (Conflict).

    ``ON CONFLICT DO NOTHING`` makes a concurrent start with the same id on PostgreSQL wait
    for the first one's transaction, then read its claim (or claim the id itself if that
    one rolled back); SQLite's write lock serializes the two already."""
    check_run_id(run_id)  # the id becomes part of URLs and of the CLI's commands
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    claim = (
        dialect.insert(table_of(RunIdRecord))
        .values(id=run_id, kind=kind, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(table_of(RunIdRecord).c.id)
    )
    if session.execute(claim).first() is not None:  # inserted: the id was free
        return True
    holder = session.scalar(select(RunIdRecord.kind).where(RunIdRecord.id == run_id))
    if holder != kind:
        raise Conflict(
            f"run id {run_id!r} is already used by an {holder} run: evaluation and "
            "alignment runs share ids, so choose another"
        )
    return False
