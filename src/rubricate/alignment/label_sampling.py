"""Label-efficient sampling (issue 15, item 4): the rows whose review would teach the
alignment most, under a budget of N rows, in the order to review them.

A reviewed row teaches the alignment when it shows the judge wrong by at least delta
(reflection reads disagreements, verification scores them again) and when it is unlike
the rows already reviewed (a blind spot nobody has seen lives in rows unlike those). So
each row not yet reviewed gets:

- *doubt*, the chance that the judge is at least delta off on it: from the judge
  disagreeing with itself (a second sample of the same version, or its stated
  uncertainty) and, once ``MIN_FIT`` rows are reviewed, from ridge regressions over the
  reviewed rows' cheap features (``label_features.py``: hashed word n-grams, alone and
  by the judge's score, the output's length decile): of whether the judge was at least
  delta off (the chance: near the delta boundary or past it), and of by how much and
  which way (the reason's words, and the direction's balance below);
- a *direction's balance*: a predicted disagreement counts more when its direction (judge
  too lenient, too harsh) has fewer disagreements among the rows reviewed, so that the
  alignment sees both ways the judge errs (at most twice, at least half);
- *novelty*, one minus its largest similarity to a row reviewed or already picked, by its
  text (cosine over hashed n-grams of input and output) and, with a fit, by what explains
  the judge's error on it (the same features weighted by how much each moves the
  predicted error): once a reviewed row shows a cause of error, rows that the same cause
  explains make way for rows unlike any reviewed, so the reviews spread over every kind
  of row the judge's errors depend on, as a stratified sample would, and the picks go to
  disagreements nothing reviewed explains yet. Below ``SIMILAR`` a row keeps all of it;
  above, it loses weight in proportion.

Rows are picked greedily by ``(BASE + doubt * balance) * novelty``; each pick lowers the
novelty of the rows like it (a weighted farthest-point greedy, evaluated lazily: novelty
only falls). Pure (no database, no model call) and deterministic for a seed, which breaks
ties and draws the rows kept past the bounds.

Rows picked this way are not a random sample of the evaluation, so they cannot verify an
alignment on their own. With an ``audit`` share (the service's default ``AUDIT_SHARE``),
that share of the budget is drawn uniformly at random from the unreviewed rows of the
audit slice (``split.in_audit_slice``, a fixed random share of the input groups), the rest
is picked as above from the rows outside it, and the two are interleaved. The slice's
reviewed rows stay a random sample of the evaluation, and alignment verifies on them only
(``split.audited_part``).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rubricate.alignment import label_features as lf
from rubricate.alignment.split import group_key, in_audit_slice
from rubricate.domain.scale import Scale

BASE = 0.25  # what a row of no doubt still weighs: novelty alone then decides
SIMILAR = 0.5  # a row nearer than this to the rows reviewed or picked loses weight
MIN_FIT = 20  # reviewed rows (with a judge score) before the judge's error is predicted
BALANCE = (0.5, 2.0)  # the least and most a direction's disagreements are weighted
NEAR, LIKELY = 0.35, 0.7  # a predicted chance of disagreement worth saying, and a likely one
TOLERANCE = 1e-9
MAX_POOL = 10_000  # rows considered for picking (a seeded sample past it)
MAX_REFERENCE = 3_000  # reviewed rows read for novelty and the fit (a seeded sample past it)
AUDIT_SHARE = 0.5  # of each proposal, drawn at random from the audit slice (the service's)
AUDIT_REASON = (
    "drawn at random from the audit slice, so that alignment can verify on rows that stand "
    "for the whole evaluation"
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A row as the sampler sees it. ``reviewed``: a reviewer has scored it (or it waits
    in an open review queue); ``human``: its resolved score, when there is one."""

    row_id: int
    input: str
    output: str
    judge: float | None  # the judge's stored score; None: not scored, never proposed
    second: float | None = None  # another sample of the same judge and version
    uncertainty: float | None = None  # the judge's stated uncertainty, 0 (sure) to 1
    reviewed: bool = False
    human: float | None = None


@dataclass(frozen=True, slots=True)
class Pick:
    row_id: int
    reason: str  # one line: why this row, in the reviewer's terms
    doubt: float  # 0..1
    novelty: float  # 0..1
    audit: bool = False  # drawn at random from the audit slice, not picked for what it teaches


