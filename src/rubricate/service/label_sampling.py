"""Label sampling, the use case (issue 15, item 4): the rows of an evaluation whose review
would teach the alignment of a metric most, under a budget of N rows, each with its
reason (alignment/label_sampling.py decides; this reads what it needs).

What it reads: the active version's two newest scores of each row (a second sample shows
the judge disagreeing with itself), the rows already reviewed for the metric (their
resolved values teach the sampler where the judge errs) and those waiting in an open
review queue on the metric (never proposed twice), and the texts of the rows it weighs.
The judge's stated uncertainty is not stored by rubricate, so only a second sample gives
the judge's own doubt here. A review queue with the selection ``sampler`` takes its rows
from ``sampled_rows``. A share of every proposal (``AUDIT_SHARE``) is drawn at random from
the audit slice, so that an alignment from the reviewed rows can still verify on a random
sample of the evaluation: the queue with the ``sampler`` selection is what tells alignment
that the rows were chosen (``store.label_sampling.sampler_chosen``)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy.orm import Session

from rubricate.alignment import label_sampling as sampler
from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import MetricVersion, active_version
from rubricate.service.base import Service
from rubricate.store import label_sampling as store
from rubricate.store.evaluations import find_evaluation
from rubricate.store.mapping import to_metric
from rubricate.store.metrics import find_metric, load_versions

MAX_BUDGET = 5_000  # rows one proposal may hold: a few rounds of review, not a census


@dataclass(frozen=True, slots=True)
class Proposal:
    row_id: str  # the row's id in the user's files
    reason: str
    doubt: float  # the chance the judge is at least delta off, as estimated
    novelty: float  # one minus the closest similarity to a row reviewed or picked
    audit: bool = False  # drawn at random from the audit slice (for verification)


class LabelSamplingService(Service):
    def propose(
        self,
        evaluation: str,
        metric: str,
        budget: int,
        *,
        delta: float | None = None,
        seed: int = 0,
    ) -> list[Proposal]:
        """Up to ``budget`` rows of ``evaluation`` to review next for ``metric`` (its
        active version's judge scores; ``delta`` defaults to the scale's step), in the
        order to review them."""
        with self._db.read() as session:
            evaluation_id = find_evaluation(session, evaluation).id
            record = find_metric(session, metric)
            version = active_version(to_metric(record), load_versions(session, record.id))
            picks, texts = _sample(session, evaluation_id, record.id, version, budget, delta, seed)
        return [Proposal(texts[p.row_id][0], p.reason, p.doubt, p.novelty, p.audit) for p in picks]


def sampled_rows(
    session: Session,
    evaluation_id: int,
    metric_id: int,
    version: MetricVersion,
    budget: int,
    *,
    delta: float | None = None,
    seed: int = 0,
) -> list[int]:
    """The database ids of the rows ``propose`` would give, in its order (a queue's)."""
    picks, _ = _sample(session, evaluation_id, metric_id, version, budget, delta, seed)
    return [p.row_id for p in picks]


def _sample(
    session: Session,
    evaluation_id: int,
    metric_id: int,
    version: MetricVersion,
    budget: int,
    delta: float | None,
    seed: int,
) -> tuple[list[sampler.Pick], dict[int, tuple[str, str, str]]]:
    if not 1 <= budget <= MAX_BUDGET:
        raise InvalidInput(f"the budget is 1 to {MAX_BUDGET:,} rows", field="sample_size")
    if delta is not None and not delta > 0:
        raise InvalidInput("delta must be above 0", field="delta")
    step = delta if delta is not None else version.scale.step
    scores = store.judge_samples(session, evaluation_id, version.id)
    reviewed = store.reviewed_rows(session, evaluation_id, metric_id)
    rng = random.Random(f"{seed}:label-sampling-rows")
    pool = [r for r in store.row_ids(session, evaluation_id) if r in scores and r not in reviewed]
    pool = _bounded(pool, sampler.MAX_POOL, rng)
    known = _bounded(sorted(reviewed), sampler.MAX_REFERENCE, rng)
    texts = store.row_texts(session, [*pool, *known])
    candidates = [
        sampler.Candidate(
            row_id=row,
            input=texts[row][1],
            output=texts[row][2],
            judge=scores[row][0] if row in scores else None,
            second=scores[row][1] if row in scores else None,
            reviewed=row in reviewed,
            human=reviewed.get(row),
        )
        for row in (*pool, *known)
        if row in texts
    ]
    picks = sampler.propose(
        candidates,
        scale=version.scale,
        delta=step,
        budget=budget,
        seed=seed,
        audit=sampler.AUDIT_SHARE,
    )
    return picks, texts


def _bounded(rows: list[int], most: int, rng: random.Random) -> list[int]:
    """At most ``most`` of ``rows`` (a seeded sample past it), in their order: the texts
    read stay bounded whatever the evaluation's size."""
    if len(rows) <= most:
        return rows
    kept = set(rng.sample(rows, most))
    return [r for r in rows if r in kept]
