"""Phases 1 and 2 together: count the usable rows, then stream them once, keeping the
disagreements' traces (every one up to DISAGREEMENTS_KEPT, then a seeded uniform sample,
with the exact counts), a seeded sample of agreeing rows (memory stays bounded by what is
kept) and the reviewers' scores counted for Krippendorff's alpha. When the label sampler
chose reviewed rows (and some judged rows are not reviewed), each row's part is
``split.audited_part``: only the audit slice is checked."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypedDict

from sqlalchemy.orm import Session

from rubricate import stats
from rubricate.alignment.loading import (
    RowCounts,
    SourceRow,
    count_rows,
    judged_versions,
    reviewer_notes,
    stream_rows,
)
from rubricate.alignment.split import Part, audited_part, group_key, part_of
from rubricate.alignment.tracing import build_trace, disagrees
from rubricate.domain.alignment_runs import LOW_CONFIDENCE_DISAGREEMENTS
from rubricate.domain.scale import Scale
from rubricate.domain.traces import Direction, ReviewerNote, Trace
from rubricate.limits import DISAGREEMENTS_KEPT
from rubricate.store.label_sampling import sampler_chosen

AGREEING_KEPT = 2000  # agreeing rows kept as a sample: contrast for distilling, and checks


@dataclass(frozen=True, slots=True)
class KeptRow:
    source: SourceRow
    trace: Trace
    group: str
    part: Part


class DataFigures(TypedDict):
    """The figures of the data common to AlignmentResult and AlignmentPreview (which
    name the agreeing rows apart: skipped by the run, counted by the preview)."""

    rows_used: int
    disagreements: int
    missing_judge: int
    missing_human: int
    reviewer_alpha: float | None
    low_confidence: bool


@dataclass
class Collected:
    counts: RowCounts
    disagreements: list[KeptRow] = field(default_factory=list)  # all, or the sample
    disagreement_count: int = 0  # all of them, sampled or not
    lenient_count: int = 0  # of those, where the judge was too lenient
    agreeing: list[KeptRow] = field(default_factory=list)  # the sample
    agreeing_count: int = 0
    reviewer_units: Counter[tuple[float, ...]] = field(default_factory=Counter)
    audited: bool = False  # the sampler chose rows: only the audit slice is checked

    @property
    def disagreements_total(self) -> int:
        """Every disagreement, kept or not (one put together by hand counts its list)."""
        return self.disagreement_count or len(self.disagreements)

    @property
    def lenient_total(self) -> int:
        """Of those, where the judge was too lenient."""
        if self.disagreement_count:
            return self.lenient_count
        return sum(1 for k in self.disagreements if k.trace.direction is Direction.TOO_LENIENT)

    @property
    def low_confidence(self) -> bool:
        return self.disagreements_total < LOW_CONFIDENCE_DISAGREEMENTS

    def figures(self, scale: Scale) -> DataFigures:
        """What the rows hold, as a run's result and its preview both report it."""
        return DataFigures(
            rows_used=self.counts.usable,
            disagreements=self.disagreements_total,
            missing_judge=self.counts.missing_judge,
            missing_human=self.counts.missing_human,
            reviewer_alpha=self.reviewer_alpha(scale),
            low_confidence=self.low_confidence,
        )

    def reviewer_alpha(self, scale: Scale) -> float | None:
        level: stats.AlphaLevel = "interval" if scale.type == "interval" else "ordinal"
        alpha = stats.krippendorff_alpha_from_counts(self.reviewer_units, level)
        return None if alpha != alpha else round(alpha, 4)  # nan: not enough to say


def count(session: Session, metric_id: int, evaluation_ids: Sequence[int]) -> RowCounts:
    versions = judged_versions(session, metric_id, evaluation_ids)
    return count_rows(session, metric_id, evaluation_ids, versions)


def collect(
    session: Session,
    metric_id: int,
    evaluation_ids: Sequence[int],
    *,
    delta: float,
    seed: int,
    counts: RowCounts,
    on_page: Callable[[int], None] | None = None,
) -> Collected:
    """Stream the usable rows once. ``on_page(rows_done)`` is called after each page (for
    progress, and to stop a cancelled run at a page boundary)."""
    versions = judged_versions(session, metric_id, evaluation_ids)
    # Chosen rows only bias a sample: once every judged row is reviewed, they are all.
    audited = counts.missing_human > 0 and sampler_chosen(session, metric_id, evaluation_ids)
    found = Collected(counts, audited=audited)
    sampler = random.Random(seed)
    disagreement_sampler = random.Random(f"{seed}:disagreements")
    done = 0
    for page in stream_rows(session, metric_id, evaluation_ids, versions):
        notes = reviewer_notes(session, metric_id, [row.row_id for row in page])
        for row in page:
            reviewers = notes.get(row.row_id, ())
            found.reviewer_units[tuple(sorted(n.score for n in reviewers))] += 1
            group = group_key(row.input)
            make = partial(_kept_row, row, reviewers, group, seed, found.audited)
            if disagrees(row.judge_score, row.human, delta):
                found.disagreement_count += 1
                found.lenient_count += row.judge_score > row.human
                _offer(
                    found.disagreements,
                    DISAGREEMENTS_KEPT,
                    found.disagreement_count,
                    disagreement_sampler,
                    make,
                )
                continue
            found.agreeing_count += 1
            _offer(found.agreeing, AGREEING_KEPT, found.agreeing_count, sampler, make)
        done += len(page)
        if on_page is not None:
            on_page(done)
    found.agreeing.sort(key=lambda kept: kept.source.row_id)
    if found.disagreement_count > len(found.disagreements):  # sampled: back in row order
        found.disagreements.sort(key=lambda kept: kept.source.row_id)
    return found


def _kept_row(
    row: SourceRow, reviewers: tuple[ReviewerNote, ...], group: str, seed: int, audited: bool
) -> KeptRow:
    part = audited_part(group, seed) if audited else part_of(group, seed)
    return KeptRow(row, build_trace(row, reviewers), group, part)


def _offer(
    kept: list[KeptRow],
    cap: int,
    seen: int,
    sampler: random.Random,
    make: Callable[[], KeptRow],
) -> None:
    """Reservoir sampling of the ``seen``-th row: every row up to ``cap``, then each row
    seen has the same chance to be among the ``cap`` kept (``make`` builds its trace only
    when it is kept)."""
    slot = len(kept) if len(kept) < cap else sampler.randrange(seen)
    if slot < cap:
        if slot == len(kept):
            kept.append(make())
        else:
            kept[slot] = make()
