"""Fixtures shared by every test: a fresh database per test, on SQLite by default or on
PostgreSQL when RUBRICATE_TEST_DATABASE_URL names a server (a role with CREATEDB)."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL

from rubricate import Rubricate, Settings
from rubricate.store import Database
from rubricate.store.migrate import upgrade

# No per-example deadline: timing belongs in bench/, and a busy CI machine (or the other
# database's suite beside this one) once made a 150 ms example take 260 ms.
hypothesis_settings.register_profile("rubricate", deadline=None)
hypothesis_settings.load_profile("rubricate")

SERVER_URL = os.environ.get("RUBRICATE_TEST_DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith("postgres")
# The real data sets live beside the project (never inside it): tests that need them skip
# where they are absent (a fresh clone), unless RUBRICATE_REQUIRE_SHARED_DATA=1 (CI) says
# that their absence is a failure.
SHARED_DATA = Path(
    os.environ.get("RUBRICATE_SHARED_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
REQUIRE_SHARED_DATA = os.environ.get("RUBRICATE_REQUIRE_SHARED_DATA") == "1"

# Tests never read the user's own settings file, and never see a real key.
os.environ["RUBRICATE_SETTINGS_FILE"] = os.devnull
for _variable in (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "RUBRICATE_JUDGE_MODEL",
):
    os.environ.pop(_variable, None)


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released): for a server to
    start on, or for a client to find closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def pytest_report_header() -> str:
    backend = "PostgreSQL" if ON_POSTGRES else "SQLite"
    return f"rubricate test database: {backend}"


class _Postgres:
    """Creates throw-away databases on the test server, cloned from a migrated template."""

    def __init__(self, url: str) -> None:
        base = make_url(url)
        if base.drivername in {"postgresql", "postgres"}:
            base = base.set(drivername="postgresql+psycopg")
        self.base: URL = base
        self.admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.created: list[str] = []
        self.template = f"rubricate_tpl_{uuid.uuid4().hex[:10]}"
        self._create(self.template)
        db = Database(self.url(self.template))
        upgrade(db)
        db.dispose()

    def url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> None:
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)

    def fresh(self, migrated: bool) -> str:
        name = f"rubricate_t_{uuid.uuid4().hex[:12]}"
        self._create(name, self.template if migrated else None)
        return self.url(name)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in reversed(self.created):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


class _Sqlite:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.template = folder / "template.db"
        db = Database(f"sqlite:///{self.template}")
        upgrade(db)
        with db.engine.connect() as connection:  # fold the WAL into the file before copying
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()

    def fresh(self, migrated: bool) -> str:
        path = self.folder / f"{uuid.uuid4().hex[:12]}.db"
        if migrated:
            shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop_all(self) -> None:
        pass


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Postgres | _Sqlite]:
    factory: _Postgres | _Sqlite
    if ON_POSTGRES:
        factory = _Postgres(SERVER_URL)
    else:
        factory = _Sqlite(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


@pytest.fixture
def database_url(_databases: _Postgres | _Sqlite) -> str:
    """A migrated, empty database of its own for this test."""
    return _databases.fresh(migrated=True)


@pytest.fixture
def empty_database_url(_databases: _Postgres | _Sqlite) -> str:
    """A database with no tables at all, for migration tests."""
    return _databases.fresh(migrated=False)


@pytest.fixture
def rb(database_url: str) -> Iterator[Rubricate]:
    """A workspace on a fresh database (built-in metrics synced)."""
    workspace = Rubricate(Settings(database_url=database_url))
    yield workspace
    workspace.close()


@pytest.fixture
def demo(rb: Rubricate) -> Rubricate:
    """The demo workspace (two metrics, one evaluation of 48 rows, three reviewers,
    resolved by majority) on a fresh database."""
    from rubricate.demo import build_demo

    build_demo(rb)
    return rb


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets' folder; skips the test (fails it in CI) where they are absent."""
    if not (SHARED_DATA / "feedbackqa" / "rows.jsonl").exists():
        reason = f"needs the real data sets in {SHARED_DATA} (set RUBRICATE_SHARED_DATA)"
        if REQUIRE_SHARED_DATA:
            pytest.fail(f"{reason}; RUBRICATE_REQUIRE_SHARED_DATA=1 makes this a failure")
        pytest.skip(reason)
    return SHARED_DATA
