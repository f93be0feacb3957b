"""The leader's PostgreSQL advisory lock, and taking it from a leader that stopped beating.

A session-level advisory lock is held for as long as its connection lives, and a process
frozen by SIGSTOP (or a VM paused) keeps its connection: the kernel still answers for its
socket. So a frozen leader would keep the lock, and with it every dead worker's runs
unrecovered, for as long as it stays frozen. Its connection names it (``application_name``),
so another worker can find it, see from its heartbeat that it is taken for dead, and end
that connection; the lock is then free."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

_PREFIX = "rubricate-leader "


def try_lead(connection: Connection, key: int, executor_id: str) -> bool:
    """Take the lock on ``connection`` (named after ``executor_id``) if it is free."""
    connection.execute(
        text("SELECT set_config('application_name', :name, false)"),
        {"name": (_PREFIX + executor_id)[:63]},
    )
    held = bool(
        connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
    )
    connection.commit()
    return held


def still_holds(connection: Connection) -> bool:
    """Whether ``connection`` is alive (ended by another worker, it is not)."""
    try:
        connection.execute(text("SELECT 1"))
        connection.commit()
    except Exception:
        return False
    return True


def holder(connection: Connection, key: int) -> tuple[int, str] | None:
    """The backend pid holding the lock and the executor id its connection names."""
    found = connection.execute(
        text(
            "SELECT a.pid, a.application_name FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 "
            "AND l.objid = :key AND l.objsubid = 1 "
            # Advisory locks are per database: another database's leader is not ours.
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"key": key},
    ).first()
    connection.commit()
    if found is None or not str(found[1]).startswith(_PREFIX):
        return None
    return int(found[0]), str(found[1])[len(_PREFIX) :]


def end_connection(connection: Connection, pid: int) -> bool:
    """End the backend ``pid`` (its advisory locks are freed with it)."""
    ended = bool(
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    )
    connection.commit()
    return ended
