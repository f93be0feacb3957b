"""Alembic, driven from code: the migrations ship inside the package.

Opening a workspace only compares the stored revision with ``HEAD``; Alembic (and the
parse of every migration) loads only when there is something to migrate.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

    from rubricate.store.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic keeps the running migration in module globals (alembic.context, alembic.op): two
# threads of one process must not migrate at once. Processes exclude each other in env.py.
_ALEMBIC = threading.Lock()


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = db.engine
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``. A database already at head is only read: opening
    a workspace takes no write lock when there is nothing to migrate."""
    if revision == "head" and is_up_to_date(db):
        return
    from alembic import command

    with _ALEMBIC:
        command.upgrade(alembic_config(db), revision)


def downgrade(db: Database, revision: str) -> None:
    from alembic import command

    with _ALEMBIC:
        command.downgrade(alembic_config(db), revision)


def current_revision(db: Database) -> str | None:
    """The schema's revision, None before the first migration."""
    with db.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):  # Alembic's default name
            return None
        stored = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        if len(stored) <= 1:
            return str(stored[0][0]) if stored else None
        # Several heads: never made by rubricate's linear history; Alembic explains.
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(connection).get_current_revision()


@cache
def shipped_head() -> str:
    """The newest migration's revision, read from the file names (``NNNN_what.py`` holds
    revision ``NNNN``, each after the one before): no Alembic, no parse of every migration.
    tests/store holds this to Alembic's own head."""
    names = (MIGRATIONS / "versions").glob("[0-9]*_*.py")
    return max(path.name.partition("_")[0] for path in names)


def head_revision(db: Database) -> str | None:
    """The newest revision among the shipped migrations, as Alembic reads them."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def is_up_to_date(db: Database) -> bool:
    return current_revision(db) == shipped_head()
