"""Concurrent writers on one database: threads sharing a workspace and separate processes
each with their own, adding annotations, resolving and creating metrics at the same time.
Afterwards every write is there exactly once and the database is intact."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from tests.store.threads_support import race

from rubricate import Rubricate, Settings
from rubricate.domain.errors import Conflict
from rubricate.domain.resolution import Policy
from rubricate.domain.scale import Scale
from rubricate.store.tables import AnnotationRecord, MetricRecord, ResolutionRecord, RowRecord

THREADS = 6
PROCESSES = 3
ROWS = 8
PROMPT = "Rate {{ output }}."

WORKER = """
import sys, time
from pathlib import Path
from rubricate import Rubricate, Settings
from rubricate.domain.errors import Conflict
from rubricate.domain.scale import Scale

url, name, rows, folder, mode = sys.argv[1:]
rows, folder = int(rows), Path(folder)


def ready_steady_go():
    (folder / f"{name}.ready").touch()
    while not (folder / "go").exists():
        time.sleep(0.005)


if mode == "open":  # start together on an empty database
    ready_steady_go()
    Rubricate(Settings(database_url=url)).close()
    sys.exit(0)
with Rubricate(Settings(database_url=url)) as rb:
    ready_steady_go()
    for j in range(rows):
        rb.annotations.add("ev", f"r{j}", "quality", annotator=name, score=1 + j % 5)
    rb.metrics.create(f"m-{name}", scale=Scale(type="ordinal", min=1, max=5), prompt="{{ output }}")
    rb.metrics.add_version("shared", prompt=f"from {name}")
    try:
        rb.metrics.create("dup", scale=Scale(type="ordinal", min=1, max=5), prompt="{{ output }}")
        print("created dup")
    except Conflict:
        print("dup taken")
