"""Which rows a reflection model reads: a bounded, stratified sample of the disagreements,
cut into mixed batches, each with agreeing rows of the same human score beside it, and
every row marked when its reviewers are far apart among themselves.

Every draw is seeded (the run's seed and a purpose), so a run is reproducible and a
resumed run shows the model the very same batches (its calls are then journal hits)."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from rubricate.alignment.collecting import KeptRow
from rubricate.alignment.trace_format import TraceBlock, render_trace
from rubricate.alignment.tracing import TOLERANCE
from rubricate.domain.traces import Direction, Trace
from rubricate.models.cost import estimate_tokens

BATCH_ROWS = 30  # disagreements per batch: enough for a pattern to show in one batch
CONTRAST_PER_ROW = 2  # agreeing rows shown per disagreement, when there are that many
BATCH_TOKENS = 48_000  # a batch's rows with their contrast: fits current models' contexts


def contested(trace: Trace, delta: float) -> bool:
    """The reviewers are at least ``delta`` apart among themselves: the row's human score
    is itself uncertain (a row with one reviewer never is)."""
    scores = [note.score for note in trace.reviewers]
    return len(scores) > 1 and max(scores) - min(scores) >= delta - TOLERANCE


@dataclass(frozen=True, slots=True)
class Sample:
    rows: list[KeptRow]
    total: int  # disagreements there were to sample from

    @property
    def capped(self) -> bool:
        return len(self.rows) < self.total


def sample_disagreements(rows: Sequence[KeptRow], cap: int, seed: int) -> Sample:
    """At most ``cap`` disagreements: all when there are that few, else a seeded sample
    stratified by direction and source evaluation, each stratum given its proportional
    share (largest remainders first, ties broken by the seed). Equal-probability within a
    stratum, so the sample's mix is the population's."""
    if len(rows) <= cap:
        return Sample(list(rows), len(rows))
    strata: dict[Hashable, list[KeptRow]] = defaultdict(list)
    for kept in sorted(rows, key=lambda k: k.source.row_id):
        strata[(kept.trace.direction, kept.source.evaluation_id)].append(kept)
    rng = random.Random(f"{seed}:reflection-sample")
    keys = sorted(strata, key=str)
    exact = {key: cap * len(strata[key]) / len(rows) for key in keys}
    shares = {key: math.floor(exact[key]) for key in keys}
    tiebreak = {key: rng.random() for key in keys}
    left = cap - sum(shares.values())
    for key in sorted(keys, key=lambda k: (-(exact[k] - shares[k]), tiebreak[k]))[:left]:
        shares[key] += 1
    chosen = [kept for key in keys for kept in rng.sample(strata[key], shares[key])]
    return Sample(sorted(chosen, key=lambda k: k.source.row_id), len(rows))


@dataclass(frozen=True, slots=True)
class Batch:
    """One reflection request's rows: disagreements (shuffled, both directions) and the
    agreeing rows shown beside them."""

    disagreements: tuple[TraceBlock, ...]
    contrast: tuple[TraceBlock, ...]

    @property
    def blocks(self) -> tuple[TraceBlock, ...]:
        return (*self.disagreements, *self.contrast)


def make_batches(
    disagreements: Sequence[KeptRow],
    agreeing: Sequence[KeptRow],
    *,
    delta: float,
    seed: int,
    rows: int = BATCH_ROWS,
    tokens: int = BATCH_TOKENS,
    per_row: int = CONTRAST_PER_ROW,
) -> list[Batch]:
    """The disagreements in batches of about ``rows`` (sizes evened out, each batch with
    both directions in their overall proportion), in a seeded order; each disagreement
    with up to ``per_row`` agreeing rows of the same human score (seeded, none shown
    twice in a batch). A batch closes early when its rows would pass ``tokens``."""
    rng = random.Random(f"{seed}:reflection-batches")
    order = _interleaved(disagreements, rng)
    count = max(1, math.ceil(len(order) / rows)) if order else 0
    size = math.ceil(len(order) / count) if count else 0
    pool: dict[float, list[KeptRow]] = defaultdict(list)
    for kept in sorted(agreeing, key=lambda k: k.source.row_id):
        pool[kept.trace.human_score].append(kept)
    found: list[Batch] = []
    chunk: list[KeptRow] = []
    used = 0
    for kept in order:
        cost = _tokens(kept.trace) * (1 + per_row)
        if chunk and (len(chunk) >= size or used + cost > tokens):
            found.append(_batch(chunk, pool, delta, rng, per_row))
            chunk, used = [], 0
        chunk.append(kept)
        used += cost
    if chunk:
        found.append(_batch(chunk, pool, delta, rng, per_row))
    return found


def _interleaved(rows: Sequence[KeptRow], rng: random.Random) -> list[KeptRow]:
    """Each direction shuffled, then merged so that every stretch holds both in their
    overall proportion (the row at fraction f of its direction's list goes at about f of
    the whole)."""
    by_direction: dict[Direction | None, list[KeptRow]] = defaultdict(list)
    for kept in sorted(rows, key=lambda k: k.source.row_id):
        by_direction[kept.trace.direction].append(kept)
    placed: list[tuple[float, float, KeptRow]] = []
    for direction in sorted(by_direction, key=str):
        group = by_direction[direction]
        rng.shuffle(group)
        placed.extend(((i + 0.5) / len(group), rng.random(), k) for i, k in enumerate(group))
    return [kept for *_, kept in sorted(placed, key=lambda p: (p[0], p[1]))]


def _batch(
    chunk: Sequence[KeptRow],
    pool: dict[float, list[KeptRow]],
    delta: float,
    rng: random.Random,
    per_row: int,
) -> Batch:
    shown = list(chunk)
    rng.shuffle(shown)
    taken: set[int] = set()
    contrast: list[TraceBlock] = []
    for kept in shown:
        candidates = [
            k for k in pool.get(kept.trace.human_score, []) if k.source.row_id not in taken
        ]
        for pick in rng.sample(candidates, min(per_row, len(candidates))):
            taken.add(pick.source.row_id)
            contrast.append(
                TraceBlock.of(pick.trace, agrees=True, contested=contested(pick.trace, delta))
            )
    blocks = tuple(TraceBlock.of(k.trace, contested=contested(k.trace, delta)) for k in shown)
    return Batch(blocks, tuple(contrast))


def _tokens(trace: Trace) -> int:
    return estimate_tokens(render_trace(trace, "f" * 16))
