"""Gold rows (issue 15, item 3): an admin's known right score of a row on a metric
(gold_scores), the share of gold rows a review queue mixes into each reviewer's stream
(review_queues.gold_rate, 0 for the queues made before), and which rows of a queue are
gold (queue_items.gold, false for the rows made before); and each queue's selection kind
(review_queues.selection_kind), read back from its words for the queues made before, so
that alignment can tell rows the sampler chose from a random sample."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.column_types import UTCDateTime
from rubricate.store.migrations._columns import owned_by

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "gold_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        owned_by("row_id", "rows"),
        owned_by("metric_id", "metrics"),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gold_scores")),
        sa.UniqueConstraint("row_id", "metric_id", name=op.f("uq_gold_scores_row_id_metric_id")),
    )
    with op.batch_alter_table("review_queues") as batch:
        batch.add_column(sa.Column("gold_rate", sa.Float(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("selection_kind", sa.String(16), server_default="all", nullable=False)
        )
    op.execute(
        "UPDATE review_queues SET selection_kind = CASE"
        " WHEN selection LIKE 'sampler''s %' THEN 'sampler'"
        " WHEN selection LIKE 'random sample %' THEN 'random'"
        " WHEN selection LIKE 'stratified sample %' THEN 'stratified'"
        " WHEN selection LIKE 'disagreeing%' THEN 'disagreeing'"
        " WHEN selection = 'unresolved' THEN 'unresolved'"
        " ELSE 'all' END"
    )
    with op.batch_alter_table("queue_items") as batch:
        batch.add_column(sa.Column("gold", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("queue_items") as batch:
        batch.drop_column("gold")
    with op.batch_alter_table("review_queues") as batch:
        batch.drop_column("selection_kind")
        batch.drop_column("gold_rate")
    op.drop_table("gold_scores")
