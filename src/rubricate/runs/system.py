"""Where DBOS keeps its state: apart from rubricate's own tables. Beside an embedded
SQLite database, a file of its own next to it; on PostgreSQL, a schema of its own in the
same database (so workers on many hosts share it)."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

from dbos import DBOSConfig
from sqlalchemy import make_url

from rubricate.settings import Settings

APP_NAME = "rubricate"
SYSTEM_SCHEMA = "rubricate_dbos"
QUEUE = "rubricate-runs"


def system_database_url(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "rubricate.db")
        return f"sqlite:///{path.with_name(path.stem + '.dbos.sqlite')}"
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def new_executor_id() -> str:
    """Unique per worker process: a dead worker's runs are recognised by it."""
    return f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:8]}"


def dbos_config(settings: Settings, executor_id: str) -> DBOSConfig:
    return {
        "name": APP_NAME,
        "system_database_url": system_database_url(settings.database_url),
        "dbos_system_schema": SYSTEM_SCHEMA,
        "executor_id": executor_id,
        "log_level": "WARNING",
        "application_version": "rubricate-1",  # any worker may recover any run
    }
