"""A run's journal writes its marks and replies in groups (group commit): every row is
durable when its caller goes on, in fewer transactions than rows, in the order given, and
a caller cancelled while it waited still has its row written."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import event, select

from rubricate.models.cache import CachedReply
from rubricate.models.journal import SENDS, SENT, RunJournal
from rubricate.store.database import Database
from rubricate.store.tables import RunCallRecord

CALLS = 32


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def stored(db: Database, run_id: str) -> dict[str, dict[str, object]]:
    with db.read() as session:
        records = session.scalars(select(RunCallRecord).where(RunCallRecord.run_id == run_id))
        return {r.key: r.reply for r in records}


def count_commits(db: Database) -> list[int]:
    commits = [0]

    @event.listens_for(db.engine, "commit")
    def _counted(_connection: object) -> None:
        commits[0] += 1

    return commits


def test_calls_in_flight_are_marked_and_answered_durably_in_fewer_commits(db: Database) -> None:
    journal = RunJournal(db, "run-1")
    commits = count_commits(db)
    seen_durable: list[bool] = []

    async def call(i: int) -> None:
        key = f"k{i}"
        await journal.sending(key)
        seen_durable.append(stored(db, "run-1").get(key) == {SENT: 1})
        await asyncio.sleep(0.01)
        await journal.put(key, CachedReply({"text": f"answer {i}"}, 10, 2, 0.001))

    async def main() -> None:
        await asyncio.gather(*(call(i) for i in range(CALLS)))

    asyncio.run(main())
    rows = stored(db, "run-1")
    assert seen_durable == [True] * CALLS  # each mark was in the database before the send
    assert rows == {f"k{i}": {"text": f"answer {i}", SENDS: 1} for i in range(CALLS)}
    assert commits[0] < CALLS  # 64 rows: far fewer commits than rows


def test_a_reply_replaces_its_mark_in_one_group_in_order(db: Database) -> None:
    journal = RunJournal(db, "run-2")

    async def main() -> None:
        # The mark and the reply of one request, queued together: written in one group,
        # in the order given, the reply must be what stays.
        await asyncio.gather(
            journal.sending("k"), journal.put("k", CachedReply({"text": "yes"}, 1, 1, None))
        )

    commits = count_commits(db)
    asyncio.run(main())
    assert commits[0] == 1  # one group
    assert stored(db, "run-2") == {"k": {"text": "yes", SENDS: 1}}


def test_a_caller_cancelled_while_it_waits_still_has_its_row_written(db: Database) -> None:
    journal = RunJournal(db, "run-3")

    async def main() -> None:
        waiting = asyncio.create_task(journal.sending("k"))
        await asyncio.sleep(0)  # queued, not written yet
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert stored(db, "run-3") == {"k": {SENT: 1}}


def test_a_journal_read_again_knows_the_sends_and_replies_written_in_groups(
    db: Database,
) -> None:
    first = RunJournal(db, "run-4")

    async def main() -> None:
        await asyncio.gather(first.sending("a"), first.sending("b"))
        await first.put("a", CachedReply({"text": "A"}, 3, 1, 0.5))

    asyncio.run(main())
    again = RunJournal(db, "run-4")  # a worker that resumes the run
    assert again.sends("b") == 1 and again.get("b") is None
    reply = again.get("a")
    assert reply is not None and reply.reply["text"] == "A" and reply.input_tokens == 3


def test_a_run_taken_over_while_its_mark_was_written_sends_nothing(db: Database) -> None:
    """A worker paused between asking whether it still owns the run and writing a call's
    mark: the run was recovered elsewhere meanwhile, and its new owner read the journal
    before the late mark. Sent now, that request would be paid and counted by nobody."""
    from rubricate.models import fake, ownership
    from rubricate.models.client import ChatRequest, ModelClient
    from rubricate.models.ownership import OwnershipLost
    from rubricate.scoring.judge import JUDGE_SCHEMA
    from rubricate.settings import Settings

    class TakenOverWhileMarking(RunJournal):
        async def sending(self, key: str) -> None:
            await super().sending(key)
            ownership.lose()  # the beat that follows the pause finds the run elsewhere

    model = fake.register("late-mark", fake.scripted([{"score": 4, "rationale": "ok"}]))
    journal = TakenOverWhileMarking(db, "run-5")
    client = ModelClient(Settings(), journal=journal, owned_runs=True)
    request = ChatRequest("You judge.", "The row.", JUDGE_SCHEMA)
    try:
        with pytest.raises(OwnershipLost):
            asyncio.run(client.call("fake:late-mark", request))
    finally:
        fake.unregister("late-mark")
        ownership.reset()
    assert model.calls == []  # never sent
    assert list(stored(db, "run-5").values()) == [{SENT: 1}]  # marked, as it may have been
