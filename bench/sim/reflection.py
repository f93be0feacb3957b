"""The simulation's fake reflection model: it reads the request text and nothing else
(issue 11, item 1; the rules are fixed, nobody tunes them):

    The fake reflection model reads scores, directions, outputs and comments from the
    traces and contrast rows in its prompt, and nothing else. No lookup of hidden flags by
    row id. Reflection: proposes a blind spot's guideline, worded in one of at least four
    paraphrases, when, among the rows shown, the feature (long = longer than the median of
    the outputs shown; "you" present) is at least 0.3 more frequent in one direction's
    disagreements than in the other rows shown, and at least 3 of them show it; and in
    every batch one plausible wrong guideline: half the time a rule keyed to a frequent
    word of the shown outputs, otherwise "be stricter overall".

Choices where the rules are silent:
- The traces are read with the product's own parser (``trace_format.parse_blocks``); the
  row ids it cites are the ones in the headers it was shown.
- A feature found in the direction a blind spot has (long: judge too lenient; "you": judge
  too harsh) gets that blind spot's guideline; found in the other direction it gets the
  opposite guideline (e.g. "do not penalise long outputs"), which the judge cannot use: an
  honest model says what it sees.
- "The other rows shown" are every shown row not in that direction's disagreements (the
  other direction's and the agreeing rows); with none, nothing is compared or proposed.
- Every choice (paraphrase, wrong guideline, its word) is seeded by the request text.
- Fields the schema asks for beyond text/direction/row_ids (applies_when, target, kind,
  counter row ids) are filled from the rows shown when the product's schema has them.
- Asked to consolidate (the product's one call after the batches), it reads the numbered
  candidates in the request and groups those that are its own paraphrases of one rule
  (same feature and direction, "stricter overall", or the same keyed word): a model
  recognises its own rewordings; the first member's wording stands for the group.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rubricate import Direction
from rubricate.alignment.reflection import REFLECTION_SCHEMA
from rubricate.alignment.trace_format import TraceBlock, parse_blocks
from rubricate.models.fake import FakeCall
from sim import third as third_spot
from sim.judge import YOU, fraction
from sim.wordings import APPLIES, STOP_WORDS, STRICTER, WORDINGS

MIN_SUPPORT = 3
MIN_EXCESS = 0.3
LENIENT, HARSH = Direction.TOO_LENIENT, Direction.TOO_HARSH

_WORD = re.compile(r"[A-Za-z][a-z]{3,}")


def _has(feature: str, block: TraceBlock, median: float) -> bool:
    if feature == "long":
        return len(block.output) > median
    if feature == "cannot":
        return third_spot.has_feature(block.output)
    return YOU.search(block.output) is not None


class FakeReflection:
    """The responder of ``fake:reflect``; ``stripped`` counts batches (for reports).
    ``third``: it also looks for sim/third.py's feature (sampler_bench.py only)."""

    def __init__(self, *, third: bool = False) -> None:
        self.calls = 0
        self.wrong: list[str] = []
        self.features = ("long", "you", "cannot") if third else ("long", "you")

    def __call__(self, call: FakeCall) -> dict[str, Any]:
        self.calls += 1
        if "merge_guidelines" in call.tool_names:
            return {"merged": consolidate(call.user)}
        return {"guidelines": self.propose(call.user)}

    def propose(self, user: str) -> list[dict[str, Any]]:
        shown = parse_blocks(user)
        if not shown:
            return []
        median = statistics.median(len(b.output) for b in shown)
        proposed: list[dict[str, Any]] = []
        for feature in self.features:
            for direction in (LENIENT, HARSH):
                found = self._found(feature, direction, shown, median)
                if found is not None:
                    proposed.append(self._item(feature, direction, found, shown, median, user))
        wrong = self._wrong(shown, user)
        if wrong is not None:
            proposed.append(wrong)
            self.wrong.append(wrong["text"])
        return proposed

    def _found(
        self, feature: str, direction: Direction, shown: Sequence[TraceBlock], median: float
    ) -> list[TraceBlock] | None:
        """The disagreements of ``direction`` that show ``feature``, when the rule holds."""
        mine = [b for b in shown if b.direction is direction]
        others = [b for b in shown if b.direction is not direction]
        if not mine or not others:
            return None
        having = [b for b in mine if _has(feature, b, median)]
        share_mine = len(having) / len(mine)
        share_others = sum(_has(feature, b, median) for b in others) / len(others)
        if len(having) >= MIN_SUPPORT and share_mine - share_others >= MIN_EXCESS:
            return having
        return None

    def _item(
        self,
        feature: str,
        direction: Direction,
        support: Sequence[TraceBlock],
        shown: Sequence[TraceBlock],
        median: float,
        user: str,
    ) -> dict[str, Any]:
        wordings = {**WORDINGS, **third_spot.WORDINGS}[(feature, direction)]
        text = wordings[int(fraction("wording", feature, direction, user) * len(wordings))]
        counter = [
            b.row_id for b in shown if b.direction is not direction and _has(feature, b, median)
        ]
        target = statistics.median(b.human_score for b in support)
        return _fill(
            text,
            direction,
            [b.row_id for b in support],
            applies_when={**APPLIES, "cannot": third_spot.APPLIES}[feature].format(n=int(median)),
            target=target,
            counter=counter,
            kind="reviewer preference" if feature == "you" else "clarifies a rubric point",
        )

    def _wrong(self, shown: Sequence[TraceBlock], user: str) -> dict[str, Any] | None:
        """One plausible wrong guideline: keyed to a frequent word of the shown outputs
        (half the time), else "be stricter overall"."""
        if fraction("wrong-kind", user) < 0.5:
            counts: Counter[str] = Counter()
            for block in shown:
                counts.update({w.lower() for w in _WORD.findall(block.output)} - STOP_WORDS)
            counts.pop("you", None)
            if counts:
                top = max(counts.values())
                words = sorted(w for w, c in counts.items() if c == top)
                word = words[int(fraction("wrong-word", user) * len(words))]
                keyed = self._keyed(word, shown)
                if keyed is not None:
                    return keyed
        lenient = [b.row_id for b in shown if b.direction is LENIENT]
        if not lenient:
            return None
        text = STRICTER[int(fraction("stricter", user) * len(STRICTER))]
        return _fill(
            text,
            LENIENT,
            lenient[:5],
            applies_when="any output",
            target=None,
            counter=[],
            kind="reviewer preference",
        )

    def _keyed(self, word: str, shown: Sequence[TraceBlock]) -> dict[str, Any] | None:
        having = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
        best: tuple[float, Direction, list[TraceBlock]] | None = None
        for direction in (LENIENT, HARSH):
            mine = [b for b in shown if b.direction is direction]
            hits = [b for b in mine if having.search(b.output)]
            share = len(hits) / len(mine) if mine else 0.0
            if hits and (best is None or share > best[0]):
                best = (share, direction, hits)
        if best is None:
            return None
        _, direction, hits = best
        verb = "lower" if direction is LENIENT else "higher"
        return _fill(
            f'Score {verb} when the output mentions "{word}".',
            direction,
            [b.row_id for b in hits][:5],
            applies_when=f'the output mentions "{word}"',
            target=statistics.median(b.human_score for b in hits),
            counter=[],
            kind="new criterion",
        )


