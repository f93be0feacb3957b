"""Opening a workspace decides whether to migrate without loading Alembic: the stored
revision against the newest migration's file name. Alembic must agree with that name."""

from __future__ import annotations

import re
from pathlib import Path

from rubricate.store import Database
from rubricate.store.migrate import MIGRATIONS, head_revision, shipped_head


def test_the_file_names_give_alembics_head(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'head.db'}")
    try:
        assert shipped_head() == head_revision(db)
    finally:
        db.dispose()


def test_each_migration_file_is_named_by_its_revision() -> None:
    # shipped_head reads revisions from file names: a file named otherwise would hide it.
    for path in (MIGRATIONS / "versions").glob("[!_]*.py"):
        source = path.read_text(encoding="utf-8")
        declared = re.search(r"^revision(?:: *str)? *= *[\"']([^\"']+)[\"']", source, re.M)
        assert declared is not None, path.name
        assert path.name.partition("_")[0] == declared.group(1), path.name