"""


class Processes:
    """Writer processes that start their work together, when ``go`` is called."""

    def __init__(self, url: str, names: list[str], folder: Path, mode: str) -> None:
        self.names, self.folder = names, folder
        args = [str(ROWS), str(folder), mode]
        self.running = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, url, name, *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in names
        ]

    def go(self) -> None:
        deadline = time.monotonic() + 60
        while not all((self.folder / f"{n}.ready").exists() for n in self.names):
            failed = [
                p.stderr.read() for p in self.running if p.poll() not in (None, 0) and p.stderr
            ]
            assert not failed, failed
            assert time.monotonic() < deadline, "a writer process did not start"
            time.sleep(0.01)
        (self.folder / "go").touch()

    def outputs(self) -> list[str]:
        """What each process printed, once all have ended well."""
        ended = [p.communicate(timeout=60) for p in self.running]
        for process, (_, err) in zip(self.running, ended, strict=True):
            assert process.returncode == 0, err
        return [out for out, _ in ended]

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *_: object) -> None:
        for process in self.running:
            if process.poll() is None:
                process.kill()
            process.communicate()


def _seed(rb: Rubricate, folder: Path) -> None:
    data = folder / "ev"
    data.mkdir()
    criteria = [{"name": "quality", "scale": {"type": "ordinal", "min": 1, "max": 5}}]
    (data / "dataset.json").write_text(json.dumps({"name": "ev", "criteria": criteria}))
    rows = [json.dumps({"id": f"r{j}", "input": "q", "output": f"a{j}"}) for j in range(ROWS)]
    (data / "rows.jsonl").write_text("\n".join(rows) + "\n")
    rb.import_path(data, "ev")
    rb.metrics.create("shared", scale=Scale(type="ordinal", min=1, max=5), prompt=PROMPT)


def _thread_work(rb: Rubricate, i: int, created_dup: list[str]) -> None:
    name = f"t{i}"
    for j in range(ROWS):
        rb.annotations.add("ev", f"r{j}", "quality", annotator=name, score=1 + (i + j) % 5)
        rb.annotations.add("ev", "r0", "quality", annotator="everyone", score=1 + (i + j) % 5)
    rb.annotations.resolve_row("ev", f"r{i}", "quality", value=5, user=name)
    rb.metrics.create(f"m-{name}", scale=Scale(type="interval", min=0, max=1), prompt=PROMPT)
    rb.annotations.resolve("ev", "quality", Policy.MEDIAN, replace=True)
    rb.metrics.add_version("shared", prompt=f"from {name}")
    try:
        rb.metrics.create("dup", scale=Scale(type="ordinal", min=1, max=5), prompt=PROMPT)
        created_dup.append(name)
    except Conflict:
        pass


def _run_threads(work: Callable[[int], None]) -> list[BaseException]:
    """``work(i)`` for each of THREADS threads, all at once; the errors they raised."""
    outcomes = race([functools.partial(work, i) for i in range(THREADS)], "a writer")
    return [error for error in outcomes if isinstance(error, BaseException)]


def test_concurrent_threads_and_processes_lose_and_duplicate_nothing(
    rb: Rubricate, database_url: str, tmp_path: Path
) -> None:
    _seed(rb, tmp_path)
    names = [f"p{i}" for i in range(PROCESSES)]
    created_dup: list[str] = []
    with Processes(database_url, names, tmp_path, "write") as processes:
        processes.go()
        errors = _run_threads(lambda i: _thread_work(rb, i, created_dup))
        outputs = processes.outputs()
    assert errors == []
    created_dup += [n for n, out in zip(names, outputs, strict=True) if "created dup" in out]
    assert len(created_dup) == 1

    writers = [f"t{i}" for i in range(THREADS)] + names
    with rb.db.read() as session:
        stored = Counter(
            session.execute(
                select(RowRecord.external_id, AnnotationRecord.annotator).join(
                    RowRecord, RowRecord.id == AnnotationRecord.row_id
                )
            ).all()
        )
        metric_names = Counter(session.scalars(select(MetricRecord.name)).all())
        resolved = dict(
            session.execute(
                select(RowRecord.external_id, ResolutionRecord.resolved_by).join(
                    RowRecord, RowRecord.id == ResolutionRecord.row_id
                )
            ).all()
        )
        resolutions = session.scalar(select(func.count()).select_from(ResolutionRecord))
    expected = {(f"r{j}", who): 1 for who in writers for j in range(ROWS)}
    expected["r0", "everyone"] = 1
    assert dict(stored) == expected
    assert {n: c for n, c in metric_names.items() if n.startswith("m-")} == {
        f"m-{who}": 1 for who in writers
    }
    assert max(metric_names.values()) == 1
    assert metric_names["dup"] == 1
    shared = rb.metrics.versions("shared")
    assert [v.number for v in shared] == list(range(1, len(writers) + 2))
    assert sorted(v.prompt for v in shared[1:]) == sorted(f"from {w}" for w in writers)
    assert resolutions == len(resolved) <= ROWS
    for i in range(THREADS):  # an admin's decision survives every bulk resolve
        assert resolved[f"r{i}"] == f"user:t{i}"
    if rb.db.is_sqlite:
        with rb.db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def test_opening_a_workspace_waits_for_no_writer(rb: Rubricate, database_url: str) -> None:
    """Opening a workspace on an up-to-date database only reads: it does not queue behind
    a long write of another process (SQLite lets readers through a writer's lock; on
    PostgreSQL an EXCLUSIVE table lock blocks every writer of the metric tables, and no
    reader)."""
    holder = rb.db.engine.execution_options(rubricate_write=True).connect()
    holder.begin()  # on SQLite: BEGIN IMMEDIATE, as another process in a long write
    if not rb.db.is_sqlite:
        holder.exec_driver_sql("LOCK TABLE metrics, metric_versions IN EXCLUSIVE MODE")
    opened = threading.Event()

    def open_workspace() -> None:
        with Rubricate(Settings(database_url=database_url)) as other:
            other.metrics.list()
        opened.set()

    thread = threading.Thread(target=open_workspace)
    thread.start()
    try:
        assert opened.wait(timeout=10), "opening the workspace waited for the write lock"
    finally:
        holder.rollback()
        holder.close()
        thread.join()


def test_workspaces_opened_at_once_on_an_empty_database_migrate_it_once(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Several workers starting together: one migrates and stores the built-ins, the others
    wait for it and find everything there. Threads too: Alembic's globals are not theirs."""
    with Processes(empty_database_url, ["a", "b"], tmp_path, "open") as processes:
        processes.go()
        errors = _run_threads(
            lambda _: Rubricate(Settings(database_url=empty_database_url)).close()
        )
        processes.outputs()
    assert errors == []
    with Rubricate(Settings(database_url=empty_database_url)) as rb:
        summaries = rb.metrics.list()
        assert len(summaries) >= 7
        assert all(s.metric.is_builtin and s.version_count == 1 for s in summaries)
        with rb.db.read() as session:
            names = session.scalars(select(MetricRecord.name)).all()
        assert len(names) == len(set(names))
