"""Re-scoring rows with a candidate prompt: the metric version's template with another
guidelines section, through the judge model, read against the scale."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from rubricate.alignment.loading import SourceRow
from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import MetricVersion
from rubricate.models.client import CallFailed, ChatRequest, ModelClient
from rubricate.scoring.judge import JUDGE_SCHEMA, read_judgement
from rubricate.scoring.render import render_prompt

TEMPERATURE = 0.0


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


async def score_rows(
    client: ModelClient,
    model: str,
    version: MetricVersion,
    guidelines: str,
    rows: Sequence[SourceRow],
) -> list[float | None]:
    """The judge's score of each row under ``guidelines`` (None where it gave no usable
    answer: such rows are left out of the figures, never counted as 0)."""

    async def one(row: SourceRow) -> float | None:
        try:
            reply = await client.call(model, judge_request(version, guidelines, row))
        except (CallFailed, InvalidInput):
            return None
        return read_judgement(reply, version.scale).score

    return list(await asyncio.gather(*(one(row) for row in rows)))


def reusable(row: SourceRow, model: str, version: MetricVersion) -> bool:
    """Whether the stored judge result is what the current prompt would give now: same
    model, same version, same temperature."""
    return (
        row.judge_model == model
        and row.judge_version_id == version.id
        and (row.judge_temperature or 0.0) == TEMPERATURE
    )
