"""Alembic environment: runs on the engine that rubricate's Database hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from rubricate.store.tables import Base

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
