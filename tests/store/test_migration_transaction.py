"""Every pending migration runs in one transaction that holds the write lock from reading
the revision to the last step. A commit between two migrations let a second process,
queued on the lock, read the half-way revision and run the next migration again
("table run_calls already exists")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from rubricate.store import Database
from rubricate.store.migrate import current_revision, head_revision, upgrade


def test_an_empty_database_is_migrated_in_a_single_commit(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    commits: list[Any] = []
    event.listen(db.engine, "commit", commits.append)
    try:
        upgrade(db)
        assert current_revision(db) == head_revision(db)
    finally:
        db.dispose()
    assert len(commits) == 1
