"""Words: how comments and row texts are split, and the small word lists the offline engine
uses to tell a reviewer's point from filler, praise or the row's subject."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# Clause breaks: an n-gram never spans them, so every phrase is found verbatim in its comment.
_BREAKS = re.compile(r"[.!?;:,()\[\]{}\"“”«»…/\n]+|\s[-–—]+\s")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATIONS = _listed(
    """
    no not nor never none nothing cannot without doesn't don't didn't isn't aren't wasn't
    weren't can't couldn't won't wouldn't shouldn't hasn't haven't lacks lacking
    """
)

# Degree and quantity words carry the point in "too much information", "not enough detail".
QUANTITY = _listed("too much more less enough lot lots little extra few many most")

# Function words. A hand-kept list: scikit-learn's also drops content words ("detail",
# "describe", "full", "empty") that reviewers use to make their point.
STOPWORDS = _listed(
    """
    a about above after again against all also although am an and any are as at be because
    been before being below between both but by can could did do does doing down during each
    either else even ever every for from further had has have having he her here hers him his
    how however i if in into is it it's its itself just like may me might mine must my of off
    on once one only onto or other others our ours out over own per quite rather really same
    she should since so some such than that that's the their theirs them then there there's
    these they this those though through thus to toward towards under until up upon us very
    was we were what when where whether which while who whom whose why will with within would
    yet you your yours seems seem i'm i'd i've they're it'd
    """
)

# Words that open no phrase on their own: "the answer" is "answer", "there is no mention" is
# "no mention". Auxiliaries stay allowed at the start ("does not mention").
LEAD_GLUE = _listed(
    """
    a an the and or but nor of to in on at for with by from as into onto about than
    this that these those it it's its there there's here which who whom whose what
    i i'm i'd i've we you he she they them their his her my our your if so because
    """
)

# Praise and complaint that says nothing a judge could act on: a phrase made only of these
# (and function words or negations) is never a guideline, however frequent.
GENERIC = _listed(
    """
    good great excellent bad poor nice perfect terrible awful horrible fine ok okay decent
    amazing awesome wonderful superb fantastic solid adequate acceptable satisfactory
    helpful unhelpful useful useless best worst better worse well overall job
    answer answers answered answering response responses reply question questions
    information info content pretty fairly somewhat
    """
)

# Words about the task rather than its subject: they never count as a row's topic words,
# although outputs use them ("More information is available ...").
TASK_WORDS = _listed("answer answers answered answering question questions information info")


def segments(text: str) -> list[list[str]]:
    """The text's clauses, each a list of lowercased words without punctuation."""
    lowered = text.lower().replace("’", "'").replace("‘", "'")
    parts = (_WORD.findall(part) for part in _BREAKS.split(lowered))
    return [part for part in parts if part]


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'").replace("‘", "'"))


def normalized(text: str) -> str:
    """Lowercased words joined by single spaces: where a phrase is found verbatim."""
    return " ".join(words(text))


@cache
def stem(word: str) -> str:
    """A crude stem, enough to see that "airline", "airlines", "carry" and "carried" name
    the same subject: one suffix off, then a final e, and i as y."""
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    word = word.removesuffix("e") if len(word) > 3 else word
    return word[:-1] + "y" if word.endswith("i") else word


def is_filler(word: str) -> bool:
    return word in STOPWORDS or word in NEGATIONS


_PREFIX = 4  # shortest stem matched by prefix: "work" is the subject of "workers"


@dataclass(frozen=True, slots=True)
class Topic:
    """The subject of a row: the stems of the content words of its input and output, which
    a reviewer's phrase may mention but which say nothing about how to judge."""

    stems: frozenset[str]
    prefixes: frozenset[str]  # every start of a stem, four letters or more

    @classmethod
    def of(cls, *texts: str | None) -> Topic:
        stems = frozenset(
            stem(word)
            for text in texts
            if text
            for word in words(text)
            if not is_filler(word) and word not in TASK_WORDS
        )
        prefixes = frozenset(s[:size] for s in stems for size in range(_PREFIX, len(s) + 1))
        return cls(stems, prefixes)

    def holds(self, word: str) -> bool:
        """Whether ``word`` names this subject: its stem is a topic stem, or one begins
        with the other (both at least four letters)."""
        if is_filler(word) or word in TASK_WORDS:
            return False
        root = stem(word)
        if root in self.stems or (len(root) >= _PREFIX and root in self.prefixes):
            return True
        return any(root[:size] in self.stems for size in range(_PREFIX, len(root)))
