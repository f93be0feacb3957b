"""The simulation's fake judge: it sees only the request text (issue 11, item 1; the rules
are fixed, nobody tunes them):

    The fake judge finds a row's human score only from the text of its data blocks (a hash
    of INPUT and OUTPUT together: 337 feedbackqa outputs recur with different medians).
    Judge: the reviewers' median plus two blind spots, +2 (clipped) on outputs longer than
    the data set's median length (too lenient), -1 (clipped) on outputs that address the
    reader as "you" (too harsh); noise: ±1 on 10% of calls, seeded by the request text and
    a call counter, so re-scoring the same prompt can differ. Asked which guidelines it
    applied, it names them with a 15% misreport rate (one omitted or one added).
    The judge applies guidelines by meaning, through a fixed vocabulary: a guideline that
    names length or verbosity with a direction that lowers or neutralises it cancels the
    length blind spot on 85% of the rows it concerns; one that names addressing the reader,
    second person or "you" with a direction that raises or neutralises it, the same for the
    second blind spot; a negated or quoted mention triggers nothing; a generic strictness or
    leniency rule with no observable condition moves every row by 1 in its direction with
    probability 0.3; a rule keyed to a quoted word moves rows containing that word by 1
    with probability 0.9; anything else flips 3% of rows by ±1.

Choices where the rules are silent (said once, here):
- "you" is the word ``you`` in the OUTPUT, word-bounded, any case; long is more characters
  of OUTPUT than the median OUTPUT of the data set (both read from the data block).
- The score is built in three steps, each clipped to the scale: the median plus both blind
  spots (those not cancelled); plus the guidelines' moves; plus the noise.
- Which rows a guideline acts on is drawn per (guideline text, row text): a model applies a
  rule the same way to the same row; only the noise changes from call to call. The noise
  is drawn from the user message (the row's data, not the instructions) and the number of
  calls made before with that same message: draw k of a row is the same under every prompt.
- A keyed word is looked for in the OUTPUT (word-bounded, any case).
- sampler_bench.py adds a third blind spot (sim/third.py); alignment_sim.py does not.
- "Applied" names the guidelines that changed something on this row; the misreport omits
  one (when any) or adds one, half and half when both are possible.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rubricate.alignment.trace_format import data_blocks
from rubricate.models.fake import FakeCall
from sim import third as third_spot
from sim.vocabulary import Rule, classify

LENGTH_BONUS = 2
YOU_PENALTY = -1
NOISE = 0.10
MISREPORT = 0.15
CANCEL = 0.85
GENERIC = 0.3
KEYED = 0.9
OTHER = 0.03

YOU = re.compile(r"\byou\b", re.IGNORECASE)
_HEADER = re.compile(r"^#+ .*guideline", re.IGNORECASE)
_ITEM = re.compile(r"^\s*(?:[-*•]|\(?(\d+)[.):\]])\s+(\S.*)$")


def fraction(*parts: object) -> float:
    """A number in [0, 1) from a hash of ``parts``: stable across runs and processes."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def text_key(input_text: str, output_text: str) -> str:
    digest = hashlib.sha256()
    for text in (input_text, output_text):
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def guidelines_of(system: str) -> list[tuple[int, str]]:
    """The numbered guidelines of a judge's instructions (number as shown, else position)."""
    found: list[tuple[int, str]] = []
    inside = False
    for line in system.splitlines():
        if line.startswith("#"):
            inside = bool(_HEADER.match(line))
            continue
        item = _ITEM.match(line) if inside else None
        if item:
            number = int(item.group(1)) if item.group(1) else len(found) + 1
            found.append((number, item.group(2).strip()))
    return found


@dataclass(frozen=True)
class Verdict:
    score: float
    applied: tuple[int, ...]  # what acted on the row (the truth, before any misreport)


@dataclass(frozen=True)
class Table:
    """What the bench built from the data set: the reviewers' median by the hash of INPUT
    and OUTPUT, the median output length, and the scale's ends."""

    medians: Mapping[str, float]
    median_length: float
    low: float
    high: float

    def clip(self, value: float) -> float:
        return min(self.high, max(self.low, value))


