"""Phase 2, Building disagreement traces: a usable row disagrees when
|judge − human| ≥ delta. Its trace carries what a reflection model needs, with long texts
trimmed to a token budget and the trimming marked."""

from __future__ import annotations

from rubricate.alignment.loading import SourceRow
from rubricate.domain.traces import ReviewerNote, Trace
from rubricate.models.cost import CHARS_PER_TOKEN

TOLERANCE = 1e-9  # as the agreement statistics compare the boundary

# Tokens each text may take in a trace: enough to judge by, small enough that a batch of
# traces fits a reflection model's context.
TOKEN_BUDGET = {"input": 400, "output": 700, "context": 400, "rationale": 150, "comment": 120}


def disagrees(judge: float, human: float, delta: float) -> bool:
    return abs(judge - human) >= delta - TOLERANCE


def trim(text: str, tokens: int) -> tuple[str, bool]:
    """``text`` cut to about ``tokens`` tokens, with a marker saying how much was cut."""
    limit = int(tokens * CHARS_PER_TOKEN)
    if len(text) <= limit:
        return text, False
    cut = len(text) - limit
    return f"{text[:limit].rstrip()} [… trimmed {cut:,} characters]", True


def build_trace(row: SourceRow, reviewers: tuple[ReviewerNote, ...]) -> Trace:
    trimmed = False

    def fit(text: str | None, kind: str) -> str | None:
        nonlocal trimmed
        if text is None:
            return None
        fitted, cut = trim(text, TOKEN_BUDGET[kind])
        trimmed = trimmed or cut
        return fitted

    notes = tuple(ReviewerNote(n.annotator, n.score, fit(n.comment, "comment")) for n in reviewers)
    return Trace(
        row_id=row.row_id,
        external_id=row.external_id,
        input=fit(row.input, "input") or "",
        output=fit(row.output, "output") or "",
        judge_score=row.judge_score,
        human_score=row.human,
        context=fit(row.context, "context"),
        judge_rationale=fit(row.judge_rationale, "rationale"),
        reviewers=notes,
        trimmed=trimmed,
    )
