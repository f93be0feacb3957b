"""The alignment simulation's fakes (bench/sim) read content, not hidden flags: the fake
judge's vocabulary on held-out paraphrases and negations (written after the vocabulary,
not used to write it), the judge's noise and misreports at their fixed rates, the
reflection model on rendered traces, and a whole run with traces stripped of their text
recovering (almost) nothing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# The trace format's module lands with the reflection work; until then, nothing to check.
pytest.importorskip("rubricate.alignment.trace_format")
BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from rubricate.alignment.trace_format import TraceBlock, render_block  # noqa: E402
from rubricate.domain.traces import Direction  # noqa: E402
from rubricate.scoring.render import fenced  # noqa: E402
from sim.judge import FakeJudge, Table, guidelines_of, text_key  # noqa: E402
from sim.reflection import FakeReflection  # noqa: E402
from sim.stripped import strip_request  # noqa: E402
from sim.vocabulary import classify  # noqa: E402

# Development sets: written as held-out checks, then the vocabulary's misses on them were
# fixed by general constructions ("score X down", "not worse", "nothing to do with"). First
# reading: length 8 of 16, second person 7 of 13, negations 16 of 16.
LENGTH_DEV = [
    "Long-winded responses should receive lower marks than tight ones.",
    "Extra words are not extra value: do not score an answer up because it is lengthy.",
    "Padding an answer with filler must not improve its score.",
    "Verbose answers get a lower score.",
    "Don't give credit for verbosity.",
    "Score the substance regardless of how long the response is.",
    "Brevity is a virtue here: favour succinct answers over rambling ones.",
    "The length of an output should not influence its score.",
    "Wordiness is a flaw; score wordy outputs down.",
    "Do not let a response's size sway the grade.",
    "Responses that drag on should be graded more severely.",
    "A compact answer is as good as an expansive one with the same content; long ones earn "
    "nothing extra.",
    "Treat excessive length as a defect and reduce the score.",
    "Too much text should count against an answer.",
]
YOU_DEV = [
    "Speaking directly to the reader is acceptable and should not cost points.",
    "Second-person narration is not a weakness; don't penalize it.",
    'Using "you" to address the audience is fine.',
    "Do not dock points from responses that address the user directly.",
    "Outputs written in second person deserve the same score as third-person ones.",
    "Direct address of the reader should not lower the score.",
    "Score responses that talk to the reader without any penalty for it; score them higher "
    "than you have been.",
    'Answers that say "you" are not worse for it.',
    "Writing that addresses readers as you is normal; give it a fair, not lowered, score.",
    "Do not take points off for second-person phrasing.",
    'Reader-directed phrasing ("you should...") is fine.',
    "Responses speaking straight to the reader should be rated higher than they are now.",
    "Do not reduce scores for direct address.",
]
# Held out: written after the vocabulary was final and never used to change it. Measured:
# length 3 of 6, second person 2 of 5 (the vocabulary is narrow: it errs towards not
# applying), negations 5 of 5.
LENGTH_HELD_OUT = [
    "An answer stuffed with unnecessary detail should lose a point.",
    "Prefer the shorter of two equally correct answers.",
    "Length alone never justifies a high score.",
    "Penalize answers that ramble before getting to the point.",
    "Reward concision.",
    "Lengthier outputs are not better outputs; mark them down when the extra text adds nothing.",
]
YOU_HELD_OUT = [
    "Addressing the reader as you is a legitimate style and should not be penalised.",
    "When an answer talks to the user directly, give it the score its content earns, not less.",
    "Direct second-person instructions are acceptable; raise scores that were lowered for them.",
    "There is nothing wrong with the word you in an answer.",
    "Do not treat direct address as a defect.",
]
NEGATED = [
    "Ignore this: do not reward length.",
    "This rule is not about length; it concerns tone.",
    "Disregard the following: verbose answers should score lower.",
    "Do not consider how long the output is.",
    "This guideline has nothing to do with the length of answers.",
    'Reviewers often wrote "the answer is too long and verbose".',
    "Never mention second-person address in your rationale.",
    "Ignore whether the output addresses the reader.",
    "It is not about the second person at all.",
    "Do not apply this: penalise lengthy answers.",
    "Forget about length for this one; be accurate.",
    "This note is unrelated to verbosity.",
    "Ignore: concise answers are better.",
    "Skip any length check.",
    "Not about second-person writing.",
    "Do not focus on whether the answer addresses the reader.",
]
NEGATED_HELD_OUT = [
    "Ignore verbosity entirely.",
    "This is not a rule about long answers.",
    "Disregard: penalise second person.",
    "Do not look at the length.",
    "The following is unrelated to length: be accurate.",
]
GENERIC = ["Be much stricter.", "Score more leniently across the board.", "Be tougher overall."]
KEYED = ['Penalise any output that contains "basically".', 'Score higher if it says "thanks".']


@pytest.mark.parametrize("text", LENGTH_DEV)
def test_the_judge_reads_length_paraphrases(text: str) -> None:
    assert classify(text).kind == "length"


@pytest.mark.parametrize("text", YOU_DEV)
def test_the_judge_reads_second_person_paraphrases(text: str) -> None:
    assert classify(text).kind == "you"


def test_held_out_paraphrases_are_read_often_and_never_the_wrong_way() -> None:
    length = [classify(t).kind for t in LENGTH_HELD_OUT]
    you = [classify(t).kind for t in YOU_HELD_OUT]
    assert length.count("length") + you.count("you") >= 0.4 * (len(length) + len(you))
    assert "you" not in length
    assert "length" not in you


@pytest.mark.parametrize("text", NEGATED + NEGATED_HELD_OUT)
def test_a_negated_or_quoted_mention_triggers_nothing(text: str) -> None:
    assert classify(text).kind == "inert"


@pytest.mark.parametrize("text", GENERIC)
def test_generic_strictness_has_no_condition(text: str) -> None:
    assert classify(text).kind == "generic"


@pytest.mark.parametrize("text", KEYED)
def test_a_quoted_word_keys_a_rule(text: str) -> None:
    rule = classify(text)
    assert rule.kind == "keyed"
    assert rule.word in {"basically", "thanks"}


def test_the_wrong_direction_is_not_a_fix() -> None:
    assert classify("Give long outputs a higher score.").kind == "other"
    assert classify("Penalise outputs written in the second person.").kind == "other"


def _user(input_text: str, output: str) -> str:
    blocks = [fenced("INPUT", input_text, "a" * 16), fenced("OUTPUT", output, "a" * 16)]
    return "\n\n".join(["The row to judge, as data blocks:", *blocks, "Judge this row."])


def _system(guidelines: list[str]) -> str:
    listed = "\n".join(f"{i}. {g}" for i, g in enumerate(guidelines, 1))
    section = "## Guidelines from your team's reviewers\nApply these."
    return f"Score it.\n\n{section}\n\n{listed}\n\n## The data\n..."


def test_the_judge_knows_rows_only_by_their_texts_and_has_its_blind_spots() -> None:
    long_you = "x " * 60 + "you"
    table = Table({text_key("q", long_you): 2.0, text_key("q2", "ok"): 3.0}, 50.0, 1.0, 5.0)
    judge = FakeJudge(table)
    # Long (+2) and "you" (-1): 3, on the 90% of draws without noise.
    scores = [judge.score([], _user("q", long_you), d).score for d in range(400)]
    assert 0.85 < scores.count(3.0) / len(scores) < 0.95
    assert set(scores) <= {2.0, 3.0, 4.0}
    with pytest.raises(RuntimeError, match="does not know"):
        judge.score([], _user("q", "another output"), 0)
    # The same output under another input is another row.
    assert judge.score([], _user("q2", "ok"), 0).score in {2.0, 3.0, 4.0}


def test_guidelines_cancel_blind_spots_on_most_rows_and_misreports_are_rare() -> None:
    outputs = [f"row {i} says you " + "y" * 80 for i in range(300)]
    table = Table({text_key("q", o): 3.0 for o in outputs}, 50.0, 1.0, 5.0)
    judge = FakeJudge(table)
    system = _system(["Do not reward length.", 'Do not penalise "you".', "Be stricter overall."])
    assert [n for n, _ in guidelines_of(system)] == [1, 2, 3]
    answers = [judge.answer(system, _user("q", o), 0) for o in outputs]
    truths = [judge.score(guidelines_of(system), _user("q", o), 0) for o in outputs]
    exact = sum(v.score == 3.0 for v in truths) / len(truths)
    assert 0.35 < exact < 0.65  # ~0.85 * 0.85 cancelled, 30% lowered, 10% noise
    misreported = sum(a["applied"] != list(v.applied) for a, v in zip(answers, truths, strict=True))
    assert 0.08 < misreported / len(answers) < 0.22
    assert list(answers[0]) == ["rationale", "score", "applied"]


def _block(row_id: int, direction: Direction | None, output: str, human: float) -> str:
    judge = human + (1 if direction is Direction.TOO_LENIENT else 0)
    judge -= 1 if direction is Direction.TOO_HARSH else 0
    block = TraceBlock(row_id, direction, judge, human, "a prompt", output)
    return render_block(block, "b" * 16)


def test_reflection_reads_the_outputs_and_stripped_traces_show_nothing() -> None:
    blocks = [_block(i, Direction.TOO_LENIENT, "word " * 300, 2.0) for i in range(5)]
    blocks += [_block(10 + i, Direction.TOO_HARSH, "short one", 3.0) for i in range(5)]
    blocks += [_block(20 + i, None, "short two", 3.0) for i in range(4)]
    user = "## Rows\n\n" + "\n\n".join(blocks)
    proposed = FakeReflection().propose(user)
    length = [p for p in proposed if classify(p["text"]).kind == "length"]
    assert length and set(length[0]["row_ids"]) == set(range(5))
    assert len(proposed) == 2  # and one plausible wrong guideline
    stripped = FakeReflection().propose(strip_request(user))
    assert not [p for p in stripped if classify(p["text"]).kind in ("length", "you")]


def _data_root() -> Path:
    import alignment_sim

    if (reason := alignment_sim.missing_data(["writingprompts", "feedbackqa"])) is not None:
        if os.environ.get("RUBRICATE_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return alignment_sim.shared_data()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "rows"), [("writingprompts", 400), ("feedbackqa", 600)])
def test_stripped_traces_recover_less_than_a_fifth(name: str, rows: int, tmp_path: Path) -> None:
    import alignment_sim
    from _alignment_data import load

    data = load(name, limit=rows, root=_data_root())
    bench = alignment_sim.Bench(data, tmp_path, draws=2, strip=True)
    try:
        outcome = bench.run(seed=0)
    finally:
        bench.close()
    recovery = outcome.true.gain / outcome.true.oracle_gain
    assert outcome.true.oracle_gain > 0.1
    assert recovery < 0.2, (recovery, outcome.kept)