class FakeJudge:
    """The responder of ``fake:judge``. ``first_draw`` is the counter of a row's first call
    (the stored results took draw 0, so an alignment run starts at 1). ``third`` adds
    sim/third.py's blind spot (off unless a bench asks for it)."""

    def __init__(self, table: Table, *, first_draw: int = 0, third: bool = False) -> None:
        self.table = table
        self.first_draw = first_draw
        self.third = third  # the third blind spot (sim/third.py: sampler_bench.py only)
        self.counts: dict[str, int] = defaultdict(int)
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, call: FakeCall) -> dict[str, Any]:
        with self._lock:
            draw = self.first_draw + self.counts[call.user]
            self.counts[call.user] += 1
            self.calls += 1
        return self.answer(call.system, call.user, draw)

    def answer(self, system: str, user: str, draw: int) -> dict[str, Any]:
        shown = guidelines_of(system)
        verdict = self.score(shown, user, draw)
        applied = set(verdict.applied)
        if fraction("misreport", user, draw) < MISREPORT and shown:
            numbers = [n for n, _ in shown]
            absent = [n for n in numbers if n not in applied]
            omit = bool(applied) and (not absent or fraction("omit", user, draw) < 0.5)
            pool = sorted(applied) if omit else absent
            pick = pool[int(fraction("which", user, draw) * len(pool))]
            applied = applied - {pick} if omit else applied | {pick}
        return {
            "rationale": "Scored against the rubric and the guidelines given.",
            "score": verdict.score,
            "applied": sorted(applied),
        }

    def score(
        self, shown: Sequence[tuple[int, str]], user: str, draw: int, *, oracle: bool = False
    ) -> Verdict:
        """The score of the row in ``user`` under the guidelines ``shown``, at noise draw
        ``draw``. ``oracle`` (ground truth only): both blind spots gone, nothing else."""
        blocks = data_blocks(user)
        output = blocks.get("OUTPUT", "")
        key = text_key(blocks.get("INPUT", ""), output)
        if key not in self.table.medians:
            raise RuntimeError("the fake judge was sent a row whose texts it does not know")
        human = self.table.medians[key]
        long = len(output) > self.table.median_length
        you = YOU.search(output) is not None
        length_bias = LENGTH_BONUS if long and not oracle else 0
        you_bias = YOU_PENALTY if you and not oracle else 0
        third_bias = third_spot.PENALTY if self.third and third_spot.has_feature(output) else 0
        third_bias = 0 if oracle else third_bias
        applied: set[int] = set()
        moves = 0
        rules = [(n, text, self.rule(text)) for n, text in shown]
        for number, text, rule in rules:
            if rule.kind == "third" and third_bias and fraction("cancel-third", text, key) < CANCEL:
                third_bias = 0
                applied.add(number)
            concerns = rule.kind in ("length", "both") and length_bias
            if concerns and fraction("cancel-length", text, key) < CANCEL:
                length_bias = 0
                applied.add(number)
            concerns = rule.kind in ("you", "both") and you_bias
            if concerns and fraction("cancel-you", text, key) < CANCEL:
                you_bias = 0
                applied.add(number)
        for number, text, rule in rules:
            step = _move(rule, text, key, output)
            if step:
                moves += step
                applied.add(number)
        clip = self.table.clip
        value = clip(clip(human + length_bias + you_bias + third_bias) + moves)
        if fraction("noise", user, draw) < NOISE:
            value = clip(value + (1 if fraction("noise-sign", user, draw) < 0.5 else -1))
        return Verdict(value, tuple(sorted(applied)))

    def rule(self, text: str) -> Rule:
        """How the judge reads a guideline: the vocabulary's rule, or (with the third
        blind spot) the third's when the text names it and neither of the others."""
        rule = classify(text)
        if self.third and rule.kind not in ("length", "you", "both"):
            return third_spot.rule_of(text) or rule
        return rule


def _move(rule: Rule, text: str, key: str, output: str) -> int:
    """The move a guideline makes on one row (0, +1 or -1)."""
    sign = 1 if rule.direction == "raise" else -1
    if rule.kind == "generic":
        return sign if fraction("generic", text, key) < GENERIC else 0
    if rule.kind == "keyed" and rule.word:
        present = re.search(rf"(?<!\w){re.escape(rule.word)}(?!\w)", output, re.IGNORECASE)
        return sign if present and fraction("keyed", text, key) < KEYED else 0
    if rule.kind == "other" and fraction("other", text, key) < OTHER:
        return 1 if fraction("other-sign", text, key) < 0.5 else -1
    return 0
