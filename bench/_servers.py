"""Throw-away databases for benchmarks: a fresh one per measured run."""

from __future__ import annotations

import uuid
from pathlib import Path


class SqliteServer:
    name = "SQLite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def fresh(self) -> str:
        return f"sqlite:///{self.folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"

    def drop(self, url: str) -> None:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresServer:
    """Creates and drops throw-away databases; the URL's role needs CREATEDB."""

    name = "PostgreSQL"

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        from rubricate.store.database import normalize_url

        self.base = normalize_url(url)
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        self._run("SELECT 1")  # fail before any import if the server does not answer

    def fresh(self) -> str:
        name = f"rubricate_bench_{uuid.uuid4().hex[:10]}"
        self._run(f'CREATE DATABASE "{name}"')
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        from sqlalchemy import make_url

        name = make_url(url).database
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.admin.dispose()

    def _run(self, statement: str) -> None:
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        try:
            with self.admin.connect() as connection:
                connection.execute(text(statement))
        except DBAPIError as exc:
            where = self.base.render_as_string(hide_password=True)
            raise SystemExit(f"PostgreSQL at {where}: {exc.orig}") from None


Server = SqliteServer | PostgresServer


def database_servers(folder: Path, postgres_url: str | None) -> list[Server]:
    """SQLite (its files in ``folder``), and PostgreSQL where a URL is given."""
    servers: list[Server] = [SqliteServer(folder)]
    if postgres_url:
        servers.append(PostgresServer(postgres_url))
    else:
        print("PostgreSQL skipped: pass --postgres-url or set $RUBRICATE_BENCH_POSTGRES_URL")
    return servers