def _fill(
    text: str,
    direction: Direction,
    row_ids: list[int],
    *,
    applies_when: str,
    target: float | None,
    counter: list[int],
    kind: str,
) -> dict[str, Any]:
    """A guideline in the schema the product asks for: the fields it has, filled."""
    item: dict[str, Any] = {"text": text, "direction": direction.value, "row_ids": row_ids}
    properties = _item_schema().get("properties", {})
    for name, spec in properties.items():
        if name in item:
            continue
        if name == "applies_when":
            item[name] = applies_when
        elif name == "target":
            item[name] = _typed(spec, target)
        elif name == "kind":
            options = spec.get("enum") or []
            item[name] = _closest(kind, options) if options else kind
        elif "counter" in name:
            item[name] = counter[:10]
        elif spec.get("type") == "array":
            item[name] = []
        elif spec.get("type") == "string":
            item[name] = ""
    return item


def _item_schema() -> dict[str, Any]:
    guidelines = REFLECTION_SCHEMA.json_schema.get("properties", {}).get("guidelines", {})
    items = guidelines.get("items", {})
    return items if isinstance(items, dict) else {}


def _typed(spec: dict[str, Any], value: float | None) -> Any:
    kinds = spec.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if value is None:
        return None if "null" in kinds else ("any score" if "string" in kinds else 0)
    if "number" in kinds or "integer" in kinds:
        return value
    return f"about {value:g}"


def _closest(kind: str, options: Sequence[Any]) -> Any:
    words = set(kind.lower().split())
    return max(options, key=lambda o: len(words & set(str(o).lower().replace("_", " ").split())))


_CANDIDATE = re.compile(r"^(\d+)\. (.+)$")
_KIND = re.compile(r"kind: ([a-z_ ]+);")
_KEYED = re.compile(r'^Score (?:lower|higher) when the output mentions "(.+)"\.$')
_RULE_OF = {
    text: key for key, texts in {**WORDINGS, **third_spot.WORDINGS}.items() for text in texts
}


def consolidate(user: str) -> list[dict[str, Any]]:
    """The candidates of a consolidation request, grouped by the rule they word."""
    groups: dict[object, list[tuple[int, str, str]]] = {}
    lines = user.splitlines()
    for index, line in enumerate(lines):
        found = _CANDIDATE.match(line)
        if found is None:
            continue
        text = found.group(2)
        detail = lines[index + 1] if index + 1 < len(lines) else ""
        kind = _KIND.search(detail)
        keyed = _KEYED.match(text)
        rule: object = _RULE_OF.get(text) or (
            "stricter" if text in STRICTER else ("keyed", keyed.group(1)) if keyed else text
        )
        groups.setdefault(rule, []).append(
            (int(found.group(1)), text, kind.group(1) if kind else "")
        )
    return [
        {
            "from": [number for number, _, _ in members],
            "text": members[0][1],
            "applies_when": "",
            "target": "",
            "kind": members[0][2],
        }
        for members in groups.values()
    ]
