"""How the fake judge reads a guideline: by meaning, through a fixed vocabulary (issue 11,
item 1). A guideline is classified once, from its text alone, into one ``Rule``:

- ``length``: it names length or verbosity (long, length, verbose, wordy, padding, concise,
  brief, lengthy, rambling, ...) with a direction that lowers or neutralises the score;
- ``you``: it names addressing the reader (a quoted "you", second person, addresses the
  reader, direct address, ...) with a direction that raises or neutralises it;
- ``keyed``: it is keyed to a quoted word or short phrase (at most 3 words), with a
  direction (lower or raise);
- ``generic``: a strictness or leniency rule with no observable condition;
- ``inert``: a negated or quoted mention ("Ignore this: ...", "this is not about length",
  "do not consider length", a quoted sentence) and nothing else: it triggers nothing;
- ``other``: anything else (including a feature named with the wrong direction).

When in doubt the reading is conservative: a mention preceded in its clause by a negation
("not about", "ignore", "do not consider", ...) does not count, so no wording games the
judge into applying a rule (see tests/alignment/test_sim_honesty.py for held-out
paraphrases and negations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Kind = Literal["length", "you", "both", "third", "keyed", "generic", "inert", "other"]

_F = re.IGNORECASE

LENGTH = re.compile(
    r"\b(?:long(?:er|est)?|length(?:y|ier|s)?|verbos\w*|wordy|wordiness|padd(?:ing|ed)|"
    r"concise\w*|brief(?:er|ly|ness)?|brevity|rambl\w*|short(?:er|est)?|succinct\w*|terse\w*|"
    r"filler|word[- ]count|long[- ]winded|drawn[- ]out|too many words|overlong|"
    r"over[- ]?explain\w*|size|drag\w* on|too much (?:text|detail)|expansive|compact)\b",
    _F,
)
_NOT_LENGTH = re.compile(r"\bas long as\b|\bno longer\b|\bshort of\b|\bin short\b", _F)
SECOND_PERSON = re.compile(
    r"\bsecond[- ]person\b|"
    r"\baddress\w*\s+(?:\w+\s+){0,2}(?:reader|readers|audience|user|asker)\b|"
    r"\bdirect(?:ly)?\s+address\w*|"
    r"\breader[- ](?:directed|facing)\b|"
    r"\b(?:speak|talk|writ)\w*\s+(?:directly\s+|straight\s+)?to\s+(?:the|their)\s+(?:reader|user|audience)s?\b|"
    r"\bthe word you\b",
    _F,
)
# Quoted spans: double or curly quotes, or single quotes not inside a word (don't).
QUOTED = re.compile(r"[\"“”]([^\"“”\n]{1,80})[\"“”]|(?<!\w)['‘]([^'‘’\n]{1,80})['’](?!\w)")
_YOU_WORDS = {"you", "your", "yours", "yourself", "you're", "you’re"}

# Direction cues. Negated cues first (they contain plain ones: "do not penalise").
_NEG = r"(?:do not|don't|don’t|never|not|no longer|should not|shouldn't|must not|without)"
_WHY_NOT = (
    r"\b(?:not|no|never|nor) (?:a |any |the )?(?:reason|grounds?|cause|excuse|basis) (?:to|for) "
)
RAISE_NEGATED = re.compile(
    rf"{_WHY_NOT}(?:\w+\s+){{0,2}}(?:lower\w*|penali[sz]\w*|deduct\w*|mark\w* down|downgrad\w*|"
    r"punish\w*|harsh\w*)|"
    r"\b(?:not|no|never)\s+(?:\w+\s+)?worse\b|\bwithout (?:any |a )?(?:penalt\w*|deduct\w*)|"
    r"\bno (?:penalt\w*|deduct\w*)|"
    rf"\b{_NEG}\s+(?:\w+\s+)?(?:penali[sz]\w*|lower\w*|deduct\w*|dock\w*|"
    r"mark\w* (?:[\w-]+ ){0,2}down|"
    r"punish\w*|count\w* against|hold\w* against|downgrad\w*|take\w* (?:\w+ ){0,2}off|be harsh\w*|"
    r"reduc\w*)",
    _F,
)
LOWER_NEGATED = re.compile(
    rf"{_WHY_NOT}(?:\w+\s+){{0,2}}(?:rais\w*|higher|reward\w*|boost\w*|credit\w*|lenien\w*)|"
    rf"\b{_NEG}\s+(?:\w+\s+)?(?:reward\w*|raise\w*|boost\w*|inflat\w*|credit\w*|"
    r"give\w* (?:extra|more|additional) (?:credit|points)|earn\w*|deserve\w*|merit\w*|"
    r"make\w* (?:it|them|an? \w+) better|improv\w*)|\bno (?:extra|additional|more) credit|"
    rf"\b{_NEG}\s+(?:score|mark|grade|rate)\w* (?:[\w-]+ ){{0,3}}up\b|"
    r"\bno bonus|\b(?:earn|get|deserve)\w* nothing (?:extra|more)\b|\bnot (?:any )?better\b|"
    r"\bno better\b|\bnever better\b",
    _F,
)
LOWER = re.compile(
    r"\blower\w*|\bpenali[sz]\w*|\bpenalt\w*|\bdeduct\w*|\bstricter|\bstrict(?:ly)?\b|"
    r"\bharsh\w*|\bless credit|\breduc\w*|\bdowngrad\w*|\bdock\b|\bmark\w* (?:[\w-]+ ){0,2}down|"
    r"\b(?:score|mark|grade|rate)\w* (?:[\w-]+ ){0,3}down\b|\bworse\b|\bcap\b|\bat most\b|"
    r"\bpunish\w*|\bsevere\w*|\btougher\b|"
    r"\b(?:prefer\w*|favou?r\w*)\s+(?:\w+\s+)?(?:concise|brief|short|succinct|terse)\w*|"
    r"\btoo (?:long|verbose|wordy|lengthy)\b|\bcount\w* against\b|\bhold\w* against\b",
    _F,
)
RAISE = re.compile(
    r"\bhigher\b|\b(?:score|mark|grade|rate)\w* (?:[\w-]+ ){0,3}up\b|\braise\w*|\bmore credit|"
    r"\blenien\w*|\bgenerous\w*|\breward\w*|"
    r"\bupgrad\w*|\bbonus\b|\bboost\w*|\bmore forgiving|\bkinder|\bfull credit|"
    r"\bextra credit|\bnot an? (?:flaw|fault|problem|defect|mistake|weakness|error)\b|"
    r"\b(?:is|are) (?:fine|acceptable|ok|okay|welcome)\b|\bperfectly (?:fine|acceptable)\b",
    _F,
)
NEUTRAL = re.compile(
    r"\bregardless\b|\b(?:do not|don't|don’t|never) (?:let|allow)\b|\bthe same score\b|"
    r"\birrespective\b|\bnot (?:a|the) (?:factor|criterion|consideration)\b|"
    r"\b(?:should|must|does|do)(?: not|n't|n’t) (?:affect|influence|change|matter|sway|bias|"
    r"count|play)\w*|\bno (?:effect|influence|bearing|weight)\b|\bneutral\w*|"
    r"\bindependent(?:ly)? of\b|\bon (?:its|their) (?:own )?(?:merits|content)\b|"
    r"\bnot by (?:its|their)\b|\bnothing to do with\b|\bunrelated to\b|\bdoes not matter\b|"
    r"\bdoesn['’]t matter\b|\bno matter\b|\bwhatever (?:its|their)\b|\bnot (?:a )?reason\b",
    _F,
)
# A negation before a mention in its clause: the mention triggers nothing.
NEGATED_BEFORE = re.compile(
    r"\bnot about\b|\bisn['’]t about\b|\bnot (?:related|relevant) to\b|\bnot concern\w*|"
    r"\bdoes(?:n['’]t| not) concern\b|\bnot (?:a )?matter of\b|\bignor\w*|\bdisregard\w*|"
    r"\boverlook\w*|\bskip\w*|\bforget\b|\bnothing to do with\b|\bunrelated to\b|"
    r"\b(?:this|that|the)\s+(?:following\s+|above\s+)?(?:rule|guideline|note|point)s?\s+"
    r"(?:is|are|has|have|does|do)(?:\s*n['’]t|\s+not|\s+nothing)\b|"
    r"\b(?:this|it|that|these|the (?:following |above )?(?:rule|guideline|note|point)s?)\s+"
    r"(?:is|are|has|have|does|do)(?:\s*n['’]t|\s+not|\s+nothing)\b|"
    r"\b(?:do not|don't|don’t|never|no need to|need not)\s+(?:\w+\s+)?(?:mention|discuss|"
    r"talk about|consider|think about|look at|apply|use|follow|pay attention to|check|focus on|"
    r"care about|worry about|bother)\b",
    _F,
)
# The whole guideline is switched off ("Ignore this: ...", "Do not apply the following").
META_OFF = re.compile(
    r"^\W*(?:ignore|disregard|skip)\b|"
    r"\b(?:ignore|disregard|skip)\s+(?:this|that|it|these|the following|the next|the rule|"
    r"the guideline|what follows)\b|"
    r"\b(?:do not|don't|don’t|never)\s+(?:apply|follow|use|obey)\s+(?:this|that|it|these|the)\b|"
    r"\bnot a (?:real )?(?:rule|guideline|instruction)\b|\bfor (?:reference|illustration) only\b|"
    r"\bexample only\b",
    _F,
)
CONDITION = re.compile(
    r"\b(?:when|whenever|if|unless|that|which|who|whose|where|contain\w*|mention\w*|"
    r"includ\w*|lack\w*|without|missing|us(?:e|es|ed|ing)|cit(?:e|es|ing)|for (?:outputs|"
    r"answers|responses|stories|texts|rows)|outputs? (?:with|in)|answers? (?:with|in)|"
    r"responses? (?:with|in))\b",
    _F,
)
_CLAUSE = re.compile(r"[;:.!?](?:\s|$)|\s[-–—]\s|—|\bbut\b|\bhowever\b|\n", _F)

Direction = Literal["lower", "raise", "neutral"]


@dataclass(frozen=True)
class Rule:
    kind: Kind
    direction: Direction | None = None
    word: str | None = None  # the quoted word of a keyed rule (lower case)


def _direction(text: str) -> Direction | None:
    """The first direction the text states: negated cues read before plain ones."""
    found: list[tuple[int, Direction]] = []
    masked = text
    for pattern, meaning in ((RAISE_NEGATED, "raise"), (LOWER_NEGATED, "lower")):
        for m in pattern.finditer(masked):
            found.append((m.start(), meaning))  # type: ignore[arg-type]
        masked = pattern.sub(lambda m: " " * len(m.group(0)), masked)
    for pattern, meaning in ((LOWER, "lower"), (RAISE, "raise"), (NEUTRAL, "neutral")):
        found += [(m.start(), meaning) for m in pattern.finditer(masked)]  # type: ignore[misc]
    if not found:
        return None
    stated = {meaning for _, meaning in found}
    # A raise or a lower outweighs a neutral wording in the same text.
    for meaning in ("lower", "raise"):
        if meaning in stated and ("raise" if meaning == "lower" else "lower") not in stated:
            return meaning  # type: ignore[return-value]
    return min(found)[1]


def _clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(text) if c and c.strip()]


def _mentions(clause: str, pattern: re.Pattern[str]) -> list[bool]:
    """One flag per mention of ``pattern`` in ``clause``: True when it counts (no negation
    before it in the clause)."""
    flags = []
    for m in pattern.finditer(clause):
        flags.append(NEGATED_BEFORE.search(clause[: m.start()]) is None)
    return flags


def _feature(
    clauses: list[str], pattern: re.Pattern[str], overall: Direction | None
) -> tuple[bool, bool, Direction | None]:
    """(mentioned and counted, mentioned but negated, direction of the counted mention)."""
    counted = negated = False
    direction: Direction | None = None
    for clause in clauses:
        flags = _mentions(clause, pattern)
        if any(flags):
            if not counted:
                direction = _direction(clause) or overall
            counted = True
        elif flags:
            negated = True
    return counted, negated, direction


@lru_cache(maxsize=4096)
def classify(text: str) -> Rule:
    """The rule a guideline's text states, as the fake judge reads it."""
    if META_OFF.search(text):
        return Rule("inert")
    quoted = [(m.group(1) or m.group(2) or "").strip() for m in QUOTED.finditer(text)]
    # Quoted spans are not read as meaning; a quoted "you" is the second-person feature.
    bare = QUOTED.sub(lambda m: " QUOTED ", text)
    you_quoted = any(q.lower() in _YOU_WORDS for q in quoted)
    bare_for_length = _NOT_LENGTH.sub(" ", bare)
    overall = _direction(bare)
    clauses = _clauses(bare_for_length)
    length, length_negated, length_dir = _feature(clauses, LENGTH, overall)
    you, you_negated, you_dir = _feature(_clauses(bare), SECOND_PERSON, overall)
    if you_quoted and not you:
        you_clauses = [c for c in _clauses(QUOTED.sub(_keep_you, text)) if "QUOTEDYOU" in c]
        kept = [c for c in you_clauses if not NEGATED_BEFORE.search(c.split("QUOTEDYOU")[0])]
        you = bool(kept)
        you_negated = you_negated or not kept
        you_dir = (_direction(kept[0].replace("QUOTEDYOU", " ")) or overall) if kept else None
    length_ok = length and length_dir in ("lower", "neutral")
    you_ok = you and you_dir in ("raise", "neutral")
    if length_ok and you_ok:
        return Rule("both", length_dir)
    if length_ok:
        return Rule("length", length_dir)
    if you_ok:
        return Rule("you", you_dir)
    if length or you:
        return Rule("other", overall)  # the feature, with a direction the judge cannot use
    keyed = [q for q in quoted if 0 < len(q.split()) <= 3 and q.lower() not in _YOU_WORDS]
    if keyed and overall in ("lower", "raise"):
        return Rule("keyed", overall, keyed[0].lower())
    if length_negated or you_negated or quoted:
        return Rule("inert")  # a negated or quoted mention, and nothing else
    if overall in ("lower", "raise") and not CONDITION.search(_drop_self(bare)):
        return Rule("generic", overall)
    return Rule("other", overall)


def _keep_you(m: re.Match[str]) -> str:
    inner = (m.group(1) or m.group(2) or "").strip().lower()
    return " QUOTEDYOU " if inner in _YOU_WORDS else " QUOTED "


def _drop_self(text: str) -> str:
    """Without phrases about the judge's own scoring ("with your scores"), which are no
    condition on the output."""
    return re.sub(
        r"\b(?:with|in|on)\s+(?:your|the|its|all|every|each)\s+(?:scores?|scoring|grades?|"
        r"grading|marks?|ratings?|judg\w+|verdicts?)\b",
        " ",
        text,
        flags=_F,
    )
