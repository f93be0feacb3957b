"""The honesty check's request: every trace's texts (input, output, context, the judge's
rationale, reviewers' comments) replaced by placeholders, scores and directions kept. A
reflection model that reads content cannot find the blind spots in it."""

from __future__ import annotations

import dataclasses
import re

from rubricate.alignment.trace_format import parse_blocks, render_block
from rubricate.domain.traces import ReviewerNote

PLACEHOLDER = "[text removed]"
_FIRST_ROW = re.compile(r"^### Row \d+ \(", re.M)


def strip_request(user: str) -> str:
    blocks = parse_blocks(user)
    if not blocks:
        return user
    first = _FIRST_ROW.search(user)
    preamble = user[: first.start()] if first else ""
    stripped = [
        dataclasses.replace(
            b,
            input=PLACEHOLDER,
            output=PLACEHOLDER,
            context=PLACEHOLDER if b.context is not None else None,
            judge_rationale=PLACEHOLDER if b.judge_rationale else None,
            reviewers=tuple(
                ReviewerNote(n.annotator, n.score, PLACEHOLDER if n.comment else None)
                for n in b.reviewers
            ),
        )
        for b in blocks
    ]
    return preamble + "\n\n".join(render_block(b, "0" * 16) for b in stripped)
