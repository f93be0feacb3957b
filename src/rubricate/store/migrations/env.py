"""Alembic environment: runs on the engine that rubricate's Database hands over.

Migrations hold the database's write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an
advisory lock) from reading the revision to the last migration, in one transaction, so that
two processes opening one database at once migrate it once. On
SQLite, altering a table copies it and drops the original, which foreign keys would refuse
(or cascade) while other tables point at it: they are switched off for the migration, as
SQLite's documentation prescribes, and checked before it commits.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from rubricate.store.tables import Base

MIGRATION_LOCK = 0x7275627269636174  # "rubricat": the PostgreSQL advisory lock's key

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)
sqlite = engine.dialect.name == "sqlite"

with engine.execution_options(rubricate_write=True).connect() as connection:
    # the driver connection, outside any transaction: PRAGMA foreign_keys is ignored inside one
    raw = connection.connection.driver_connection if sqlite else None
    if raw is not None:
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        if not sqlite:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,  # SQLite alters by copying
            # One transaction for every pending migration, on SQLite too. Alembic takes
            # SQLite for non-transactional and then commits after each migration, which
            # let a second process, queued on the write lock, read the half-way revision
            # and run the next migration again ("table run_calls already exists").
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:  # before the commit, so that a broken migration leaves nothing
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration left rows that break foreign keys: {broken[:5]}")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=ON")
