"""The offline reflection engine (builtin:offline): guidelines from reviewers' phrases and
row features, each checked on small hand-made cases, plus a run over the real FeedbackQA
comments with a deterministic synthetic judge.

Phrases are checked here with a normalization of this file's own (lowercase, words of
letters, digits and apostrophes), not the engine's."""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from rubricate.domain.scale import Scale
from rubricate.domain.traces import Direction, Distillation, Guideline, ReviewerNote, Trace
from rubricate.models.offline import OFFLINE_ENGINE, distill_offline
from rubricate.models.offline.phrases import is_candidate

SCALE = Scale(type="ordinal", min=1, max=4)
NEUTRAL = [  # comments on agreeing rows: none of them is a test's phrase
    "Clear and complete.",
    "Covers the main points.",
    "Reasonable and accurate.",
    "Lists each step in order.",
    "Could be shorter.",
]
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def says(comment: str | None, phrase: str) -> bool:
    """Whether ``phrase`` is found verbatim in the comment, punctuation and case aside."""
    return bool(comment) and f" {phrase} " in f" {' '.join(words_of(comment or ''))} "


def quoted(guideline: Guideline) -> str | None:
    found = re.search(r'"([^"]+)"', guideline.text)
    return found.group(1) if found else None


def trace(
    row_id: int,
    judge: float,
    human: float,
    comments: Sequence[str | None],
    *,
    input: str = "Which seeds should I buy?",
    output: str = "Buy them from a local shop.",
) -> Trace:
    notes = tuple(ReviewerNote(f"r{i}", human, c) for i, c in enumerate(comments))
    return Trace(row_id, f"ext-{row_id}", input, output, judge, human, reviewers=notes)


def agreeing_rows(start: int, count: int, human: float, **texts: str) -> list[Trace]:
    return [
        trace(start + i, human, human, [NEUTRAL[i % len(NEUTRAL)]], **texts) for i in range(count)
    ]


def background() -> list[Trace]:
    """Agreeing rows with human scores 2 and 4 whose comments say nothing in particular."""
    return agreeing_rows(100, 20, 2) + agreeing_rows(200, 20, 4)


def lenient(ids: Iterable[int], comment: str, **texts: str) -> list[Trace]:
    return [trace(i, 4, 2, [comment, "Good answer."], **texts) for i in ids]


def distill(
    disagreements: Sequence[Trace],
    agreeing: Sequence[Trace],
    *,
    max_guidelines: int = 8,
    existing: Sequence[str] = (),
) -> Distillation:
    result = distill_offline(
        disagreements, agreeing, scale=SCALE, max_guidelines=max_guidelines, existing=existing
    )
    assert result.engine == OFFLINE_ENGINE
    assert any("offline engine" in note for note in result.notes)
    return result


def test_a_phrase_of_lenient_disagreements_rare_among_agreeing_rows_is_a_guideline() -> None:
    result = distill(lenient(range(1, 6), "It ignores the safety warning."), background())

    assert len(result.guidelines) == 1
    (guideline,) = result.guidelines
    assert guideline.direction is Direction.TOO_LENIENT
    assert guideline.row_ids == (1, 2, 3, 4, 5)
    assert quoted(guideline) == "ignores the safety warning"
    # The guideline names the condition and the score reviewers give, on the scale; the
    # training statistics are evidence for people, never text for the judge.
    assert guideline.text == (
        'Outputs reviewers would call "ignores the safety warning" should get about 2, not more.'
    )
    assert "the judge gave 4 where reviewers gave 2 on all 5 rows" in guideline.evidence
    assert "5 of 5 disagreements" in guideline.evidence


@pytest.mark.parametrize("agreeing_say_it", [True, False])
def test_a_phrase_as_common_among_agreeing_rows_of_the_same_human_score_is_none(
    agreeing_say_it: bool,
) -> None:
    # Against all agreeing rows the phrase would look rare (10 of 40); against those with
    # the disagreements' human score (2) it is as common as among the disagreements.
    same_score = [
        trace(100 + i, 2, 2, ["It skips the dosage." if agreeing_say_it else NEUTRAL[i % 5]])
        for i in range(10)
    ]
    agreeing = same_score + agreeing_rows(200, 30, 4)
    result = distill(lenient(range(1, 6), "It skips the dosage."), agreeing)

    phrases = [quoted(g) for g in result.guidelines]
    if agreeing_say_it:
        assert phrases == []
        assert any("explain none of the 5" in note for note in result.notes)
    else:
        assert phrases == ["skips the dosage"]


@pytest.mark.parametrize(
    "comment", ["Good answer, very helpful.", "Great answer!", "Not helpful at all.", "Poor."]
)
def test_generic_praise_or_complaint_is_never_a_guideline(comment: str) -> None:
    result = distill(lenient(range(1, 9), comment), background())
    assert result.guidelines == ()
    assert any("explain none" in note for note in result.notes)


