"""Grouping one direction's disagreements by what reviewers said: each row goes to the
discriminative phrase that explains the most rows, and to no other group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rubricate.models.offline.contrast import MIN_ROWS, Contrast
from rubricate.models.offline.phrases import same_point


@dataclass(frozen=True, slots=True)
class PhraseGroup:
    phrase: str
    rows: tuple[int, ...]  # positions in the direction's disagreement list, ascending
    contrast: Contrast  # of the phrase over every row the grouping was given


def _gain(phrase: str, rows: int, contrast: Contrast) -> tuple[float, int, str]:
    # Rows the phrase explains beyond chance; then the more specific (longer) phrase; then
    # the alphabet, so that ties never depend on the order of a dict.
    explained = rows * (1.0 - 1.0 / contrast.ratio)
    return (explained, len(phrase.split()), phrase)


def greedy_groups(
    rows_of: Mapping[str, frozenset[int]],
    contrast_of: Mapping[str, Contrast],
    limit: int,
) -> list[PhraseGroup]:
    """Take the phrase whose still unassigned rows it explains best, give it those rows,
    repeat while a phrase still holds ``MIN_ROWS`` unassigned rows and at least half of
    its own. A phrase that makes the
    point of one already taken is dropped, not made a second guideline. Every phrase given
    has passed the discriminative test; every row lands in one group at most."""
    taken: set[int] = set()
    groups: list[PhraseGroup] = []
    open_phrases = dict(rows_of)
    while open_phrases and len(groups) < limit:
        best: tuple[tuple[float, int, str], str, frozenset[int]] | None = None
        for phrase, rows in list(open_phrases.items()):
            free = rows - taken
            # A phrase whose rows went mostly to other groups no longer speaks for them.
            if len(free) < max(MIN_ROWS, len(rows) / 2):
                del open_phrases[phrase]  # it only loses rows from here on
                continue
            gain = _gain(phrase, len(free), contrast_of[phrase])
            if best is None or gain > best[0]:
                best = (gain, phrase, frozenset(free))
        if best is None:
            break
        _, phrase, free = best
        open_phrases = {p: r for p, r in open_phrases.items() if not same_point(p, phrase)}
        taken |= free
        groups.append(PhraseGroup(phrase, tuple(sorted(free)), contrast_of[phrase]))
    return groups
