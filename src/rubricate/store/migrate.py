"""Alembic, driven from code: the migrations ship inside the package."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from rubricate.store.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic keeps the running migration in module globals (alembic.context, alembic.op): two
# threads of one process must not migrate at once. Processes exclude each other in env.py.
_ALEMBIC = threading.Lock()


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = db.engine
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``. A database already at head is only read: opening
    a workspace takes no write lock when there is nothing to migrate."""
    if revision == "head" and is_up_to_date(db):
        return
    with _ALEMBIC:
        command.upgrade(alembic_config(db), revision)


def downgrade(db: Database, revision: str) -> None:
    with _ALEMBIC:
        command.downgrade(alembic_config(db), revision)


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def is_up_to_date(db: Database) -> bool:
    current = current_revision(db)
    return current is not None and current == head_revision(db)
