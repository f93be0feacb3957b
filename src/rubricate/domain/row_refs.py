"""A row as the user knows it: the evaluation it belongs to and its id in the user's files
(``external_id``), for the internal row ids an alignment result keeps (a guideline's
supporting and counter rows). Lists show at most ``SHOWN_ROWS`` of them, then "and N more"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rubricate.domain.alignment import AlignmentResult

SHOWN_ROWS = 8


@dataclass(frozen=True, slots=True)
class RowRef:
    row_id: int  # the database's id, as the result keeps it
    evaluation: str  # "" when the row is no longer stored
    external_id: str


@dataclass(frozen=True, slots=True)
class ShownRows:
    """The first rows of a list, and how many more there are."""

    rows: list[RowRef]
    more: int

    def text(self, *, qualified: bool = False) -> str:
        """``a-1, a-2 and 5 more``; ``EVAL/a-1`` when ``qualified`` (several sources)."""
        names = [label(ref, qualified=qualified) for ref in self.rows]
        listed = ", ".join(names)
        return f"{listed} and {self.more} more" if self.more else listed


def label(ref: RowRef, *, qualified: bool = False) -> str:
    if not ref.evaluation:
        return f"row #{ref.row_id} (no longer stored)"
    return f"{ref.evaluation}/{ref.external_id}" if qualified else ref.external_id


def result_row_ids(result: AlignmentResult) -> list[int]:
    """Every row id the result's guidelines name (supporting and counter rows, of the
    guidelines put forward and of every proposal), each once, in order of first mention."""
    seen: dict[int, None] = {}
    for item in (*result.guidelines, *result.proposed):
        for row_id in (*item.row_ids, *item.counter_row_ids):
            seen.setdefault(row_id, None)
    return list(seen)


def shown(row_ids: Sequence[int], refs: Mapping[int, RowRef], limit: int = SHOWN_ROWS) -> ShownRows:
    """The first ``limit`` of ``row_ids`` as the user's rows (an id not among ``refs``, a
    row deleted since, keeps its number), and how many were left out."""
    first = [refs.get(i, RowRef(i, "", str(i))) for i in row_ids[:limit]]
    return ShownRows(first, max(0, len(row_ids) - limit))


def several_sources(refs: Iterable[RowRef]) -> bool:
    """Whether the rows come from more than one evaluation (then ids are qualified)."""
    return len({ref.evaluation for ref in refs if ref.evaluation}) > 1
