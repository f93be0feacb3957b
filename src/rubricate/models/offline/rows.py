"""A trace as the offline engine reads it: its candidate phrases and human-score stratum,
worked out once per row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rubricate.domain.scale import Scale
from rubricate.domain.traces import Trace
from rubricate.models.offline.contrast import stratum
from rubricate.models.offline.phrases import row_phrases


@dataclass(frozen=True, slots=True)
class Row:
    trace: Trace
    phrases: frozenset[str]
    stratum: int

    @property
    def commented(self) -> bool:
        return any(note.comment and note.comment.strip() for note in self.trace.reviewers)


def read_rows(traces: Sequence[Trace], scale: Scale) -> list[Row]:
    """Rows in order of row id, whatever the order of ``traces``."""
    ordered = sorted(traces, key=lambda t: t.row_id)
    return [Row(t, frozenset(row_phrases(t)), stratum(scale, t.human_score)) for t in ordered]
