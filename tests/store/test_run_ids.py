"""One namespace of run ids, kept by the database (the table run_ids and the run tables'
foreign keys into it): a database from before it keeps every run's id, an id of one kind
is refused to the other with the service's clear message, by the database itself when a
write skips the service, and when two starts race for one id."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, inspect, select
from sqlalchemy.exc import IntegrityError
from tests.alignment.alignment_support import EVALUATION, METRIC, load
from tests.store.threads_support import race

from rubricate import Rubricate, Settings
from rubricate.domain.errors import Conflict
from rubricate.models import fake
from rubricate.store import Database
from rubricate.store.migrate import current_revision, downgrade, head_revision, upgrade
from rubricate.store.run_ids import claim_run_id
from rubricate.store.tables import AlignmentRunRecord, EvaluationRunRecord, RunIdRecord

BEFORE = "0008"  # the last revision with a table of ids per kind
THREADS = 6


@pytest.fixture(autouse=True)
def judge() -> Iterator[None]:
    with fake.registered("judge", lambda call: {"score": 3, "rationale": "x"}):
        yield


@pytest.fixture
def workspace(rb: Rubricate, tmp_path: Path) -> Rubricate:
    load(rb, tmp_path, rows=30)
    return rb


def start_alignment(rb: Rubricate, run_id: str | None) -> str:
    return rb.alignment_runs.start(
        metric=METRIC, evaluations=[EVALUATION], delta=1, run_id=run_id
    ).id


def start_evaluation(rb: Rubricate, run_id: str | None) -> str:
    return rb.evaluation_runs.start(
        metric=METRIC, evaluation=EVALUATION, model="fake:judge", run_id=run_id
    ).id


def claims(db: Database) -> dict[str, str]:
    with db.read() as session:
        return dict(session.execute(select(RunIdRecord.id, RunIdRecord.kind)).all())


def test_a_database_at_the_previous_head_keeps_its_runs_ids(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Runs of both kinds written by this code, the schema taken down to 0008 (a table of
    ids per kind, no run_ids) and up again: every id is claimed for its own kind, the runs
    read as before, and the namespace holds for the old ids."""
    with Rubricate(Settings(database_url=empty_database_url)) as rb:
        load(rb, tmp_path, rows=30)
        scored = rb.evaluation_runs.evaluate(
            metric=METRIC, evaluation=EVALUATION, model="fake:judge", run_id="ev-1"
        )
        generated = start_evaluation(rb, None)  # an id of its own
        rb.evaluation_runs.cancel(generated)  # no source is being scored: alignment may start
        aligning = rb.alignment_runs.start(
            metric=METRIC, evaluations=[EVALUATION], delta=1, run_id="al-1"
        )
    db = Database(empty_database_url)
    try:
        downgrade(db, BEFORE)
        assert not inspect(db.engine).has_table("run_ids")
        upgrade(db)
        assert current_revision(db) == head_revision(db)
        assert claims(db) == {"ev-1": "evaluation", generated: "evaluation", "al-1": "alignment"}
    finally:
        db.dispose()

    with Rubricate(Settings(database_url=empty_database_url)) as rb:
        assert rb.evaluation_runs.get("ev-1") == scored
        assert rb.alignment_runs.get("al-1") == aligning
        assert rb.evaluation_runs.get(generated).status.value == "cancelled"
        with pytest.raises(Conflict, match="'al-1' is already used by an alignment run"):
            start_evaluation(rb, "al-1")
        rb.alignment_runs.cancel("al-1")
        with pytest.raises(Conflict, match="'ev-1' is already used by an evaluation run"):
            start_alignment(rb, "ev-1")
        assert start_evaluation(rb, "ev-1") == "ev-1"  # a repeated start returns its run
        assert start_alignment(rb, "al-1") == "al-1"
        assert start_evaluation(rb, "ev-2") == "ev-2"
        assert claims(rb.db)["ev-2"] == "evaluation"


