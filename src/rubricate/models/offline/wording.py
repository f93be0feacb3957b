"""Writing a group as a guideline a judge can follow, and its evidence for people.

The guideline names an observable condition and the score reviewers give such outputs,
anchored to the scale ("Outputs reviewers would call "off topic" should get about 1 (Bad),
not more."). Training statistics (how many rows, which means) stay in the evidence: in a
production prompt they invite a flat shift and go stale."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rubricate.domain.scale import Scale
from rubricate.domain.traces import Direction, Trace
from rubricate.models.offline.contrast import Contrast
from rubricate.models.offline.features import Feature
from rubricate.models.offline.phrases import same_point
from rubricate.models.offline.words import STOPWORDS, normalized, stem, words

_BOUND = {Direction.TOO_LENIENT: "not more", Direction.TOO_HARSH: "not less"}
_WHERE = {
    Direction.TOO_LENIENT: "disagreements where the judge was too lenient",
    Direction.TOO_HARSH: "disagreements where the judge was too harsh",
}


def where(direction: Direction, count: int = 2) -> str:
    """The disagreements of ``direction``, in the singular for one ("1 disagreement")."""
    text = _WHERE[direction]
    return text.replace("disagreements", "disagreement", 1) if count == 1 else text


def number(value: float) -> str:
    return f"{round(value, 2):g}"


def score(value: float, scale: Scale) -> str:
    label = scale.label_of(value)
    return f"{number(value)} ({label})" if label else number(value)


def score_pattern(traces: Sequence[Trace], scale: Scale) -> str:
    """The most common judge→human pair when it covers at least half the rows, else the
    means: "the judge gave 4 where reviewers gave 2 on 5 of 7 rows"."""
    pairs = Counter((t.judge_score, t.human_score) for t in traces)
    (judge, human), count = min(pairs.items(), key=lambda item: (-item[1], item[0]))
    n = len(traces)
    if count * 2 >= n:
        rows = f"all {n} rows" if count == n else f"{count} of {n} rows"
        return (
            f"the judge gave {score(judge, scale)} where reviewers gave "
            f"{score(human, scale)} on {rows}"
        )
    mean_judge = sum(t.judge_score for t in traces) / n
    mean_human = sum(t.human_score for t in traces) / n
    return (
        f"the judge gave {number(mean_judge)} on average where reviewers gave "
        f"{number(mean_human)}, on {n} rows"
    )


def share(contrast: Contrast, direction: Direction, scope: str = "") -> str:
    return (
        f"{contrast.support} of {contrast.total} {where(direction)}{scope} "
        f"({contrast.rate:.0%}) against {contrast.agreeing_rate:.0%} of "
        f"agreeing rows with the same human scores"
    )


def target(traces: Sequence[Trace], scale: Scale) -> float:
    """The score reviewers give such outputs: the median of the resolved human scores,
    on a point of the scale (the lower middle point when the count is even)."""
    humans = sorted(t.human_score for t in traces)
    value = humans[(len(humans) - 1) // 2]
    points = scale.points
    if not points:  # a continuous scale
        return round(value, 2)
    return min(points, key=lambda point: (abs(point - value), point))


def anchored(traces: Sequence[Trace], direction: Direction, scale: Scale) -> str:
    """'should get about 1 (Bad), not more'."""
    return f"should get about {score(target(traces, scale), scale)}, {_BOUND[direction]}"


def phrase_guideline(
    phrase: str, direction: Direction, traces: Sequence[Trace], scale: Scale
) -> str:
    return f'Outputs reviewers would call "{phrase}" {anchored(traces, direction, scale)}.'


def phrase_evidence(
    phrase: str,
    contrast: Contrast,
    direction: Direction,
    after_feature: bool,
    traces: Sequence[Trace],
    scale: Scale,
) -> str:
    scope = " that no row feature explains" if after_feature else ""
    return (
        f'Reviewers wrote "{phrase}" on {share(contrast, direction, scope)}; '
        f"{score_pattern(traces, scale)}."
    )


def feature_guideline(
    feature: Feature, direction: Direction, traces: Sequence[Trace], scale: Scale
) -> str:
    return (
        f"{feature.advice[direction]}: when nothing else sets them apart, "
        f"{feature.describe} {anchored(traces, direction, scale)}."
    )


def feature_evidence(
    feature: Feature,
    contrast: Contrast,
    direction: Direction,
    traces: Sequence[Trace],
    scale: Scale,
) -> str:
    return (
        f"Row feature, {feature.key}: {share(contrast, direction)}; {score_pattern(traces, scale)}."
    )


_QUOTED = re.compile(r'["“]([^"“”]+)["”]')


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words(text) if w not in STOPWORDS)


def repeats(existing: Sequence[str], *keys: str) -> bool:
    """Whether a current guideline already makes this point: it holds every content word of
    a key (as stems: "ignores" is in "ignore"), or a phrase it quotes makes the same point."""
    for old in existing:
        quoted = [normalized(q) for q in _QUOTED.findall(old)]
        old_stems = _stems(old)
        for key in keys:
            key_stems = _stems(key)
            if key_stems and key_stems <= old_stems:
                return True
            if any(q and same_point(normalized(key), q) for q in quoted):
                return True
    return False


def same_text(existing: Sequence[str], text: str) -> bool:
    return any(normalized(old) == normalized(text) for old in existing)
