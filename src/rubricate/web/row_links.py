"""The rows a run's guidelines name, as the run page shows them: the user's ids (with the
evaluation when the run has several sources), at most a few then "and N more", each a
link to the row's page; and the proposed guidelines verification dropped, with why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rubricate.domain.acceptance import dropped_guidelines
from rubricate.domain.alignment import AlignmentResult
from rubricate.domain.row_refs import RowRef, label, several_sources, shown
from rubricate.web.pages.rows import row_url


@dataclass(frozen=True, slots=True)
class RowLink:
    label: str  # the row's id in the user's files (with its evaluation, for several)
    url: str | None  # its page; None for a row no longer stored


@dataclass(frozen=True, slots=True)
class RowList:
    links: list[RowLink]
    more: int  # rows left out of the list ("and N more")


def row_list(ids: Sequence[int], refs: Mapping[int, RowRef], metric: str) -> RowList:
    """The first rows of ``ids`` as links to their pages, and how many more there are."""
    first = shown(ids, refs)
    qualified = several_sources(refs.values())
    return RowList(
        [
            RowLink(
                label(ref, qualified=qualified),
                row_url(ref.evaluation, ref.external_id, metric) if ref.evaluation else None,
            )
            for ref in first.rows
        ],
        first.more,
    )


@dataclass(frozen=True, slots=True)
class DroppedRow:
    id: int
    text: str
    reason: str
    rows: RowList


def dropped_rows(
    result: AlignmentResult, refs: Mapping[int, RowRef], metric: str
) -> list[DroppedRow]:
    """The proposed guidelines verification did not put forward, with its reasons."""
    proposed = {g.id: g for g in result.proposed}
    return [
        DroppedRow(d.id, d.text, d.reason, row_list(proposed[d.id].row_ids, refs, metric))
        for d in dropped_guidelines(result)
    ]
