"""The rows an alignment result names, read back as the user knows them: evaluation and
the id in their files, for any number of rows in a few queries (not one per row)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from rubricate import Rubricate
from rubricate.demo import EVALUATION, build_demo
from rubricate.domain.alignment import AlignmentResult, GuidelineItem
from rubricate.domain.row_refs import SHOWN_ROWS, result_row_ids, shown
from rubricate.service.run_rows import result_rows
from rubricate.store.row_refs import CHUNK
from rubricate.store.tables import EvaluationRecord, RowRecord


@pytest.fixture
def demo_rows(rb: Rubricate) -> dict[int, str]:
    """The demo's rows: database id -> the id in its file."""
    build_demo(rb)
    with rb.db.read() as session:
        query = (
            select(RowRecord.id, RowRecord.external_id)
            .join(EvaluationRecord, EvaluationRecord.id == RowRecord.evaluation_id)
            .where(EvaluationRecord.name == EVALUATION)
            .order_by(RowRecord.position)
        )
        return {row.id: row.external_id for row in session.execute(query)}


@contextmanager
def counted_queries(rb: Rubricate) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(rb.db.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(rb.db.engine, "before_cursor_execute", seen)


def test_a_result_names_rows_by_the_users_ids(rb: Rubricate, demo_rows: dict[int, str]) -> None:
    ids = list(demo_rows)
    kept = GuidelineItem(id=1, text="a", row_ids=ids[:12], counter_row_ids=[ids[20]])
    dropped = GuidelineItem(id=2, text="b", row_ids=[ids[30], ids[0]], dropped_reason="worse")
    result = AlignmentResult(engine="x", guidelines=[kept], proposed=[kept, dropped])
    assert result_row_ids(result) == [*ids[:12], ids[20], ids[30]]
    with counted_queries(rb) as statements:
        refs = result_rows(rb.db, result)
    rows_queries = [s for s in statements if "rows" in s.lower()]
    assert len(rows_queries) == 1
    assert {i: r.external_id for i, r in refs.items()} == {
        i: demo_rows[i] for i in [*ids[:12], ids[20], ids[30]]
    }
    assert {r.evaluation for r in refs.values()} == {EVALUATION}
    listed = shown(kept.row_ids, refs)
    assert [r.external_id for r in listed.rows] == [demo_rows[i] for i in ids[:SHOWN_ROWS]]
    assert listed.more == 12 - SHOWN_ROWS
    assert listed.text() == ", ".join(demo_rows[i] for i in ids[:8]) + " and 4 more"
    assert listed.text(qualified=True).startswith(f"{EVALUATION}/{demo_rows[ids[0]]}, ")


def test_many_rows_take_one_query_a_chunk(rb: Rubricate, demo_rows: dict[int, str]) -> None:
    """Ids of rows that are not stored (deleted since) are left out, and say so when shown."""
    known = list(demo_rows)
    missing = list(range(10_000_000, 10_000_000 + 2 * CHUNK))
    item = GuidelineItem(id=1, text="a", row_ids=[*missing, *known])
    result = AlignmentResult(engine="x", guidelines=[item])
    with counted_queries(rb) as statements:
        refs = result_rows(rb.db, result)
    assert len([s for s in statements if "rows" in s.lower()]) == 3  # 2 * CHUNK + 48 ids
    assert set(refs) == set(known)
    listed = shown(item.row_ids, refs)
    assert listed.text().startswith("row #10000000 (no longer stored), row #10000001")
    assert listed.more == len(item.row_ids) - SHOWN_ROWS
    assert result_rows(rb.db, None) == {}
    assert result_rows(rb.db, AlignmentResult(engine="x")) == {}