def test_a_database_whose_kinds_share_an_id_is_not_migrated(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Before the cross-check one id could name a run of each kind: the migration names
    them and changes nothing (one transaction), rather than choose which keeps the id."""
    with Rubricate(Settings(database_url=empty_database_url)) as rb:
        load(rb, tmp_path, rows=30)
        start_evaluation(rb, "ev-1")
        rb.evaluation_runs.cancel("ev-1")
        start_alignment(rb, "twice")
    db = Database(empty_database_url)
    try:
        downgrade(db, BEFORE)
        meta = MetaData()
        meta.reflect(db.engine)
        runs = meta.tables["evaluation_runs"]
        with db.engine.begin() as connection:  # an evaluation run under the alignment run's id
            row = connection.execute(select(runs).where(runs.c.id == "ev-1")).mappings().one()
            connection.execute(runs.insert().values({**row, "id": "twice"}))
        with pytest.raises(RuntimeError, match=r"alignment run and an evaluation run.*'twice'"):
            upgrade(db)
        assert current_revision(db) == BEFORE
        assert not inspect(db.engine).has_table("run_ids")
    finally:
        db.dispose()


def test_the_database_refuses_a_run_under_another_kinds_id(workspace: Rubricate) -> None:
    """A write that skips the service still cannot share an id: the run tables' (id, kind)
    must be a claim of their own kind."""
    start_alignment(workspace, "al-1")
    workspace.alignment_runs.cancel("al-1")
    template = workspace.evaluation_runs.start(
        metric=METRIC, evaluation=EVALUATION, model="fake:judge", run_id="ev-1"
    )
    attempts: list[dict[str, Any]] = [
        {"id": "al-1"},  # an alignment run's id
        {"id": "al-1", "kind": "alignment"},  # ... posing as an alignment run
        {"id": "unclaimed"},  # an id nobody claimed
    ]
    for changes in attempts:
        with pytest.raises(IntegrityError), workspace.db.write() as session:
            record = session.get(EvaluationRunRecord, template.id)
            assert record is not None
            copy = {c.key: getattr(record, c.key) for c in EvaluationRunRecord.__table__.c}
            session.add(EvaluationRunRecord(**{**copy, **changes}))
    with pytest.raises(IntegrityError), workspace.db.write() as session:
        session.add(RunIdRecord(id="odd", kind="verification"))  # not a kind of run
    assert claims(workspace.db) == {"al-1": "alignment", "ev-1": "evaluation"}
    assert [r.id for r in workspace.evaluation_runs.list()] == ["ev-1"]
    with workspace.db.read() as session:
        assert session.get(AlignmentRunRecord, "al-1") is not None


def test_starts_of_both_kinds_racing_for_one_id_make_one_run(workspace: Rubricate) -> None:
    """Threads (each its own connection) start runs of both kinds under one id at once:
    one kind wins, its every start returns the one run, the other kind's are refused."""
    work: list[Callable[[], str]] = [
        *([lambda: start_alignment(workspace, "race")] * (THREADS // 2)),
        *([lambda: start_evaluation(workspace, "race")] * (THREADS // 2)),
    ]
    outcomes = race(work, "a start")
    winner = claims(workspace.db)["race"]
    alignments, evaluations = outcomes[: THREADS // 2], outcomes[THREADS // 2 :]
    won, lost = (alignments, evaluations) if winner == "alignment" else (evaluations, alignments)
    assert won == ["race"] * (THREADS // 2), outcomes
    for refused in lost:
        assert isinstance(refused, Conflict), outcomes
        assert f"'race' is already used by an {winner} run" in str(refused)
    made = len(workspace.alignment_runs.list(METRIC)), len(workspace.evaluation_runs.list())
    assert made == ((1, 0) if winner == "alignment" else (0, 1))


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_a_start_waits_for_a_claim_in_flight(workspace: Rubricate, outcome: str) -> None:
    """A claim not yet committed holds the id: a start of the other kind waits for its
    transaction, then is refused (it committed) or takes the id (it rolled back)."""
    result: list[str | BaseException] = []
    starting = threading.Thread(
        target=lambda: result.extend(race([lambda: start_evaluation(workspace, "held")], "a start"))
    )
    rolled_back: AbstractContextManager[object] = (
        pytest.raises(LookupError) if outcome == "rollback" else nullcontext()
    )
    with rolled_back, workspace.db.write() as session:
        assert claim_run_id(session, "held", "alignment")
        starting.start()
        time.sleep(0.5)
        assert starting.is_alive(), result  # waiting for this transaction
        if outcome == "rollback":
            raise LookupError("roll the claim back")
    starting.join(timeout=60)
    (started,) = result
    if outcome == "commit":
        assert isinstance(started, Conflict), started
        assert "'held' is already used by an alignment run" in str(started)
        assert claims(workspace.db) == {"held": "alignment"}
    else:
        assert started == "held"
        assert claims(workspace.db) == {"held": "evaluation"}
