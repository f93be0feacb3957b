"""The simulation's third blind spot, for bench/sampler_bench.py only (issue 15, item 4);
alignment_sim.py runs without it, so its figures stand. Fixed before the sampler was
measured, like the other rules:

    The judge is too harsh by 2 (clipped) on outputs that say something cannot be done:
    the word "cannot", "can't" or "can not" in the OUTPUT (word-bounded, any case; 10.4%
    of feedbackqa's rows, 11% of writingprompts'). A judge that reads a stated limit as
    an unhelpful answer marks correct "no" answers down. It shares its direction with the
    "you" blind spot (too harsh), so among a handful of random disagreements it rarely
    stands out: a few random rows cannot already reveal everything.

    The reflection model finds it as it finds the others (at least 0.3 more frequent in
    one direction's disagreements than in the other rows shown, and at least 3 of them),
    in one of five paraphrases; the judge applies a guideline that names stated limits
    ("cannot", "can't", negative answers, what is not possible, ...) with a direction
    that raises or neutralises the score on 85% of the rows it concerns, read through the
    same negation rules as the vocabulary's; a wrong direction is an "other" rule.
"""

from __future__ import annotations

import re

from rubricate import Direction
from sim.vocabulary import META_OFF, NEGATED_BEFORE, QUOTED, Rule, _clauses, _direction

PENALTY = -2
LENIENT, HARSH = Direction.TOO_LENIENT, Direction.TOO_HARSH

CANNOT = re.compile(r"\b(?:cannot|can['’]t|can not)\b", re.IGNORECASE)
# How a guideline names the feature (quoted "cannot" or "can't" included).
NAMES = re.compile(
    r"\b(?:cannot|can['’]t|can not)\b|\bnegative answers?\b|\bstat\w* (?:a |its |the )?"
    r"limit\w*|\b(?:what|something) (?:is not|isn['’]t) possible\b|\bcorrect [\"“]?no[\"”]?\b|"
    r"\bsay\w* (?:that )?(?:something|it) (?:cannot|can['’]t|can not)\b",
    re.IGNORECASE,
)

WORDINGS: dict[tuple[str, Direction], tuple[str, ...]] = {
    ("cannot", HARSH): (
        'Do not penalise an output for saying that something cannot be done; a correct "no" '
        "is a good answer.",
        "An answer that states a limitation is not worse for it: do not lower the score.",
        'Saying "cannot" is not a flaw: score such outputs on whether they are right.',
        "Negative answers deserve the same score as positive ones when they are correct; do "
        "not mark them down.",
        "Outputs that explain what is not possible should be scored on their content, not "
        "lowered for it.",
    ),
    ("cannot", LENIENT): (
        "Score outputs that say something cannot be done lower.",
        "Penalise negative answers.",
    ),
}
APPLIES = 'the output says something cannot be done ("cannot", "can\'t")'


def has_feature(output: str) -> bool:
    return CANNOT.search(output) is not None


def rule_of(text: str) -> Rule | None:
    """The third blind spot's rule when ``text`` names stated limits in a clause with no
    negation before the mention (raise or neutral: it cancels; else "other"); None when it
    does not name them."""
    if META_OFF.search(text):
        return None  # switched off whole: the vocabulary reads it as inert
    bare = QUOTED.sub(lambda m: f" {m.group(1) or m.group(2) or ''} ", text)
    for clause in _clauses(bare):
        found = NAMES.search(clause)
        if found is None or NEGATED_BEFORE.search(clause[: found.start()]):
            continue
        rest = NAMES.sub(" ", clause)  # "cannot" itself states no direction
        direction = _direction(rest) or _direction(NAMES.sub(" ", bare))
        if direction in ("raise", "neutral"):
            return Rule("third", direction)
        return Rule("other", direction)
    return None
