"""Label sampling through the workspace, on the demo's rows imported again with only half
of them reviewed: proposals skip reviewed and queued rows, a judge that disagrees with
itself puts its row first, a queue with the ``sampler`` selection holds the rows the
sampler proposes, and once it does, alignment checks only the audit slice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rubricate import Rubricate
from rubricate.alignment import collecting
from rubricate.alignment.collecting import Collected
from rubricate.alignment.distilling import audit_notes
from rubricate.alignment.label_sampling import AUDIT_SHARE
from rubricate.alignment.split import Part, audited_part, in_audit_slice, part_of
from rubricate.alignment.trace_format import data_blocks
from rubricate.demo import ALIGNED_METRIC, DATASET
from rubricate.domain.errors import InvalidInput
from rubricate.domain.queues import QueueRequest, Selection
from rubricate.domain.users import Role, User
from rubricate.models import fake
from rubricate.models.fake import FakeCall
from rubricate.service.label_sampling import LabelSamplingService
from rubricate.store.evaluations import find_evaluation
from rubricate.store.metrics import find_metric

ADMIN = User("ada", Role.ADMIN)
ANA = User("ana", Role.REVIEWER)
FRESH = "half-reviewed"
REVIEWED = 24  # the first rows keep their reviewers' scores; the other 24 have none


def demo_items() -> list[dict[str, Any]]:
    lines = (DATASET / "rows.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def folder_of(items: list[dict[str, Any]], folder: Path) -> Path:
    """The demo's data set with ``items`` as its rows."""
    folder.mkdir()
    (folder / "dataset.json").write_text((DATASET / "dataset.json").read_text(encoding="utf-8"))
    (folder / "rows.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    return folder


@pytest.fixture
def half(demo: Rubricate, tmp_path: Path) -> Rubricate:
    """The demo, and its rows again as ``FRESH``: judged, half of them reviewed."""
    items = demo_items()
    for item in items[REVIEWED:]:
        item["annotations"] = {}
    demo.import_path(folder_of(items, tmp_path / "half"), FRESH)
    demo.annotations.resolve(FRESH, ALIGNED_METRIC, "majority")
    return demo


def unreviewed() -> set[str]:
    return {item["id"] for item in demo_items()[REVIEWED:]}


def test_proposals_are_unreviewed_rows_each_with_its_reason(half: Rubricate) -> None:
    sampling = LabelSamplingService(half.db)
    proposals = sampling.propose(FRESH, ALIGNED_METRIC, 10, seed=1)
    found = [p.row_id for p in proposals]
    assert len(found) == len(set(found)) == 10 and set(found) <= unreviewed()
    assert all(p.reason and 0 <= p.doubt <= 1 and 0 <= p.novelty <= 1 for p in proposals)
    assert proposals == sampling.propose(FRESH, ALIGNED_METRIC, 10, seed=1)
    everything = sampling.propose(FRESH, ALIGNED_METRIC, 100)
    assert {p.row_id for p in everything} == unreviewed()
    with pytest.raises(InvalidInput) as error:
        sampling.propose(FRESH, ALIGNED_METRIC, 0)
    assert error.value.field == "sample_size"


def test_a_judge_that_disagrees_with_itself_puts_its_row_first(half: Rubricate) -> None:
    """A second scoring of the same version (a run at temperature > 0) agrees with the
    imported scores on every row but one, which it scores 3 points apart."""
    items = demo_items()
    stored = {i["output"]: i["judge"][ALIGNED_METRIC]["score"] for i in items}
    odd = items[40]

    def judge(call: FakeCall) -> dict[str, Any]:
        output = data_blocks(call.user)["OUTPUT"]
        score = stored[output]
        if output == odd["output"]:
            score = 1 if score >= 4 else 5
        return {"score": score, "rationale": "again"}

    sampling = LabelSamplingService(half.db)
    before = [p.row_id for p in sampling.propose(FRESH, ALIGNED_METRIC, 24)]
    with fake.registered("again", judge):
        half.evaluate(metric=ALIGNED_METRIC, evaluation=FRESH, model="fake:again", cache=False)
    after = sampling.propose(FRESH, ALIGNED_METRIC, 24)
    rank = [p.row_id for p in after].index(odd["id"])
    assert rank < min(before.index(odd["id"]), 4)
    assert after[rank].doubt == 1.0
    assert "the judge disagrees with itself" in after[rank].reason


def test_a_sampler_queue_holds_the_proposed_rows_and_the_next_proposal_skips_them(
    half: Rubricate,
) -> None:
    sampling = LabelSamplingService(half.db)
    proposed = [p.row_id for p in sampling.propose(FRESH, ALIGNED_METRIC, 6, seed=2)]
    request = QueueRequest(
        name="teach", evaluation=FRESH, metric=ALIGNED_METRIC, reviewers=("ana",),
        selection=Selection.SAMPLER, sample_size=6, seed=2,
    )  # fmt: skip
    queue = half.queues.create(request, by=ADMIN)
    assert queue.rows == 6 and queue.selection == "sampler's 6 rows (seed 2)"
    given = []
    while (row := half.queue_reviews.next("teach", ANA)) is not None:
        given.append(row.row_id)
        half.queue_reviews.submit("teach", ANA, row.row_id, 3)
        if len(given) == 2:
            break
    assert given == proposed[:2]  # in the sampler's order
    after = {p.row_id for p in sampling.propose(FRESH, ALIGNED_METRIC, 100)}
    assert after == unreviewed() - set(proposed)  # reviewed or waiting in the open queue
    with pytest.raises(InvalidInput) as error:
        half.queues.create(
            QueueRequest("x", FRESH, ALIGNED_METRIC, ("ana",), selection=Selection.SAMPLER),
            by=ADMIN,
        )
    assert error.value.field == "sample_size"


def collected(rb: Rubricate) -> Collected:
    with rb.db.read() as session:
        metric = find_metric(session, ALIGNED_METRIC).id
        evaluations = [find_evaluation(session, FRESH).id]
        counts = collecting.count(session, metric, evaluations)
        return collecting.collect(session, metric, evaluations, delta=1.0, seed=3, counts=counts)


def test_after_a_sampler_queue_alignment_checks_only_the_audit_slice(
    half: Rubricate, tmp_path: Path
) -> None:
    """Before: every row's part is the usual split's. Once a sampler queue holds rows of
    the evaluation, only the audit slice's groups are checked; the rest are distilled;
    until every row is reviewed, when the reviewed rows are the evaluation itself."""
    before = collected(half)
    kept = [*before.disagreements, *before.agreeing]
    assert not before.audited and all(k.part is part_of(k.group, 3) for k in kept)
    proposals = LabelSamplingService(half.db).propose(FRESH, ALIGNED_METRIC, 10, seed=2)
    assert sum(p.audit for p in proposals) == round(10 * AUDIT_SHARE)
    request = QueueRequest(
        name="teach", evaluation=FRESH, metric=ALIGNED_METRIC, reviewers=("ana",),
        selection=Selection.SAMPLER, sample_size=10, seed=2,
    )  # fmt: skip
    half.queues.create(request, by=ADMIN)
    after = collected(half)
    kept = [*after.disagreements, *after.agreeing]
    assert after.audited and all(k.part is audited_part(k.group, 3) for k in kept)
    assert {k.part for k in kept if not in_audit_slice(k.group)} == {Part.DISTILL}
    assert audit_notes(after, verifying=True) and not audit_notes(after, verifying=False)
    assert not audit_notes(before, verifying=True)
    every = demo_items()  # every row reviewed: the rows are the evaluation itself
    for item in every:
        item["annotations"] = {ALIGNED_METRIC: [{"annotator": "dee", "score": 3}]}
    half.import_path(folder_of(every, tmp_path / "every"), FRESH)
    half.annotations.resolve(FRESH, ALIGNED_METRIC, "median")
    assert not collected(half).audited
