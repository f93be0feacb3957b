"""Phase 3 with a reflection LM: a bounded sample of the disagreements goes in mixed
batches (contrast.py), each shown with agreeing rows of the same human score; each batch
answers with scoped guidelines (a condition, a target score, a kind, supporting and
counter rows), which code checks against the rows the batch showed; then one
consolidation call merges paraphrases across batches (consolidation.py).

What code enforces, whatever the model says: a guideline cites at least ``MIN_SUPPORT``
disagreements of its own direction shown in its batch, and not only contested ones (rows
whose reviewers are themselves at least delta apart); other ids are ignored."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from rubricate.alignment.collecting import Collected, KeptRow
from rubricate.alignment.consolidation import consolidate, consolidation_request
from rubricate.alignment.contrast import Batch, make_batches, sample_disagreements
from rubricate.alignment.guideline_fields import read_kind, read_target
from rubricate.alignment.reflection_prompt import (
    MAX_PER_BATCH,
    REFLECTION_SCHEMA,
    Setting,
    batch_request,
    judge_view,
)
from rubricate.alignment.trace_format import TraceBlock
from rubricate.domain.metrics import MetricVersion
from rubricate.domain.traces import Direction, Guideline
from rubricate.limits import REFLECTION_MAX_DISAGREEMENTS
from rubricate.models.client import CallFailed, ChatRequest, ModelClient, Reply
from rubricate.scoring.judge import find_json_object

__all__ = [
    "MIN_SUPPORT",
    "REFLECTION_SCHEMA",
    "Reading",
    "Setting",
    "batch_request",
    "distill_rows",
    "planned_batches",
    "planned_requests",
    "read_guidelines",
    "run_setting",
]

MIN_SUPPORT = 2  # supporting disagreements shown in the batch: one row is an anecdote

DROP_FEW = f"fewer than {MIN_SUPPORT} supporting rows shown"
DROP_CONTESTED = "only contested rows in support"


@dataclass
class Reading:
    """A batch's guidelines that passed the checks, and how many were dropped, by why."""

    guidelines: list[Guideline] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)


def answer_object(reply: Reply) -> dict[str, object] | None:
    if isinstance(reply.arguments, dict):
        return reply.arguments
    text = reply.arguments if isinstance(reply.arguments, str) else reply.text or ""
    return find_json_object(text)


def read_guidelines(reply: Reply, batch: Batch, setting: Setting) -> Reading:
    """The proposed guidelines, each keeping only the row ids the batch showed: support
    among the disagreements of its direction, counter-evidence among any row shown."""
    answer = answer_object(reply)
    items = answer.get("guidelines") if answer else None
    reading = Reading()
    if not isinstance(items, list):
        return reading
    shown = {block.row_id: block for block in batch.blocks}
    for item in items[: MAX_PER_BATCH * 2]:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            continue
        text = " ".join(item["text"].split())[:1000]
        cited = _ids(item.get("row_ids"), shown)
        if not text:
            continue
        direction = _direction(item.get("direction"), [shown[i] for i in cited])
        support = [i for i in cited if shown[i].direction is direction]
        if len(support) < MIN_SUPPORT:
            reading.dropped[DROP_FEW] += 1
            continue
        if all(shown[i].contested for i in support):
            reading.dropped[DROP_CONTESTED] += 1
            continue
        counter = [i for i in _ids(item.get("counter_row_ids"), shown) if i not in support]
        applies = item.get("applies_when")
        reading.guidelines.append(
            Guideline(
                text=text,
                direction=direction,
                row_ids=tuple(support),
                applies_when=" ".join(applies.split())[:300] if isinstance(applies, str) else "",
                target=read_target(item.get("target"), setting.scale),
                kind=read_kind(item.get("kind")),
                counter_ids=tuple(counter),
            )
        )
    return reading


def _ids(value: object, shown: dict[int, TraceBlock]) -> list[int]:
    if not isinstance(value, list):
        return []
    return sorted(
        {i for i in value if isinstance(i, int) and not isinstance(i, bool) and i in shown}
    )


def _direction(given: object, blocks: Sequence[TraceBlock]) -> Direction:
    try:
        return Direction(str(given))
    except ValueError:  # not given or misspelt: the cited disagreements' majority says
        lenient = sum(1 for b in blocks if b.direction is Direction.TOO_LENIENT)
        harsh = sum(1 for b in blocks if b.direction is Direction.TOO_HARSH)
        return Direction.TOO_LENIENT if lenient >= harsh else Direction.TOO_HARSH