def propose(
    rows: Sequence[Candidate],
    *,
    scale: Scale,
    delta: float,
    budget: int,
    seed: int = 0,
    audit: float = 0.0,
) -> list[Pick]:
    """Up to ``budget`` rows not reviewed and scored by the judge, in the order to review
    them, each with its reason; ``audit`` of them (a share) drawn from the audit slice."""
    if budget < 1:
        raise ValueError("the budget is at least one row")
    if not delta > 0:
        raise ValueError("delta must be above 0")
    if not 0 <= audit <= 1:
        raise ValueError("the audit share is 0 to 1")
    rng = random.Random(f"{seed}:label-sampling")
    pool = _bounded([r for r in rows if not r.reviewed and r.judge is not None], MAX_POOL, rng)
    reference = _bounded([r for r in rows if r.reviewed], MAX_REFERENCE, rng)
    if not pool:
        return []
    texts = lf.Texts.of([(r.input, r.output) for r in (*pool, *reference)])
    cut = len(pool)
    predicted, profiles = _predict(pool, reference, texts, scale, delta)
    others = list(range(cut, cut + len(reference)))
    spaces = [texts.space] if profiles is None else [texts.space, profiles]
    closest = np.max([sp.closest(list(range(cut)), others) for sp in spaces], axis=0)
    doubts = [_doubt(r, p, delta) for r, p in zip(pool, predicted, strict=True)]
    balance = _balance(reference, delta)
    weights = [
        BASE + d * (balance[p.error >= 0] if p is not None else 1.0)
        for d, p in zip(doubts, predicted, strict=True)
    ]
    drawn: list[int] = []  # the audit slice's rows drawn at random
    if audit > 0:
        in_slice = [i for i, r in enumerate(pool) if in_audit_slice(group_key(r.input))]
        drawn = rng.sample(in_slice, min(len(in_slice), round(budget * audit)))
        audits = [_audit_pick(pool[i], doubts[i], float(closest[i])) for i in drawn]
        outside = set(range(cut)) - set(in_slice)
    ties = [rng.random() for _ in pool]
    heap = [
        (-w * _novelty(closest[i]), t, i)
        for i, (w, t) in enumerate(zip(weights, ties, strict=True))
        if audit == 0 or i in outside
    ]
    heapq.heapify(heap)
    picks: list[Pick] = []
    picked: list[int] = list(drawn)  # the audit rows count as picked for novelty
    seen = [0] * cut  # how many picks each row's closeness has been checked against
    while heap and len(picks) < budget - len(drawn):
        _, tie, i = heapq.heappop(heap)
        if seen[i] < len(picked):  # stale: compare with the picks made since
            since = picked[seen[i] :]
            closest[i] = max(closest[i], *(sp.similarities(i, since).max() for sp in spaces))
            seen[i] = len(picked)
            heapq.heappush(heap, (-weights[i] * _novelty(closest[i]), tie, i))
            continue
        row = pool[i]
        close = float(closest[i])
        reason = _reason(row, predicted[i], close, bool(reference) or bool(picked))
        picks.append(Pick(row.row_id, reason, round(doubts[i], 4), round(1 - close, 4)))
        picked.append(i)
    if audit == 0:
        return picks
    if len(drawn) + len(picks) < budget:  # nothing left to target: more drawn at random
        rest = sorted(set(in_slice) - set(drawn))
        more = rng.sample(rest, min(len(rest), budget - len(drawn) - len(picks)))
        audits += [_audit_pick(pool[i], doubts[i], float(closest[i])) for i in more]
    return _interleaved(picks, audits)


def _audit_pick(row: Candidate, doubt: float, closest: float) -> Pick:
    return Pick(row.row_id, AUDIT_REASON, round(doubt, 4), round(1 - closest, 4), audit=True)


def _interleaved(targeted: Sequence[Pick], audits: Sequence[Pick]) -> list[Pick]:
    """Both lists in one, the audit picks spread evenly among the targeted (each list in
    its order), so that a queue reviewed only in part still holds its share of both."""
    merged: list[Pick] = []
    total = len(targeted) + len(audits)
    a = t = 0
    for k in range(total):
        if a < len(audits) and (t >= len(targeted) or (a + 0.5) * total <= (k + 1) * len(audits)):
            merged.append(audits[a])
            a += 1
        else:
            merged.append(targeted[t])
            t += 1
    return merged


