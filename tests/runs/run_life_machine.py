"""RunLife, the Hypothesis state machine of test_run_state_machine.py, and the plain-Python
model of each run it keeps beside the real workspace (Expected, the legal moves).

The worker runs in this process and calls the real durable steps of rubricate.runs.workflows
(outside a DBOS workflow a step is a plain call), keeping each step's output as DBOS records
it: a crash stops after a few steps, sometimes during the last one (its writes are done, its
output is lost), and a recovery goes on from the last recorded output. The judge is the
in-process fake; alignment uses the offline engine."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest
from hypothesis import currently_in_test_context, event
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule
from pydantic_ai.exceptions import ModelHTTPError
from sqlalchemy import func, select
from tests.alignment.alignment_support import EVALUATION, METRIC, human_score, judge_score

from rubricate import Rubricate, Settings
from rubricate.alignment.stages import STAGES
from rubricate.domain.acceptance import nothing_to_accept
from rubricate.domain.alignment_runs import AlignmentRun, Phase
from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.domain.metrics import MetricVersion
from rubricate.models import fake
from rubricate.runs import workflows
from rubricate.service.alignment_runs import AlignmentRunService
from rubricate.service.evaluating import EvaluationRunService
from rubricate.store.mapping import to_version
from rubricate.store.tables import (
    AlignmentRunRecord,
    EvaluationRunRecord,
    JudgeResultRecord,
    MetricVersionRecord,
)

SCORED = "scored"  # an evaluation only evaluation runs read; EVALUATION is also a source
ROWS = {EVALUATION: 30, SCORED: 20}
SOURCES = list(ROWS)
BATCH = 8  # rows per durable step
LENGTH = "Do not reward length"  # how the offline engine's guideline on long outputs begins
ANSWER = re.compile(r"Answer (\d+)\.")
IN_FLIGHT = {"pending", "running"}
# While a worker runs: nothing goes wrong, the judge refuses its key, or the user cancels
# the run during the worker's first judge call.
TROUBLE = st.sampled_from(["none", "none", "outage", "cancel"])
# Legal moves (Completed is an evaluation run's Aligned); Error -> Pending is a retry's own.
MOVES = {
    "pending": {"running", "cancelled", "error"},
    "running": {"aligned", "completed", "error", "cancelled"},
}


def note(what: str) -> None:  # an outcome, for Hypothesis's statistics (not in scenarios)
    if currently_in_test_context():
        event(what)


def reachable(old: str, new: str) -> bool:
    return old == new or any(reachable(step, new) for step in MOVES.get(old, ()))


class Databases(Protocol):  # the session's factory of fresh databases (tests/conftest.py)
    def fresh(self, migrated: bool) -> str: ...


@dataclass
class Env:
    databases: Databases
    folder: Path  # the two datasets, written once
    monkeypatch: pytest.MonkeyPatch


@dataclass
class Expected:
    """What one run should be, and what DBOS would hold of its workflow."""

    kind: str  # "align" or "eval"
    params: tuple[Any, ...]  # what a repeated start must match
    status: str = "pending"
    rows_done: int = 0  # evaluation runs
    base_version_id: int = 0  # alignment runs
    stage: int = 0  # alignment runs: the stages whose output was recorded, and that output
    carried: dict[str, Any] = field(default_factory=dict)


class RunLife(RuleBasedStateMachine):
    env: ClassVar[Env]
    aligns, evals = Bundle("aligns"), Bundle("evals")
    any_run = st.one_of(aligns, evals)
    ended = Bundle("ended")  # runs a worker left finished: what retry and accept take

    def __init__(self) -> None:
        super().__init__()
        url = self.env.databases.fresh(migrated=True)
        self.rb = Rubricate(Settings(database_url=url, response_cache=False, run_batch_rows=BATCH))
        for name in ROWS:
            self.rb.import_path(self.env.folder / name, name)
        self.rb.annotations.resolve(EVALUATION, METRIC, "majority")
        self.judge = fake.register("judge", self._judge)
        self.env.monkeypatch.setattr(workflows, "workspace", lambda: self.rb)  # the worker's
        self.trouble, self.cancel_at_call = "none", ""  # while the worker runs
        self.runs: dict[str, Expected] = {}
        self.active = self.rb.metrics.version(METRIC).id  # the metric's active version
        self.seen: dict[str, tuple[str, tuple[int, int]]] = {}  # status, progress
        self.accepted: dict[str, tuple[AlignmentRun, MetricVersion]] = {}

    def teardown(self) -> None:
        fake.unregister("judge")
        self.rb.close()

    def _judge(self, call: fake.FakeCall) -> fake.FakeReply:
        """Scores like the stored judge, unless the length guideline is in its prompt."""
        if self.cancel_at_call:
            self.service(self.cancel_at_call).cancel(self.cancel_at_call)
            self.cancel_at_call = ""
        if self.trouble == "outage":
            return ModelHTTPError(401, "fake", "the key is refused")  # fatal: the run stops
        i = int(ANSWER.search(call.user).group(1))  # type: ignore[union-attr]
        return {"score": human_score(i) if LENGTH in call.system else judge_score(i)}

    def service(self, key: str) -> AlignmentRunService | EvaluationRunService:
        align = self.runs[key].kind == "align"
        return self.rb.alignment_runs if align else self.rb.evaluation_runs

    def _any(self, kind: str, statuses: set[str], params: tuple[Any, ...] | None = None) -> bool:
        return any(
            r.kind == kind and r.status in statuses and params in (None, r.params)
            for r in self.runs.values()
        )

    # -- rules ---------------------------------------------------------------------------

    @initialize(target=aligns, verified=st.booleans())
    def first_alignment(self, verified: bool) -> Any:
        return self.start_alignment("a1", verified)

    @initialize(target=evals, evaluation=st.sampled_from(SOURCES))
    def first_evaluation(self, evaluation: str) -> Any:
        return self.start_evaluation("e1", evaluation)

    @rule(target=aligns, key=st.sampled_from(["a1", "a2", "x"]), verified=st.booleans())
    def start_alignment(self, key: str, verified: bool) -> Any:
        judge = "fake:judge" if verified else None
        options = {"evaluations": [EVALUATION], "delta": 1, "judge_model": judge}
        return self._start(key, "align", (verified,), **options)

    @rule(target=evals, key=st.sampled_from(["e1", "e2", "x"]), evaluation=st.sampled_from(SOURCES))
    def start_evaluation(self, key: str, evaluation: str) -> Any:
        return self._start(key, "eval", (evaluation,), evaluation=evaluation, model="fake:judge")

    def _start(self, key: str, kind: str, params: tuple[Any, ...], **arguments: Any) -> Any:
        runs = self.rb.alignment_runs if kind == "align" else self.rb.evaluation_runs
        start = partial(runs.start, metric=METRIC, run_id=key, **arguments)
        refusal = self._refusal(key, kind, params)
        note(f"start {kind}: {refusal[1] if refusal else 'again' if key in self.runs else 'new'}")
        if refusal is not None:
            with pytest.raises(refusal[0], match=refusal[1]):
                start()
            return multiple()
        self.runs.setdefault(key, Expected(kind, params, base_version_id=self.active))
        run = start()
        assert (run.id, run.status.value) == (key, self.runs[key].status)
        return key

    def _refusal(self, key: str, kind: str, params: tuple[Any, ...]) -> tuple[type, str] | None:
        known = self.runs.get(key)
        if known and known.kind != kind:
            return Conflict, "already used by"  # one namespace of ids for both kinds
        if known and known.params != params:
            return Conflict, "other parameters"
        if not known and kind == "align" and self._any("eval", IN_FLIGHT, (EVALUATION,)):
            return InvalidInput, "scoring is still under way"  # a source is being scored
        if not known and params == (EVALUATION,) and self._any("align", IN_FLIGHT):
            return InvalidInput, "is a source of alignment run"  # its stages re-read it
        return None

    @rule(key=any_run, twice=st.booleans())
    def cancel(self, key: str, twice: bool) -> None:
        run = self.runs[key]
        note(f"cancel: {run.status}")
        if run.status in IN_FLIGHT:
            run.status = "cancelled"
        for _ in range(2 if twice else 1):
            assert self.service(key).cancel(key).status.value == run.status

    @rule(target=ended, key=any_run, steps=st.integers(1, 3), torn=st.booleans(), trouble=TROUBLE)
    def crash(self, key: str, steps: int, torn: bool, trouble: str) -> Any:
        """A worker carries out ``steps`` steps of the run's workflow and dies; when
        ``torn``, during the last one: its writes are done, its output is lost."""
        self._work(key, steps, torn, trouble)
        note(f"crashed: {self.runs[key].status}")
        return multiple() if self.runs[key].status in IN_FLIGHT else key

    @rule(target=ended, key=any_run, trouble=TROUBLE)
    def recover(self, key: str, trouble: str) -> Any:
        """A live worker takes the workflow over and carries it to its end."""
        self._work(key, len(STAGES) + max(ROWS.values()), False, trouble)
        note(f"recovered: {self.runs[key].status}")
        return multiple() if self.runs[key].status in IN_FLIGHT else key

    @rule(key=ended)
    def retry(self, key: str) -> None:
        run = self.runs[key]
        note(f"retry: {run.status}")
        if run.status != "error":
            with pytest.raises(Conflict):
                self.service(key).retry(key)
            return
        if run.params == (EVALUATION,) and self._any("align", IN_FLIGHT):
            with pytest.raises(InvalidInput, match="is a source of alignment run"):
                self.service(key).retry(key)
            return
        assert self.service(key).retry(key).status.value == "pending"
        run.status, run.stage, run.carried = "pending", 0, {}  # a new workflow, from the start
        self.seen[key] = ("pending", self.seen[key][1])  # the retry's own move back

    @rule(key=ended, merge=st.booleans())
    def accept(self, key: str, merge: bool) -> None:
        run = self.runs[key]
        if key in self.accepted:  # accepting again returns the same version
            again = self.rb.reviews.accept(key, merge=merge, confirm_unverified=True)
            assert not again.created and again.version == self.accepted[key][1]
            return
        result = self.rb.alignment_runs.get(key).result if run.kind == "align" else None
        stale = run.base_version_id != self.active
        nothing = result is None or nothing_to_accept(key, result) is not None
        if run.status != "aligned" or nothing or (stale and not merge):
            note(f"accept: refused ({run.kind} {run.status})")
            with pytest.raises(Conflict if run.kind == "align" else NotFound):
                self.rb.reviews.accept(key, merge=merge, confirm_unverified=True)
            return
        done = self.rb.reviews.accept(key, merge=merge, confirm_unverified=True)
        note(f"accept: {'merged' if stale else 'plain'}")
        assert done.created and done.merged == stale and not done.forked
        self.active = done.version.id
        self.accepted[key] = (self.rb.alignment_runs.get(key), self._version(done.version.id))
        assert self.accepted[key][1] == done.version

    # -- the worker, and what each step should do ----------------------------------------

    def _work(self, key: str, limit: int, torn: bool, trouble: str) -> None:
        run = self.runs[key]
        # never both: a source is not scored under an alignment run in flight
        assert not (run.params == (EVALUATION,) and self._any("align", {"running"}))
        self.trouble, self.cancel_at_call = trouble, key if trouble == "cancel" else ""
        try:
            for n in range(limit):
                if run.kind == "eval":
                    left = workflows.score_evaluation_batch(key)
                    self._expect_batch(
                        run, cancelled=trouble == "cancel" and not self.cancel_at_call
                    )
                    rows = ROWS[run.params[0]]
                    assert left == (rows - run.rows_done if run.status == "running" else 0)
                    if left == 0:
                        return
                    continue
                if run.stage == len(STAGES):
                    return  # the workflow has ended
                calls = len(self.judge.calls)
                output = workflows.alignment_stage(key, STAGES[run.stage], run.carried)
                self._expect_stage(run, STAGES[run.stage], len(self.judge.calls) > calls)
                # A step stops at a cancel's next boundary; one past its last goes on, and
                # the next step stops.
                assert run.status not in IN_FLIGHT or not output.get("stopped")
                if torn and n == limit - 1:
                    note(f"torn: {STAGES[run.stage]}")
                    return  # it died before the step's output was recorded
                run.carried = output
                run.stage = len(STAGES) if output.get("stopped") else run.stage + 1
        finally:
            self.trouble, self.cancel_at_call = "none", ""

    def _expect_batch(self, run: Expected, cancelled: bool) -> None:
        if run.status not in IN_FLIGHT:
            return
        if self.trouble == "outage":  # every call fails: the run stops, no row is kept
            run.status = "error"
            return
        rows = ROWS[run.params[0]]
        run.rows_done = min(rows, run.rows_done + BATCH)  # the batch in flight is kept
        left = run.rows_done < rows
        run.status = "cancelled" if cancelled else "running" if left else "completed"

    def _expect_stage(self, run: Expected, stage: str, called: bool) -> None:
        if run.status not in IN_FLIGHT:
            return
        if called and self.trouble != "none":  # journaled calls are replayed, not made
            run.status = "error" if self.trouble == "outage" else "cancelled"
        else:
            run.status = "aligned" if stage == "finish" else "running"

    def _version(self, version_id: int) -> MetricVersion:
        with self.rb.db.read() as session:
            record = session.get(MetricVersionRecord, version_id)
            assert record is not None
            return to_version(record)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def each_run_is_as_the_model_says(self) -> None:
        of_run = JudgeResultRecord.evaluation_run_id
        with self.rb.db.read() as session:
            stored = dict(session.execute(select(of_run, func.count()).group_by(of_run)).all())
        for key, run in self.runs.items():
            real = self.service(key).get(key)
            old_status, old_progress = self.seen.get(key, ("pending", (-1, 0)))
            assert real.status.value == run.status, key
            assert reachable(old_status, run.status), f"{key}: {old_status} -> {run.status}"
            if run.kind == "eval":
                assert real.rows_done == run.rows_done == stored.get(key, 0), key
                assert 0 <= real.rows_failed <= real.rows_done <= real.rows_total
                progress = (0, real.rows_done)
            else:
                assert real.base_version_id == run.base_version_id
                assert 0 <= real.progress_done <= real.progress_total, (key, real)
                progress = (list(Phase).index(real.phase) if real.phase else -1, real.progress_done)
                if real.result is not None:  # figures of one pass over the rows
                    assert real.disagreements == real.result.disagreements, key
            assert progress >= old_progress, f"{key}: progress went back from {old_progress}"
            self.seen[key] = (run.status, progress)

    @invariant()
    def one_run_per_key_and_one_result_per_row(self) -> None:
        kinds = [run.kind for run in self.runs.values()]
        per_row = (JudgeResultRecord.evaluation_run_id, JudgeResultRecord.row_id)
        with self.rb.db.read() as session:
            aligns = session.scalar(select(func.count()).select_from(AlignmentRunRecord))
            evals = session.scalar(select(func.count()).select_from(EvaluationRunRecord))
            twice = session.execute(
                select(*per_row)
                .where(JudgeResultRecord.evaluation_run_id.is_not(None))
                .group_by(*per_row)
                .having(func.count() > 1)
            ).all()
        assert (aligns, evals) == (kinds.count("align"), kinds.count("eval"))
        assert twice == []

    @invariant()
    def accepted_results_never_change(self) -> None:
        assert self.rb.metrics.version(METRIC).id == self.active
        for key, (run, version) in self.accepted.items():
            assert self.rb.alignment_runs.get(key) == run
            assert self._version(version.id) == version
