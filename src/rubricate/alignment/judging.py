"""Re-scoring rows with a candidate prompt: the metric version's template with another
guidelines section, through the judge model, read against the scale. The guidelines are
numbered, so that the judge can name the ones it applied."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from rubricate.alignment.loading import SourceRow
from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import MetricVersion
from rubricate.models.client import CallFailed, ChatRequest, ModelClient
from rubricate.scoring.judge import JUDGE_SCHEMA, read_judgement
from rubricate.scoring.render import render_prompt

TEMPERATURE = 0.0


@dataclass(frozen=True, slots=True)
class Judged:
    """A row's score (None: no usable answer) and the numbers of the guidelines the judge
    said it applied (None: it did not say). The numbers are a hint, not the truth."""

    score: float | None
    applied: frozenset[int] | None = None


def numbered(texts: Sequence[str]) -> str:
    """The guidelines section the judge sees: "1. ...", "2. ..." in order."""
    return "\n".join(f"{number}. {text}" for number, text in enumerate(texts, start=1))


def judge_request(version: MetricVersion, guidelines: str, row: SourceRow) -> ChatRequest:
    prompt = render_prompt(
        version.prompt,
        input=row.input,
        output=row.output,
        context=row.context,
        expected=row.expected,
        metadata=row.metadata,
        guidelines=guidelines,
        scale=version.scale,
    )
    return ChatRequest(prompt.system, prompt.user, JUDGE_SCHEMA, temperature=TEMPERATURE)


async def judge_rows(
    client: ModelClient,
    model: str,
    version: MetricVersion,
    guidelines: str,
    rows: Sequence[SourceRow],
) -> list[Judged]:
    """The judge's answer for each row under ``guidelines`` (a None score where it gave no
    usable answer: such rows are left out of the figures, never counted as 0)."""

    async def one(row: SourceRow) -> Judged:
        try:
            reply = await client.call(model, judge_request(version, guidelines, row))
        except (CallFailed, InvalidInput):
            return Judged(None)
        judgement = read_judgement(reply, version.scale)
        return Judged(judgement.score, judgement.applied)

    return list(await asyncio.gather(*(one(row) for row in rows)))


async def score_rows(
    client: ModelClient,
    model: str,
    version: MetricVersion,
    guidelines: str,
    rows: Sequence[SourceRow],
) -> list[float | None]:
    """The judge's score of each row under ``guidelines``."""
    return [j.score for j in await judge_rows(client, model, version, guidelines, rows)]


def reusable(row: SourceRow, model: str, version: MetricVersion) -> bool:
    """Whether the stored judge result is what the current prompt would give now: same
    model, same version, same temperature. (Verification no longer lets stored results
    stand in for the current prompt: they picked the disagreements, so they would favour
    any re-score. The estimate still uses this to say how many rows were judged alike.)"""
    return (
        row.judge_model == model
        and row.judge_version_id == version.id
        and (row.judge_temperature or 0.0) == TEMPERATURE
    )
