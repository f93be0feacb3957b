"""Past DISAGREEMENTS_KEPT, the row pass holds a seeded uniform sample of the
disagreements (memory stays flat at any size, issue 11 item 6) while every count stays
exact, and verification's strata scale the sample back to the whole evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from tests.alignment.alignment_support import EVALUATION, METRIC, expected_disagreements, load

from rubricate import Rubricate
from rubricate.alignment import collecting, sampling
from rubricate.alignment.split import Part
from rubricate.domain.traces import Direction
from rubricate.store.tables import EvaluationRecord, MetricRecord

ROWS = 400


def collect(rb: Rubricate) -> collecting.Collected:
    with rb.db.read() as session:
        metric = session.scalar(select(MetricRecord.id).where(MetricRecord.name == METRIC))
        evaluation = session.scalar(
            select(EvaluationRecord.id).where(EvaluationRecord.name == EVALUATION)
        )
        assert metric is not None and evaluation is not None
        counts = collecting.count(session, metric, [evaluation])
        return collecting.collect(session, metric, [evaluation], delta=1, seed=3, counts=counts)


def test_past_the_cap_a_sample_is_kept_and_the_counts_stay_exact(
    rb: Rubricate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(rb, tmp_path, rows=ROWS)
    whole = collect(rb)
    total = expected_disagreements(ROWS, 1)
    assert len(whole.disagreements) == whole.disagreements_total == total > 60

    monkeypatch.setattr(collecting, "DISAGREEMENTS_KEPT", 40)
    capped = collect(rb)
    assert len(capped.disagreements) == 40  # held in memory
    assert capped.disagreements_total == total  # counted
    assert (
        capped.lenient_total
        == whole.lenient_total
        == sum(k.trace.direction is Direction.TOO_LENIENT for k in whole.disagreements)
    )
    ids = [k.source.row_id for k in capped.disagreements]
    assert ids == sorted(ids) and set(ids) <= {k.source.row_id for k in whole.disagreements}
    assert collect(rb).disagreements == capped.disagreements  # seeded: the same sample
    # Each part's disagreeing stratum is scaled back to about its true size.
    for part in Part:
        _, _, true_size, _ = sampling.strata(whole, part)
        _, _, estimate, _ = sampling.strata(capped, part)
        assert abs(estimate - true_size) <= 0.5 * total / 3, (part, estimate, true_size)
    assert sum(sampling.strata(capped, part)[2] for part in Part) == pytest.approx(total)
