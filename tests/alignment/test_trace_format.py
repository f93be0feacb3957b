"""The trace format, written and read back by one module: what a reflection request holds
about each row is exactly what its reader finds, whatever the texts contain."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rubricate.alignment.contrast import Batch
from rubricate.alignment.reflection_prompt import Setting, batch_request
from rubricate.alignment.trace_format import (
    TraceBlock,
    data_blocks,
    parse_blocks,
    render_block,
    render_trace,
)
from rubricate.domain.scale import Scale
from rubricate.domain.traces import Direction, ReviewerNote, Trace
from rubricate.scoring.render import fence_for, render_prompt

SCALE = Scale(type="ordinal", min=1.0, max=5.0, labels={1.0: "Bad", 5.0: "Great"})

# Texts that look like the format itself: headers, notes, fences (of any fence), quotes.
TRICKY = [
    "### Row 3 (judge too harsh)",
    "### Row 9 (judge agrees; contested)",
    "Judge score: 1. Resolved human score: 5.",
    'Reviewer bob gave 4: "fine"',
    "Judge's rationale: none",
    "(Long texts are trimmed; the marks show where.)",
    "<<<BEGIN OUTPUT 0123456789abcdef>>>",
    "<<<END INPUT 0123456789abcdef>>>",
    "<<<END OUTPUT ffffffffffffffff>>>",
    "```",
    "````python",
    '"',
    " gave ",
    "  ",
    "\r",
    "",
]
texts = st.lists(st.sampled_from(TRICKY) | st.text(max_size=30), max_size=6).map("\n".join)
lines = st.text(max_size=40)  # names may hold anything; the format quotes what needs it
scores = st.integers(-20, 20).map(lambda n: n / 2)
notes = st.builds(
    ReviewerNote, annotator=lines | texts, score=scores, comment=st.none() | texts.filter(bool)
)
blocks = st.builds(
    TraceBlock,
    row_id=st.integers(1, 10**9),
    direction=st.none() | st.sampled_from(Direction),
    judge_score=scores,
    human_score=scores,
    input=texts,
    output=texts,
    context=st.none() | texts,
    judge_rationale=st.none() | texts.filter(bool),
    reviewers=st.lists(notes, max_size=3).map(tuple),
    trimmed=st.booleans(),
    contested=st.booleans(),
)


def fence_of(found: list[TraceBlock]) -> str:
    return fence_for([t for b in found for t in (b.input, b.output, b.context or "")])


@settings(max_examples=300, deadline=None)
@given(st.lists(blocks, min_size=1, max_size=4), texts)
def test_blocks_read_back_as_written_whatever_their_texts_hold(
    written: list[TraceBlock], around: str
) -> None:
    fence = fence_of(written)
    text = "\n\n".join([around, *(render_block(b, fence) for b in written), around])
    assert parse_blocks(text) == written


@settings(max_examples=100, deadline=None)
@given(blocks)
def test_a_reflection_request_reads_back_as_its_traces(block: TraceBlock) -> None:
    trace = Trace(
        row_id=block.row_id,
        external_id="e",
        input=block.input,
        output=block.output,
        judge_score=5.0,
        human_score=1.0,
        context=block.context or None,
        judge_rationale=block.judge_rationale,
        reviewers=block.reviewers,
        trimmed=block.trimmed,
    )
    contrast = TraceBlock.of(trace, agrees=True, contested=True)
    # The judge's prompt is fenced data too: a row block written inside it is no row.
    prompt = f"{block.output}\n{render_block(TraceBlock.of(trace), 'a' * 16)}"
    setting = Setting(scale=SCALE, delta=1.0, judge_prompt=prompt)
    request = batch_request(Batch((TraceBlock.of(trace),) * 2, (contrast,)), setting)
    assert parse_blocks(request.user) == [TraceBlock.of(trace)] * 2 + [contrast]


def test_the_format_of_a_disagreement_is_the_one_the_reflection_model_has_always_read() -> None:
    trace = Trace(
        row_id=17,
        external_id="q-17",
        input="How long?",
        output="Very long.",
        judge_score=5.0,
        human_score=2.5,
        judge_rationale="Thorough.",
        reviewers=(ReviewerNote("alice", 2.0, 'Too "long".'), ReviewerNote("bob", 3.0)),
        trimmed=True,
    )
    assert render_trace(trace, "f00d") == (
        "### Row 17 (judge too lenient)\n"
        "Judge score: 5. Resolved human score: 2.5.\n"
        "Judge's rationale: Thorough.\n"
        'Reviewer alice gave 2: "Too "long"."\n'
        "Reviewer bob gave 3\n"
        "(Long texts are trimmed; the marks show where.)\n"
        "<<<BEGIN INPUT f00d>>>\nHow long?\n<<<END INPUT f00d>>>\n"
        "<<<BEGIN OUTPUT f00d>>>\nVery long.\n<<<END OUTPUT f00d>>>"
    )


def test_contrast_rows_and_contested_rows_are_marked_in_the_header() -> None:
    trace = Trace(row_id=4, external_id="e", input="i", output="o", judge_score=3, human_score=3)
    agreeing = render_trace(trace, "ab", agrees=True, contested=True)
    assert agreeing.startswith("### Row 4 (judge agrees; contested)\n")
    (block,) = parse_blocks(agreeing)
    assert block.agrees and block.contested and block.direction is None
    # Within delta is "agrees" whatever the exact scores say.
    lenient = Trace(row_id=5, external_id="e", input="i", output="o", judge_score=4, human_score=3)
    assert parse_blocks(render_trace(lenient, "ab", agrees=True))[0].agrees
    assert parse_blocks(render_trace(lenient, "ab"))[0].direction is Direction.TOO_LENIENT


def test_multi_line_notes_are_indented_and_odd_reviewer_names_quoted() -> None:
    block = TraceBlock(
        row_id=1,
        direction=Direction.TOO_HARSH,
        judge_score=1,
        human_score=4,
        input="i",
        output="o",
        judge_rationale="Short.\n### Row 2 (judge too harsh)",
        reviewers=(ReviewerNote("a gave 5", 4, "fine\nreally"),),
    )
    text = render_block(block, "cd")
    assert "\n  ### Row 2 (judge too harsh)\n" in text
    assert 'Reviewer "a gave 5" gave 4: "fine\n  really"' in text
    assert parse_blocks(text) == [block]


def test_a_header_without_a_whole_block_is_passed_over() -> None:
    whole = render_block(TraceBlock(1, Direction.TOO_LENIENT, 5, 1, input="i", output="o"), "cd")
    text = "\n".join(["### Row 9 (judge too harsh)", "not scores", whole, "### Row 8 (agree)"])
    assert [b.row_id for b in parse_blocks(text)] == [1]
    assert parse_blocks(whole.rsplit("\n", 1)[0]) == []  # the output block never closes


@given(texts, texts, st.none() | texts)
def test_a_judge_message_reads_back_as_its_data_blocks(
    input: str, output: str, context: str | None
) -> None:
    rendered = render_prompt(
        "Score {{ output }} for {{ input }}{% if context %} given {{ context }}{% endif %}.",
        input=input,
        output=output,
        context=context,
        scale=SCALE,
    )
    expected = {"INPUT": input, "OUTPUT": output}
    if context is not None:
        expected["CONTEXT"] = context
    assert data_blocks(rendered.user) == expected
