"""Which new guidelines to keep: each one left out in turn, on the selection rows where it
may have acted, and kept only when it helps there more often than it hurts.

- Where a guideline may have acted: the rows whose score changed between the current
  prompt and the prompt with every new guideline; of those, the ones where the judge
  named it among the guidelines it applied, first (the judge's word is a hint, not the
  truth), then the ones where the judge named none. At most ``ABLATION_ROWS`` rows each.
- Least-supported first (the fewest changed rows that name it, then the fewest rows that
  distilled it): the guideline most likely to be harmful is checked before the budget can
  run out.
- Backward elimination: a guideline that is dropped stays out when the next one is tried,
  so two paraphrases of one rule do not hide each other. Each guideline is compared with
  the prompt as it stands when it is tried (every new guideline but the ones dropped so
  far), scored on the same rows: never with scores taken while a dropped guideline was
  still in, which would credit a guideline with undoing a harmful one's damage. A
  guideline kept before a later one was dropped is tried again against the final set, so
  what is kept is what helps in the prompt that is put forward. Each (row, prompt) is
  scored once.
- Per row, the prompt with the guideline improves on it when the judge lands nearer the
  reviewers' score than without it, and regresses when farther. A one-sided paired sign
  test (improvements against regressions, ties left out) gives each guideline's p-value,
  and Holm's correction across the new guidelines keeps the chance of keeping any useless
  one at 5%.
- Rows are scored in chunks, and a guideline is settled as soon as the rest of its rows
  cannot change the outcome: kept when even all-regressions would leave p below 0.05 / m
  (then Holm keeps it whatever the others do), dropped when even all-improvements would
  leave p above 0.05."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from rubricate import stats
from rubricate.alignment.plan import ABLATION_ROWS
from rubricate.domain.alignment import GuidelineDecision, GuidelineItem

ALPHA = 0.05
CHUNK_ROWS = 10

# Scores of the given selection rows (by index) with every new guideline but ``left_out``.
Scorer = Callable[[Sequence[int], frozenset[int]], Awaitable[list[float | None]]]


@dataclass
class Ablation:
    decisions: list[GuidelineDecision] = field(default_factory=list)
    calls: int = 0

    def ids(self, outcome: str) -> list[int]:
        return [d.guideline_id for d in self.decisions if d.outcome == outcome]


@dataclass
class _Tally:
    rows: list[int]
    improved: int = 0
    regressed: int = 0
    tried: int = 0
    outcome: str | None = None  # settled early: "kept" or "dropped"

    def bounds(self) -> tuple[float, float]:
        """The p-value if every row left were a regression, and if every one improved."""
        left = len(self.rows) - self.tried
        worst = stats.sign_test(self.improved, self.regressed + left)
        best = stats.sign_test(self.improved + left, self.regressed)
        return worst, best


def changed_rows(before: Sequence[float | None], full: Sequence[float | None]) -> list[int]:
    return [
        i
        for i, (b, a) in enumerate(zip(before, full, strict=True))
        if a is not None and b is not None and a != b
    ]


MAX_PASSES = 3  # of backward elimination: each re-tries what an earlier drop may have changed


@dataclass
class _Search:
    """The scores known so far, by (row, guidelines left out), and the calls they cost."""

    score: Scorer
    allowance: int
    known: dict[tuple[int, frozenset[int]], float | None]
    calls: int = 0

    def cost(self, rows: Sequence[int], *sets: frozenset[int]) -> int:
        return sum((i, left_out) not in self.known for i in rows for left_out in sets)

    async def scores(self, rows: Sequence[int], left_out: frozenset[int]) -> list[float | None]:
        missing = [i for i in rows if (i, left_out) not in self.known]
        if missing:
            found = await self.score(missing, left_out)
            self.calls += len(missing)
            self.known.update(((i, left_out), s) for i, s in zip(missing, found, strict=True))
        return [self.known[(i, left_out)] for i in rows]

    async def trial(
        self, tally: _Tally, gid: int, left_out: frozenset[int], human: Sequence[float], m: int
    ) -> None:
        """Score ``tally``'s rows in chunks with the prompt as it stands and without
        ``gid`` until settled, tried out or out of calls."""
        without = left_out | {gid}
        while tally.tried < len(tally.rows) and tally.outcome is None:
            chunk: list[int] = []
            for i in tally.rows[tally.tried : tally.tried + CHUNK_ROWS]:
                if self.cost([*chunk, i], left_out, without) > self.allowance - self.calls:
                    break
                chunk.append(i)
            if not chunk:
                return  # out of calls
            reference = await self.scores(chunk, left_out)
            scores = await self.scores(chunk, without)
            tally.tried += len(chunk)
            for i, ref, s in zip(chunk, reference, scores, strict=True):
                if s is None or ref is None:
                    continue
                gap_with, gap_without = abs(ref - human[i]), abs(s - human[i])
                tally.improved += gap_with < gap_without
                tally.regressed += gap_with > gap_without
            worst, best = tally.bounds()
            if worst <= ALPHA / m:
                tally.outcome = "kept"
            elif best > ALPHA:
                tally.outcome = "dropped"


async def ablate(
    new: Sequence[GuidelineItem],
    *,
    human: Sequence[float],
    before: Sequence[float | None],
    full: Sequence[float | None],
    applied: Sequence[frozenset[int] | None],
    score: Scorer,
    allowance: int,
    seed: int,
) -> Ablation:
    """Decide each of ``new`` (ids) on the selection rows; ``applied`` holds, per row, the
    ids of the guidelines the judge named under the full prompt (None: not said)."""
    changed = changed_rows(before, full)
    m = len(new)
    search = _Search(score, allowance, {(i, frozenset()): s for i, s in enumerate(full)})

    def named(g: GuidelineItem) -> list[int]:
        return [i for i in changed if (a := applied[i]) is not None and g.id in a]

    def rows_of(g: GuidelineItem) -> list[int]:
        rng = random.Random(f"{seed}:ablate:{g.id}")
        first, unknown = named(g), [i for i in changed if applied[i] is None]
        rng.shuffle(first)
        rng.shuffle(unknown)
        return (first + unknown)[:ABLATION_ROWS]

    order = sorted(new, key=lambda g: (len(named(g)), len(g.row_ids), g.id))
    left_out: set[int] = set()
    tallies: dict[int, _Tally] = {}
    tried_with: dict[int, frozenset[int]] = {}  # the set left out when last decided
    p_values: dict[int, float] = {}
    for _ in range(MAX_PASSES):
        for g in order:
            current = frozenset(left_out)
            if g.id in left_out or tried_with.get(g.id) == current:
                continue
            tally = _Tally(rows=rows_of(g))
            await search.trial(tally, g.id, current, human, m)
            if tally.outcome is None and tally.tried < len(tally.rows):
                p_values.pop(g.id, None)  # the calls ran out: an earlier verdict is stale
                tallies[g.id] = tally
                continue
            tallies[g.id], tried_with[g.id] = tally, current
            worst, best = tally.bounds()
            p_values[g.id] = {"kept": worst, "dropped": best}.get(
                tally.outcome or "", stats.sign_test(tally.improved, tally.regressed)
            )
            if p_values[g.id] > ALPHA:  # cannot pass Holm: out for the ones after it
                left_out.add(g.id)
        final = frozenset(left_out)
        if all(tried_with.get(g.id) == final for g in order if g.id not in left_out):
            break

    result = Ablation(calls=search.calls)
    unchecked = [g.id for g in order if g.id not in p_values]
    ids = [g.id for g in order if g.id in p_values]
    # Unchecked guidelines count in the family, as if they had failed (p = 1).
    holm = stats.holm([p_values[i] for i in ids] + [1.0] * len(unchecked))
    adjusted = dict(zip(ids, holm[: len(ids)], strict=True))
    for g in order:
        tally = tallies.get(g.id, _Tally(rows=[]))
        decision = GuidelineDecision(
            guideline_id=g.id,
            outcome="unchecked",
            rows=tally.tried,
            improved=tally.improved,
            regressed=tally.regressed,
            reason="not checked: the budget ran out before its turn",
        )
        if g.id in p_values:
            keep = g.id not in left_out and adjusted[g.id] <= ALPHA
            decision.outcome = "kept" if keep else "dropped"
            decision.p_value = round(stats.sign_test(tally.improved, tally.regressed), 6)
            decision.adjusted_p = round(adjusted[g.id], 6)
            decision.reason = _reason(tally, adjusted[g.id], keep, m)
        result.decisions.append(decision)
    return result


def _reason(tally: _Tally, adjusted: float, keep: bool, m: int) -> str:
    acted = tally.improved + tally.regressed
    if not tally.rows:
        return "changed no score on the selection rows"
    if keep:
        return (
            f"raised agreement on {tally.improved} of {acted} selection rows it acted on "
            f"(lowered it on {tally.regressed}; p = {adjusted:.2g} after Holm's correction)"
        )
    if tally.regressed >= tally.improved:
        return f"lowered agreement on {tally.regressed} of {acted} selection rows it acted on"
    return (
        f"raised agreement on {tally.improved} and lowered it on {tally.regressed} of "
        f"{acted} selection rows it acted on: not enough to show that it helps "
        f"(p = {adjusted:.2g} after Holm's correction for {m} guidelines)"
    )
