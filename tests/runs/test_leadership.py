"""A frozen leader loses its lock (PostgreSQL): its advisory lock would outlive its
heartbeat, since a process stopped by SIGSTOP keeps its connection, and with it every dead
worker's runs would wait for it to thaw. Here the "frozen leader" is a connection holding
the lock under a worker's name; its worker record says whether it still beats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, make_url

from rubricate import Rubricate, Settings
from rubricate.runs.worker import LEADER_LOCK, Worker
from rubricate.store import leadership
from rubricate.store.tables import WorkerRecord, utcnow

DEAD_AFTER = 3.0


@pytest.fixture
def on_postgres(database_url: str) -> str:
    if not database_url.startswith("postgres"):
        pytest.skip("the leader's lock is PostgreSQL's (SQLite has one host, no leader)")
    return database_url


def frozen_leader(url: str, executor: str, beat_age: float) -> tuple[object, object]:
    """A connection holding the leader's lock as ``executor``, whose last beat was
    ``beat_age`` seconds ago."""
    with Rubricate(Settings(database_url=url)) as rb, rb.db.write() as session:
        session.merge(
            WorkerRecord(
                executor_id=executor,
                hostname="h",
                pid=1,
                started_at=utcnow() - timedelta(seconds=60),
                heartbeat_at=utcnow() - timedelta(seconds=beat_age),
                stopped_at=None,
            )
        )
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    connection = engine.connect()
    assert leadership.try_lead(connection, LEADER_LOCK, executor)
    return engine, connection


def test_a_leader_taken_for_dead_loses_its_lock_to_a_live_worker(on_postgres: str) -> None:
    engine, frozen = frozen_leader(on_postgres, "w-frozen", beat_age=10 * DEAD_AFTER)
    worker = Worker(
        Settings(database_url=on_postgres, worker_dead_after=DEAD_AFTER), executor_id="w-live"
    )
    try:
        assert not worker._lead()  # its first look frees the lock ...
        assert not leadership.still_holds(frozen)  # ... by ending the frozen connection
        assert worker._lead()  # the next look takes it
        assert leadership.holder(worker._leader, LEADER_LOCK) is not None  # type: ignore[arg-type]
    finally:
        if worker._leader is not None:
            worker._leader.close()
        worker.db.dispose()
        engine.dispose()  # type: ignore[attr-defined]


def test_a_leader_that_beats_keeps_its_lock(on_postgres: str) -> None:
    engine, leader = frozen_leader(on_postgres, "w-alive", beat_age=0.0)
    worker = Worker(
        Settings(database_url=on_postgres, worker_dead_after=DEAD_AFTER), executor_id="w-other"
    )
    try:
        assert not worker._lead() and not worker._lead()
        assert leadership.still_holds(leader)  # type: ignore[arg-type]
    finally:
        worker.db.dispose()
        leader.close()  # type: ignore[attr-defined]
        engine.dispose()  # type: ignore[attr-defined]


def test_a_thawed_leader_whose_lock_was_taken_stops_leading(on_postgres: str) -> None:
    settings = Settings(database_url=on_postgres, worker_dead_after=DEAD_AFTER)
    thawed, live = Worker(settings, executor_id="w-thawed"), Worker(settings, executor_id="w-b")
    try:
        assert thawed._lead()
        with thawed.db.write() as session:  # its beat stopped long ago (it was frozen)
            session.merge(
                WorkerRecord(
                    executor_id="w-thawed",
                    hostname="h",
                    pid=1,
                    started_at=utcnow() - timedelta(seconds=60),
                    heartbeat_at=utcnow() - timedelta(seconds=30),
                    stopped_at=None,
                )
            )
        assert not live._lead() and live._lead()
        assert not thawed._lead()  # thawed: its connection was ended, it leads no more
    finally:
        for w in (thawed, live):
            if w._leader is not None:
                w._leader.close()
            w.db.dispose()


def test_a_leader_of_another_database_is_left_alone(on_postgres: str) -> None:
    """Advisory locks are per database: a stale-looking leader of another workspace on the
    same server is not this workspace's to end, even when this one's leader is alive."""
    engine, leader = frozen_leader(on_postgres, "w-alive", beat_age=0.0)
    other_url = make_url(on_postgres).set(database="postgres")
    other_engine = create_engine(other_url.set(drivername="postgresql+psycopg"))
    other = other_engine.connect()
    worker = Worker(
        Settings(database_url=on_postgres, worker_dead_after=DEAD_AFTER), executor_id="w-b"
    )
    try:
        assert leadership.try_lead(other, LEADER_LOCK, "w-frozen")  # no record anywhere here
        assert not worker._lead() and not worker._lead()
        assert leadership.still_holds(other) and leadership.still_holds(leader)  # type: ignore[arg-type]
    finally:
        worker.db.dispose()
        other.close()
        other_engine.dispose()
        leader.close()  # type: ignore[attr-defined]
        engine.dispose()  # type: ignore[attr-defined]
