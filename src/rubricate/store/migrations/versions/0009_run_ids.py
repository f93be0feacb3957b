"""One namespace of run ids by construction: the table run_ids holds every run's id and
kind, and each run table's (id, kind) is a foreign key into it, so the database refuses an
evaluation run under an alignment run's id (and the reverse) instead of cross-checks."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.column_types import UTCDateTime

revision = "0009"
down_revision = "0008"

RUN_TABLES = {"alignment": "alignment_runs", "evaluation": "evaluation_runs"}


def upgrade() -> None:
    op.create_table(
        "run_ids",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_ids")),
        sa.UniqueConstraint("id", "kind", name=op.f("uq_run_ids_id_kind")),
        sa.CheckConstraint("kind IN ('alignment', 'evaluation')", name=op.f("ck_run_ids_kind")),
    )
    _refuse_shared_ids()
    run_ids = sa.table("run_ids", *(sa.column(name) for name in ("id", "kind", "created_at")))
    for kind, table in RUN_TABLES.items():
        runs = sa.table(table, sa.column("id"), sa.column("created_at"))
        claims = sa.select(runs.c.id, sa.literal(kind), runs.c.created_at)
        op.execute(run_ids.insert().from_select(["id", "kind", "created_at"], claims))
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("kind", sa.String(16), server_default=kind, nullable=False))
            batch.create_check_constraint(op.f(f"ck_{table}_kind"), f"kind = '{kind}'")
            batch.create_foreign_key(
                op.f(f"fk_{table}_id_run_ids"), "run_ids", ["id", "kind"], ["id", "kind"]
            )


def _refuse_shared_ids() -> None:
    """Before the cross-check (November 2026) one id could be taken by a run of each kind;
    such runs already shared a journal and a workflow. Which of them keeps the id is the
    owner's call, not the migration's: it stops and names them."""
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT a.id FROM alignment_runs a JOIN evaluation_runs e ON e.id = a.id "
                "ORDER BY a.id"
            )
        )
        .scalars()
        .all()
    )
    if shared:
        raise RuntimeError(
            f"run ids used by both an alignment run and an evaluation run: {shared[:10]}; "
            "run ids are one namespace now: keep one run of each pair (deleting its row of "
            "evaluation_runs deletes an evaluation run's judge results too), then open the "
            "workspace again"
        )


def downgrade() -> None:
    for table in RUN_TABLES.values():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"fk_{table}_id_run_ids"), type_="foreignkey")
            batch.drop_constraint(op.f(f"ck_{table}_kind"), type_="check")
            batch.drop_column("kind")
    op.drop_table("run_ids")
