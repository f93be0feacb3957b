"""The merge step: proposals from all batches (or the offline engine) become one short,
ordered list. Near-duplicates are merged (their rows pooled), guidelines the current prompt
already says are dropped, and on a metric aligned before the existing guidelines stay first
and absorb new ones that repeat them, instead of a second section piling up. With a
reflection LM, a consolidation call has merged paraphrases first (consolidation.py); when
that call fails, this word-overlap merge is the fallback."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rubricate.domain.alignment import GuidelineItem
from rubricate.domain.traces import Direction, Guideline, GuidelineKind

MAX_NEW = 8
SAME = 0.6  # word-set overlap (Jaccard) at which two guidelines say the same thing

_WORD = re.compile(r"[a-z0-9']+")
_QUOTED = re.compile(r'"([^"]{1,80})"')
# Words that say nothing about what a guideline asks ("not" and "no" do: they stay).
_FILLER = frozenset(
    [
        *("a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "when"),
        *("where", "that", "this", "it", "is", "are", "be", "as", "at", "by", "from"),
        *("than", "then", "so", "do", "does", "if", "its", "their", "they", "judge"),
        *("score", "scores", "scoring", "should"),
    ]
)


def content_words(text: str) -> frozenset[str]:
    words = _WORD.findall(text.casefold())
    return frozenset(
        w.rstrip("s") for w in words if w not in _FILLER and len(w) > 1 and not w.isdigit()
    )


def quoted(text: str) -> frozenset[str]:
    """The phrases a guideline quotes ("off topic"): what it is about, when it says."""
    return frozenset(q.casefold().strip() for q in _QUOTED.findall(text))


def about_other_things(a: str, b: str) -> bool:
    """Two guidelines quoting different phrases are about different things, however much
    of their wording (say, the offline engine's evidence) they share."""
    qa, qb = quoted(a), quoted(b)
    return bool(qa and qb and not qa & qb)


def similar(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= SAME


@dataclass
class _Draft:
    text: str
    direction: Direction | None
    row_ids: set[int] = field(default_factory=set)
    evidence: str = ""
    existing: bool = False
    words: frozenset[str] = frozenset()
    applies_when: str = ""
    target: tuple[float, float] | None = None
    kind: GuidelineKind | None = None
    counter_ids: set[int] = field(default_factory=set)

    def take_wording(self, proposal: Guideline) -> None:
        self.text, self.evidence = proposal.text, proposal.evidence
        self.applies_when, self.target, self.kind = (
            proposal.applies_when,
            proposal.target,
            proposal.kind,
        )


def merge_guidelines(
    proposals: Sequence[Guideline],
    *,
    prompt: str,
    existing: Sequence[str] = (),
    max_new: int = MAX_NEW,
) -> tuple[list[GuidelineItem], list[str]]:
    """The merged list (existing guidelines first, then new ones by support) and notes on
    what was dropped."""
    notes: list[str] = []
    prompt_lines = [content_words(line) for line in re.split(r"[\n.]", prompt) if line.strip()]
    drafts = [
        _Draft(text, None, existing=True, words=content_words(text)) for text in existing if text
    ]
    repeated = 0
    for proposal in proposals:
        words = content_words(proposal.text)
        if any(similar(words, line) for line in prompt_lines):
            repeated += 1
            continue
        twin = next(
            (
                d
                for d in drafts
                if d.direction in {None, proposal.direction}
                and similar(words, d.words)
                and not about_other_things(proposal.text, d.text)
            ),
            None,
        )
        if twin is not None:
            twin.row_ids.update(proposal.row_ids)
            twin.counter_ids.update(proposal.counter_ids)
            if not twin.existing and len(proposal.row_ids) > len(
                twin.row_ids - set(proposal.row_ids)
            ):
                twin.take_wording(proposal)
            continue
        drafts.append(
            _Draft(
                proposal.text,
                proposal.direction,
                set(proposal.row_ids),
                proposal.evidence,
                words=words,
                applies_when=proposal.applies_when,
                target=proposal.target,
                kind=proposal.kind,
                counter_ids=set(proposal.counter_ids),
            )
        )
    if repeated:
        notes.append(
            f"{repeated} proposed guidelines repeated the current prompt and were dropped."
        )
    kept = [d for d in drafts if d.existing]
    new = sorted((d for d in drafts if not d.existing), key=lambda d: (-len(d.row_ids), d.text))
    if len(new) > max_new:
        notes.append(f"{len(new) - max_new} weaker guidelines were left out (at most {max_new}).")
    items = [
        GuidelineItem(
            id=number,
            text=d.text,
            direction=d.direction,
            row_ids=sorted(d.row_ids),
            evidence=d.evidence,
            existing=d.existing,
            applies_when=d.applies_when,
            target=d.target,
            kind=d.kind,
            counter_row_ids=sorted(d.counter_ids - d.row_ids),
        )
        for number, d in enumerate([*kept, *new[:max_new]], start=1)
    ]
    return items, notes