@pytest.mark.parametrize(
    ("phrase", "generic"),
    [
        (("good", "answer"), True),
        (("not", "helpful"), True),
        (("great",), True),
        (("poor", "answer"), True),
        (("excellent",), True),
        (("very", "good"), True),
        (("does", "not", "answer", "question"), True),
        (("too", "much", "information"), False),
        (("not", "relevant"), False),
        (("missing", "steps"), False),
    ],
)
def test_which_phrases_are_generic(phrase: tuple[str, ...], generic: bool) -> None:
    assert is_candidate(phrase) is not generic


@pytest.mark.parametrize("topical", [True, False])
def test_the_rows_own_topic_words_do_not_count(topical: bool) -> None:
    # The reviewers name the subject; it counts only when the row is not about it. "tomato"
    # in the texts also covers "tomatoes" in the comments.
    texts = (
        {"input": "Which tomato seeds should I buy?", "output": "Buy tomato seeds from a shop."}
        if topical
        else {}
    )
    result = distill(lenient(range(1, 7), "Tomatoes.", **texts), background())
    assert [quoted(g) for g in result.guidelines] == ([] if topical else ["tomatoes"])


def test_each_row_counts_in_one_group_and_directions_stay_apart() -> None:
    disagreements = [
        *lenient(range(1, 4), "Misses the dosage."),
        *(trace(i, 4, 2, ["Misses the dosage.", "Cites no sources."]) for i in range(4, 7)),
        *lenient(range(7, 10), "Cites no sources."),
        *(trace(i, 1, 3, ["A clear worked example."]) for i in range(20, 25)),
    ]
    agreeing = background() + agreeing_rows(300, 20, 3)
    result = distill(disagreements, agreeing)

    by_phrase = {quoted(g): g for g in result.guidelines}
    assert set(by_phrase) == {"misses the dosage", "cites no sources", "clear worked example"}
    lenient_rows = [set(g.row_ids) for g in result.guidelines if g.direction.name == "TOO_LENIENT"]
    assert set.union(*lenient_rows) == set(range(1, 10))
    assert sum(map(len, lenient_rows)) == 9  # no row in two groups
    assert by_phrase["clear worked example"].direction is Direction.TOO_HARSH
    assert by_phrase["clear worked example"].row_ids == (20, 21, 22, 23, 24)
    assert by_phrase["clear worked example"].text.endswith("should get about 3, not less.")
    # ranked by rows; the limit keeps the largest
    counts = [len(g.row_ids) for g in result.guidelines]
    assert counts == sorted(counts, reverse=True)
    (top,) = distill(disagreements, agreeing, max_guidelines=1).guidelines
    assert top == result.guidelines[0]


def test_the_same_rows_in_any_order_give_the_same_guidelines() -> None:
    disagreements = [
        *lenient(range(1, 7), "Misses the dosage."),
        *lenient(range(7, 11), "Cites no sources."),
        *(trace(i, 1, 3, ["A clear worked example."]) for i in range(20, 25)),
    ]
    agreeing = background() + agreeing_rows(300, 20, 3)
    first = distill(disagreements, agreeing)
    assert len(first.guidelines) == 3
    shuffled_d, shuffled_a = list(disagreements), list(agreeing)
    random.Random(7).shuffle(shuffled_d)
    random.Random(8).shuffle(shuffled_a)
    assert distill(shuffled_d, shuffled_a) == first
    assert distill(disagreements, agreeing) == first


def test_long_outputs_are_found_as_a_row_feature() -> None:
    long_output = " ".join(f"sentence{i}" for i in range(60))
    disagreements = [trace(i, 4, 2, [NEUTRAL[i % 5]], output=long_output) for i in range(1, 9)]
    agreeing = background() + [trace(400 + i, 2, 2, [None], output=long_output) for i in range(2)]
    result = distill(disagreements, agreeing)

    (guideline,) = result.guidelines
    assert guideline.text == (
        "Do not reward length: when nothing else sets them apart, outputs longer than 6 "
        "words should get about 2, not more."
    )
    assert "the judge gave 4 where reviewers gave 2 on all 8 rows" in guideline.evidence
    assert guideline.row_ids == tuple(range(1, 9))
    assert "long outputs" in guideline.evidence


def test_reviewers_words_that_explain_nothing_say_so() -> None:
    comments = ["Alpha.", "Bravo.", "Charlie.", "Delta.", "Echo.", "Foxtrot."]
    disagreements = [trace(i + 1, 4, 2, [c]) for i, c in enumerate(comments)]
    result = distill(disagreements, background())
    assert result.guidelines == ()
    assert (
        "Reviewers' words explain none of the 6 disagreements where the judge was too lenient."
        in result.notes
    )


def test_rows_without_comments_or_without_agreeing_rows_say_why_nothing_is_found() -> None:
    silent = distill([trace(i, 4, 2, [None, " "]) for i in range(1, 7)], background())
    assert silent.guidelines == ()
    assert any("left no comments on the 6" in note for note in silent.notes)
    alone = distill(lenient(range(1, 7), "It ignores the safety warning."), [])
    assert alone.guidelines == ()
    assert any("no agreeing rows to compare with" in note for note in alone.notes)


