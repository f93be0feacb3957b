"""Migrations: from nothing to head and back, the tables match the models, and a database
that holds data at an older revision is upgraded without losing any of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, Table, inspect, select
from sqlalchemy.exc import IntegrityError

from rubricate import Rubricate, Settings
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.domain.resolution import Policy
from rubricate.store import Database
from rubricate.store.migrate import current_revision, downgrade, head_revision, upgrade
from rubricate.store.tables import AnnotationRecord, Base

TABLES = {t.name for t in Base.metadata.sorted_tables}
WHEN = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(empty_database_url: str) -> Iterator[Database]:
    database = Database(empty_database_url)
    yield database
    database.dispose()


def differences(db: Database) -> list[Any]:
    with db.engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_from_nothing_to_head_the_tables_match_the_models(db: Database) -> None:
    assert tables(db) == set()
    assert current_revision(db) is None
    upgrade(db)
    assert current_revision(db) == head_revision(db) == "0011"
    assert tables(db) == TABLES
    assert differences(db) == []


def test_down_to_base_and_up_again(db: Database) -> None:
    upgrade(db)
    downgrade(db, "0001")
    assert "alignment_runs" not in tables(db)
    assert "source_run_id" not in {
        c["name"] for c in inspect(db.engine).get_columns("metric_versions")
    }
    downgrade(db, "base")
    assert current_revision(db) is None
    assert tables(db) == set()
    upgrade(db)
    assert current_revision(db) == head_revision(db)
    assert differences(db) == []


def test_the_database_fixture_is_at_head(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert current_revision(database) == head_revision(database)
        assert differences(database) == []
    finally:
        database.dispose()


def _insert(connection: Connection, table: Table, **values: Any) -> int:
    return int(connection.execute(table.insert().returning(table.c.id), values).scalar_one())


def _insert_revision_0001_data(db: Database) -> None:
    """Data valid at 0001, written with plain SQLAlchemy Core on the reflected tables."""
    meta = MetaData()
    meta.reflect(db.engine)
    t = meta.tables
    scale = {"type": "ordinal", "min": 1, "max": 4, "labels": {"1": "Bad", "4": "Excellent"}}
    with db.engine.begin() as c:
        tone = _insert(
            c,
            t["metrics"],
            name="tone",
            description="Polite?",
            kind="custom",
            judge_model="x:y",
            pinned_version=1,
            created_at=WHEN,
        )
        version = {"metric_id": tone, "scale": scale, "origin": "manual", "created_at": WHEN}
        first = _insert(
            c, t["metric_versions"], number=1, prompt="Rate {{ output }}.", guidelines="", **version
        )
        second = {"prompt": "Rate {{ output }}!", "guidelines": "- be kind"}
        _insert(c, t["metric_versions"], number=2, parent_version_id=first, **second, **version)
        old = _insert(
            c,
            t["evaluations"],
            name="old",
            description="from 0001",
            source="imported",
            created_at=WHEN,
        )
        rows = {
            external_id: _insert(
                c,
                t["rows"],
                evaluation_id=old,
                external_id=external_id,
                position=position,
                input=f"in {external_id}",
                output=f"out {external_id}",
                context="ctx" if external_id == "a" else None,
                expected=None,
                metadata={"k": position},
            )
            for position, external_id in enumerate(["c", "a", "b"], start=1)
        }
        _insert(
            c,
            t["judge_results"],
            row_id=rows["a"],
            metric_version_id=first,
            score=3.0,
            rationale="fine",
            judge_model="x:y",
            created_at=WHEN,
        )
        for external_id, scores in {"a": (4, 4), "b": (1, 4), "c": (2, 2)}.items():
            for annotator, score in zip(("ana", "ben"), scores, strict=True):
                _insert(
                    c,
                    t["annotations"],
                    row_id=rows[external_id],
                    metric_id=tone,
                    annotator=annotator,
                    score=float(score),
                    comment=None,
                    created_at=WHEN,
                )
        _insert(
            c,
            t["resolutions"],
            row_id=rows["b"],
            metric_id=tone,
            value=4.0,
            resolved_by="user:admin",
            created_at=WHEN,
        )


def test_a_database_with_data_at_0001_is_upgraded_and_usable(
    db: Database, empty_database_url: str
) -> None:
    upgrade(db, "0001")
    assert current_revision(db) == "0001"
    _insert_revision_0001_data(db)
    upgrade(db)
    assert current_revision(db) == head_revision(db)
    assert differences(db) == []
    with Rubricate(Settings(database_url=empty_database_url)) as rb:
        tone = rb.metrics.get("tone")
        assert (tone.kind, tone.pinned_version, tone.judge_model) == (MetricKind.CUSTOM, 1, "x:y")
        assert tone.created_at == WHEN
        versions = rb.metrics.versions("tone")
        assert [(v.number, v.origin, v.source_run_id) for v in versions] == [
            (1, VersionOrigin.MANUAL, None),
            (2, VersionOrigin.MANUAL, None),
        ]
        assert versions[1].parent_version_id == versions[0].id
        assert versions[1].guidelines == "- be kind"
        assert versions[0].scale.value_of("excellent") == 4.0
        assert rb.metrics.version("tone").number == 1  # still pinned
        assert len([s for s in rb.metrics.list() if s.metric.is_builtin]) >= 7

        detail = rb.evaluations.show("old")
        assert detail.evaluation.row_count == 3
        (coverage,) = detail.metrics
        assert (coverage.metric, coverage.annotated_rows, coverage.annotations) == ("tone", 3, 6)
        assert (coverage.reviewers, coverage.resolved_rows, coverage.judged_rows) == (2, 1, 1)
        rows = rb.evaluations.rows("old")
        assert [r.external_id for r in rows] == ["c", "a", "b"]
        assert (rows[1].context, rows[1].metadata) == ("ctx", {"k": 2})

        report = rb.annotations.resolve("old", "tone", Policy.UNANIMOUS, replace=True)
        assert (report.annotated_rows, report.resolved, report.kept) == (3, 2, 1)
        assert rb.annotations.agreement("old", "tone").rows == 3
        assert rb.annotations.add("old", "b", "tone", annotator="cy", score="bad") == 1.0
        assert rb.metrics.add_version("tone", prompt="Rate {{ output }} again.").number == 3
        assert rb.evaluations.show("old").metrics[0].annotations == 7
    # down a revision and up again, with all of that data in the tables being rebuilt
    downgrade(db, "0001")
    upgrade(db)
    with Rubricate(Settings(database_url=empty_database_url)) as rb:
        assert [v.number for v in rb.metrics.versions("tone")] == [1, 2, 3]
        coverage = rb.evaluations.show("old").metrics[0]
        assert (coverage.annotations, coverage.resolved_rows, coverage.judged_rows) == (7, 3, 1)


def test_foreign_keys_are_enforced_after_migrating(db: Database) -> None:
    """SQLite migrations switch foreign keys off while tables are copied: on again after."""
    upgrade(db, "0001")
    upgrade(db)
    with pytest.raises(IntegrityError), db.write() as session:
        session.add(AnnotationRecord(row_id=999, metric_id=999, annotator="a", score=1.0))
    if db.is_sqlite:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_queues_made_before_0011_get_their_selection_kind_from_their_words(
    db: Database,
) -> None:
    upgrade(db, "0010")
    words = {
        "sampler's 40 rows (seed 1, delta 1)": "sampler",
        "random sample of 40 (seed 0)": "random",
        "stratified sample of 40 (seed 0)": "stratified",
        "disagreeing by at least 1.5": "disagreeing",
        "unresolved": "unresolved",
        "all": "all",
    }
    metadata = MetaData()
    metrics, evaluations, queues = (
        Table(name, metadata, autoload_with=db.engine)
        for name in ("metrics", "evaluations", "review_queues")
    )
    with db.engine.begin() as connection:
        connection.execute(
            metrics.insert(),
            {"id": 1, "name": "tone", "description": "", "kind": "custom", "created_at": WHEN},
        )
        connection.execute(
            evaluations.insert(),
            {"id": 1, "name": "old", "description": "", "source": "import", "created_at": WHEN},
        )
        connection.execute(
            queues.insert(),
            [
                {
                    "id": i,
                    "name": f"q{i}",
                    "evaluation_id": 1,
                    "metric_id": 1,
                    "selection": text,
                    "reviews_per_row": 1,
                    "blind": False,
                    "lease_seconds": 600,
                    "row_count": 0,
                    "created_by": "admin",
                    "created_at": WHEN,
                }
                for i, text in enumerate(words, start=1)
            ],
        )
    upgrade(db)
    upgraded = Table("review_queues", MetaData(), autoload_with=db.engine)
    with db.engine.connect() as connection:
        read = select(upgraded.c.selection, upgraded.c.selection_kind)
        kinds = {row.selection: row.selection_kind for row in connection.execute(read)}
    assert kinds == words
