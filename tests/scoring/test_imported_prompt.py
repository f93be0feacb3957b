"""The prompt of an imported metric version: written from the criterion, a valid template."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rubricate.domain.metrics import NAME_PATTERN
from rubricate.domain.scale import Scale
from rubricate.scoring import check_template, imported_prompt, render_prompt

LIKERT = Scale(
    type="ordinal",
    min=1.0,
    max=5.0,
    labels={1.0: "Bad", 2.0: "Poor", 3.0: "Fair", 4.0: "Good", 5.0: "Excellent"},
)


def test_prompt_states_the_criterion_and_the_scale() -> None:
    prompt = imported_prompt("tone", "Is the reply polite and warm?", LIKERT)
    check_template(prompt, scale=LIKERT)
    system = render_prompt(prompt, input="q", output="o", scale=LIKERT).system
    assert system.startswith("Score the output for tone: Is the reply polite and warm?.")
    assert "Use the scale 1–5 where 1 = Bad, 2 = Poor, 3 = Fair, 4 = Good, 5 = Excellent." in (
        system
    )
    assert "The input is [INPUT] and the output to score is [OUTPUT]." in system


def test_description_punctuation_and_blank_description() -> None:
    assert imported_prompt("tone", "Polite.  ", LIKERT).startswith(
        "Score the output for tone: Polite.\n"
    )
    assert imported_prompt("tone", "   ", LIKERT).startswith("Score the output for tone.\n")


def test_prompt_sends_context_and_expected_when_given() -> None:
    prompt = imported_prompt("faith", "Sticks to the sources", LIKERT)
    bare = render_prompt(prompt, input="q", output="o", scale=LIKERT)
    full = render_prompt(prompt, input="q", output="o", context="c", expected="e", scale=LIKERT)
    assert "CONTEXT" not in bare.user and "EXPECTED" not in bare.user
    assert "[CONTEXT]" in full.system and "[EXPECTED]" in full.system
    assert f"<<<BEGIN EXPECTED {full.fence}>>>\ne\n" in full.user


def test_prompt_shows_guidelines_so_alignment_can_refine_it() -> None:
    prompt = imported_prompt("tone", "Polite", LIKERT)
    with_guidelines = render_prompt(prompt, input="q", output="o", guidelines="- G1", scale=LIKERT)
    assert "## Guidelines" in with_guidelines.system and "1. G1" in with_guidelines.system
    assert "## Guidelines" not in render_prompt(prompt, input="q", output="o", scale=LIKERT).system


def test_other_scales() -> None:
    pass_fail = Scale(type="labels", labels={0.0: "fail", 1.0: "pass"})
    unit = Scale(type="interval", min=0.0, max=1.0)
    partly = Scale(type="ordinal", min=0.0, max=10.0, labels={0.0: "awful", 10.0: "perfect"})
    assert "Use the scale fail/pass where 0 = fail, 1 = pass." in imported_prompt(
        "a", "", pass_fail
    )
    assert "where 0 is the lowest score and 1 the highest." in imported_prompt("a", "", unit)
    assert "0 is the lowest score and 10 the highest; 0 = awful, 10 = perfect." in (
        imported_prompt("a", "", partly)
    )


def test_jinja_in_the_criterion_is_text() -> None:
    description = "Rates {{ 7*7 }} and {% endraw %} {# x #} {% for %}, ending in {"
    prompt = imported_prompt("weird{", description, LIKERT)
    check_template(prompt)
    system = render_prompt(prompt, input="q", output="o", scale=LIKERT).system
    assert f"Score the output for weird{{: {description}." in system


criterion = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    max_size=80,
)


@given(name=st.from_regex(NAME_PATTERN, fullmatch=True), description=criterion)
def test_any_criterion_gives_a_valid_prompt_that_quotes_it(name: str, description: str) -> None:
    prompt = imported_prompt(name, description, LIKERT)
    check_template(prompt)
    system = render_prompt(prompt, input="q", output="o", scale=LIKERT).system
    about = description.strip().rstrip(".")
    expected = (
        f"Score the output for {name}: {about}." if about else f"Score the output for {name}."
    )
    assert system.startswith(expected)