def test_no_disagreements_no_guidelines() -> None:
    result = distill([], background())
    assert result.guidelines == ()
    assert any("no disagreements" in note for note in result.notes)


def test_a_guideline_the_prompt_already_has_is_not_repeated() -> None:
    disagreements = [
        *lenient(range(1, 7), "It ignores the safety warning."),
        *lenient(range(7, 11), "Cites no sources."),
    ]
    (first, second) = distill(disagreements, background()).guidelines
    again = distill(disagreements, background(), existing=[first.text]).guidelines
    assert again == (second,)
    # said in other words, without quotes: neither the phrase nor a part of it comes back
    reworded = ["Mark down outputs that ignore a safety warning."]
    assert distill(disagreements, background(), existing=reworded).guidelines == (second,)


# The real data: FeedbackQA, 1,995 rows, three reviewers each with a one-sentence comment.


def _content(text: str) -> set[str]:
    return {w for w in words_of(text) if len(w) > 3}


def feedbackqa_traces(folder: Path) -> list[Trace]:
    """Human: the median of the three reviewers. A synthetic judge with three planted flaws:
    it misses what reviewers call off topic (2 points too high wherever a comment says "off
    topic"), it underrates what they call direct (1 point too low where a comment says
    "directly") and it marks short outputs down (1 point, under 80 words)."""
    traces = []
    with (folder / "rows.jsonl").open(encoding="utf-8") as lines:
        for row_id, line in enumerate(lines):
            row = json.loads(line)
            notes = row["annotations"]["answer_quality"]
            human = float(statistics.median(n["score"] for n in notes))
            if any(says(n["comment"], "off topic") for n in notes):
                judge = min(4.0, human + 2)
            elif human >= 2 and any(says(n["comment"], "directly") for n in notes):
                judge = human - 1
            elif len(words_of(row["output"])) < 80:
                judge = max(1.0, human - 1)
            else:
                judge = human
            reviewers = tuple(ReviewerNote(n["annotator"], n["score"], n["comment"]) for n in notes)
            traces.append(
                Trace(
                    row_id,
                    row["id"],
                    row["input"],
                    row["output"],
                    judge,
                    human,
                    None,
                    None,
                    reviewers,
                )
            )
    return traces


def test_feedbackqa_guidelines_rest_on_reviewers_phrases(shared_data: Path) -> None:
    traces = feedbackqa_traces(shared_data / "feedbackqa")
    disagreements = [t for t in traces if t.judge_score != t.human_score]
    agreeing = [t for t in traces if t.judge_score == t.human_score]
    scale = Scale(
        type="ordinal",
        min=1,
        max=4,
        labels={1: "Bad", 2: "Could be Improved", 3: "Acceptable", 4: "Excellent"},
    )
    started = time.perf_counter()
    result = distill_offline(disagreements, agreeing, scale=scale)
    seconds = time.perf_counter() - started

    print(f"\n{len(disagreements)} disagreements, {len(agreeing)} agreeing, {seconds:.2f} s")
    for guideline in result.guidelines:
        print(f"- {guideline.text}\n  {guideline.evidence}")
    for note in result.notes:
        print(f"note: {note}")

    assert seconds < 10
    by_id = {t.row_id: t for t in disagreements}
    seen: set[int] = set()
    phrase_guidelines = 0
    for guideline in result.guidelines:
        assert len(guideline.row_ids) >= 3
        assert list(guideline.row_ids) == sorted(set(guideline.row_ids))
        assert set(guideline.row_ids) <= by_id.keys()
        assert not seen & set(guideline.row_ids)  # a row counts in one guideline
        seen |= set(guideline.row_ids)
        rows = [by_id[i] for i in guideline.row_ids]
        assert all(r.direction is guideline.direction for r in rows)
        phrase = quoted(guideline)
        if phrase is None:
            continue
        phrase_guidelines += 1
        # verbatim in the comments of at least 3 supporting rows that are not about its words
        holding = [
            r
            for r in rows
            if any(says(n.comment, phrase) for n in r.reviewers)
            and not set(phrase.split()) & set(words_of(r.input + " " + r.output))
        ]
        assert len(holding) >= 3, phrase
    assert phrase_guidelines >= 1
    # the planted flaws are found, each the largest group of reviewers' words in its direction
    largest: dict[Direction, str | None] = {}
    for guideline in result.guidelines:
        if quoted(guideline):
            largest.setdefault(guideline.direction, quoted(guideline))
    assert "topic" in (largest[Direction.TOO_LENIENT] or "").split()
    assert "directly" in (largest[Direction.TOO_HARSH] or "").split()
    assert any(g.text.startswith("Do not mark short outputs down") for g in result.guidelines)
