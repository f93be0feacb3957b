"""Candidate phrases: the 1–4 word n-grams of a row's reviewer comments that could name a
reason for a score, without the row's own topic words."""

from __future__ import annotations

from functools import lru_cache

from rubricate.domain.traces import Trace
from rubricate.models.offline.words import (
    GENERIC,
    LEAD_GLUE,
    NEGATIONS,
    QUANTITY,
    STOPWORDS,
    Topic,
    is_filler,
    segments,
)

MAX_WORDS = 4


def is_generic(phrase: tuple[str, ...]) -> bool:
    """Praise or complaint alone ("good answer", "not helpful", "very poor")."""
    content = [w for w in phrase if w in QUANTITY or not is_filler(w)]
    return all(w in GENERIC for w in content)


@lru_cache(maxsize=1 << 16)
def is_candidate(phrase: tuple[str, ...]) -> bool:
    first, last = phrase[0], phrase[-1]
    if first in LEAD_GLUE:
        return False
    # A phrase that trails off ("does not", "answer to the") is not a point yet.
    if (is_filler(last) or last in NEGATIONS) and last not in QUANTITY:
        return False
    if all(is_filler(w) or w.isdigit() for w in phrase):
        return False
    return not is_generic(phrase)


def same_point(a: str, b: str) -> bool:
    """Whether two phrases make one point: the content words of one hold the other's, and
    both or neither are negated ("irrelevant", "is irrelevant", "information is irrelevant";
    but not "relevant" and "not relevant")."""
    core_a, core_b = _core(a), _core(b)
    if bool(core_a & NEGATIONS) != bool(core_b & NEGATIONS):
        return False
    return core_a <= core_b or core_b <= core_a


def _core(phrase: str) -> frozenset[str]:
    return frozenset(w for w in phrase.split() if w not in STOPWORDS)


def comment_phrases(comment: str, topic: Topic) -> set[str]:
    """The candidate phrases of one comment; none contains a word of ``topic``."""
    found: set[str] = set()
    for segment in segments(comment):
        for start in range(len(segment)):
            for size in range(1, MAX_WORDS + 1):
                gram = tuple(segment[start : start + size])
                if len(gram) < size or topic.holds(gram[-1]):
                    break  # longer n-grams from here hold the topic word too
                if is_candidate(gram):
                    found.add(" ".join(gram))
    return found


def row_phrases(trace: Trace) -> set[str]:
    """Every candidate phrase in the row's reviewer comments, its topic words removed: a
    phrase about what the question or output is about never counts for that row."""
    topic = Topic.of(trace.input, trace.output)
    found: set[str] = set()
    for note in trace.reviewers:
        if note.comment:
            found |= comment_phrases(note.comment, topic)
    return found