def planned_batches(
    disagreements: Sequence[KeptRow],
    agreeing: Sequence[KeptRow],
    *,
    delta: float,
    seed: int,
    cap: int = REFLECTION_MAX_DISAGREEMENTS,
) -> tuple[list[Batch], int]:
    """The batches a run shows its reflection model, and how many disagreements there
    were to sample from (for the run's note, and for estimate.py)."""
    sample = sample_disagreements(disagreements, cap, seed)
    return make_batches(sample.rows, agreeing, delta=delta, seed=seed), sample.total


def run_setting(
    found: Collected, disagreements: Sequence[KeptRow], base: MetricVersion, delta: float
) -> Setting:
    """What every request tells the model: the whole evaluation's figures, and the base
    version's prompt as its judge sees it (with a context when the rows have one)."""
    lenient = found.lenient_total
    return Setting(
        scale=base.scale,
        delta=delta,
        judge_prompt=judge_view(base, context=any(k.source.context for k in disagreements)),
        reviewer_alpha=found.reviewer_alpha(base.scale),
        rows=found.counts.usable,
        lenient=lenient,
        harsh=found.disagreements_total - lenient,
    )


def planned_requests(
    setting: Setting,
    disagreements: Sequence[KeptRow],
    agreeing: Sequence[KeptRow],
    *,
    seed: int,
    cap: int = REFLECTION_MAX_DISAGREEMENTS,
) -> list[ChatRequest]:
    """The requests a run sends at most, for an estimate: every batch's, and (with more
    than one batch) the consolidation call with the most candidates it can have."""
    groups, _ = planned_batches(disagreements, agreeing, delta=setting.delta, seed=seed, cap=cap)
    requests = [
        batch_request(batch, setting, number=i + 1, batches=len(groups))
        for i, batch in enumerate(groups)
    ]
    if len(groups) > 1:
        typical = Guideline(
            text="A typical guideline of about this length, naming its condition and score. " * 2,
            direction=Direction.TOO_LENIENT,
            row_ids=(1, 2, 3),
            applies_when="an observable condition of about this length",
            target=(setting.scale.low, setting.scale.low),
        )
        requests.append(consolidation_request([typical] * (MAX_PER_BATCH * len(groups)), setting))
    return requests


async def distill_rows(
    client: ModelClient,
    model: str,
    disagreements: Sequence[KeptRow],
    agreeing: Sequence[KeptRow],
    setting: Setting,
    *,
    seed: int,
    cap: int = REFLECTION_MAX_DISAGREEMENTS,
) -> tuple[list[Guideline], list[str]]:
    """The guidelines of every batch (calls run concurrently), consolidated across
    batches; and notes on what was read, dropped, skipped and merged."""
    groups, total = planned_batches(
        disagreements, agreeing, delta=setting.delta, seed=seed, cap=cap
    )
    read = sum(len(batch.disagreements) for batch in groups)
    contrast = sum(len(batch.contrast) for batch in groups)
    sampled = (
        f"a seeded sample of {read} of the {total:,} disagreements, stratified by direction "
        "and evaluation,"
        if read < total
        else f"all {read} disagreements"
    )
    note = (
        f"Reflection ({model}) read {sampled} in {len(groups)} batches with "
        f"{contrast} agreeing rows of the same human scores for contrast."
    )
    found, notes = await _reflect(client, model, groups, setting)
    return found, [note, *notes]


async def _reflect(
    client: ModelClient, model: str, groups: Sequence[Batch], setting: Setting
) -> tuple[list[Guideline], list[str]]:
    async def one(index: int, batch: Batch) -> Reply | CallFailed:
        request = batch_request(batch, setting, number=index + 1, batches=len(groups))
        try:
            return await client.call(model, request)
        except CallFailed as failure:
            return failure

    replies = await asyncio.gather(*(one(i, batch) for i, batch in enumerate(groups)))
    notes: list[str] = []
    per_batch: list[list[Guideline]] = []
    dropped: Counter[str] = Counter()
    for reply, batch in zip(replies, groups, strict=True):
        if isinstance(reply, CallFailed):
            notes.append(
                f"A batch of {len(batch.disagreements)} disagreements was skipped: {reply}"
            )
            continue
        reading = read_guidelines(reply, batch, setting)
        dropped.update(reading.dropped)
        if reading.guidelines:
            per_batch.append(reading.guidelines)
    if dropped:
        why = "; ".join(f"{reason} ({count})" for reason, count in sorted(dropped.items()))
        notes.append(f"{dropped.total()} proposed guidelines were discarded: {why}.")
    found = [g for guidelines in per_batch for g in guidelines]
    if len(per_batch) < 2:
        return found, notes  # nothing across batches to merge
    merged, note = await consolidate(client, model, found, setting)
    notes.append(note)
    return (found if merged is None else merged), notes