def _novelty(closest: float) -> float:
    return min(1.0, (1 - closest) / (1 - SIMILAR))


def _balance(reference: Sequence[Candidate], delta: float) -> dict[bool, float]:
    """What a predicted disagreement of each direction (True: judge too lenient) counts:
    the share it would have if both were even, over its share among the reviewed rows'
    disagreements (counted with one more of each, so that none is infinite)."""
    errors = [r.judge - r.human for r in reference if r.judge is not None and r.human is not None]
    lenient = sum(e >= delta - TOLERANCE for e in errors) + 1
    harsh = sum(e <= -delta + TOLERANCE for e in errors) + 1
    low, high = BALANCE
    even = (lenient + harsh) / 2
    return {True: min(high, max(low, even / lenient)), False: min(high, max(low, even / harsh))}


def _bounded(rows: list[Candidate], most: int, rng: random.Random) -> list[Candidate]:
    if len(rows) <= most:
        return rows
    return sorted(rng.sample(rows, most), key=lambda r: r.row_id)


@dataclass(frozen=True, slots=True)
class Predicted:
    chance: float  # that the judge is at least delta off
    error: float  # judge - human


def _predict(
    pool: Sequence[Candidate],
    reference: Sequence[Candidate],
    texts: lf.Texts,
    scale: Scale,
    delta: float,
) -> tuple[list[Predicted | None], lf.Space | None]:
    """Each pool row's predicted disagreement, from the reviewed rows, and the rows as
    the error's fit sees them; Nones when fewer than ``MIN_FIT`` reviewed rows have both
    scores, or their errors do not vary."""
    known = [
        (len(pool) + j, r.judge - r.human)
        for j, r in enumerate(reference)
        if r.judge is not None and r.human is not None
    ]
    if len(known) < MIN_FIT:
        return [None] * len(pool), None
    design = lf.design(texts, [r.judge for r in (*pool, *reference)], scale.low, scale.span)
    rows = [i for i, _ in known]
    errors = np.array([e for _, e in known])
    apart = (np.abs(errors) >= delta - TOLERANCE).astype(float)
    by_chance = lf.fit_ridge(design, rows, apart)
    by_error = lf.fit_ridge(design, rows, errors)
    if by_chance is None or by_error is None:
        return [None] * len(pool), None
    everyone = range(len(pool))
    chances = np.clip(by_chance.predict(design, everyone), 0.0, 1.0)
    found = zip(chances, by_error.predict(design, everyone), strict=True)
    return [Predicted(float(c), float(e)) for c, e in found], by_error.profiles(design)


def _doubt(row: Candidate, predicted: Predicted | None, delta: float) -> float:
    """The chance the judge is at least delta off: the judge's own doubt or the
    prediction's (taken as independent)."""
    own = 0.0
    if row.second is not None and row.judge is not None:
        own = min(1.0, abs(row.judge - row.second) / (2 * delta))
    if row.uncertainty is not None:
        own = max(own, min(1.0, max(0.0, row.uncertainty)))
    if predicted is None:
        return own
    return 1 - (1 - own) * (1 - predicted.chance)


def _reason(row: Candidate, predicted: Predicted | None, closest: float, compared: bool) -> str:
    parts = []
    if row.second is not None and row.judge is not None and row.second != row.judge:
        parts.append(f"the judge disagrees with itself ({row.judge:g} vs {row.second:g})")
    if row.uncertainty is not None and row.uncertainty > 0:
        parts.append(f"the judge states uncertainty {row.uncertainty:.2f}")
    if predicted is not None and predicted.chance >= NEAR:
        side = "lenient" if predicted.error >= 0 else "harsh"
        where = "likely a disagreement" if predicted.chance >= LIKELY else "near the delta boundary"
        parts.append(
            f"{where}: rows like it were {predicted.chance:.0%} apart, the judge too {side} "
            f"by about {abs(predicted.error):.1f}"
        )
    if compared:
        parts.append(f"unlike the rows reviewed or picked (nearness {closest:.2f})")
    else:
        parts.append("the first row picked: nothing is reviewed yet")
    return "; ".join(parts)
