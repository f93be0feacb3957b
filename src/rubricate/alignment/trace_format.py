"""How a trace is written into a reflection request, and read back: the one definition of
the format, which the reflection prompt, tests and benchmarks' fake models all use.

A block, one per row (lines in brackets only when they apply)::

    ### Row 17 (judge too lenient[; contested])
    Judge score: 5. Resolved human score: 2.
    [Judge's rationale: ...]
    [Reviewer alice gave 2: "..."]              (one line per reviewer; comment optional)
    [(Long texts are trimmed; the marks show where.)]
    <<<BEGIN INPUT fence>>> ... <<<END INPUT fence>>>
    [<<<BEGIN CONTEXT fence>>> ... <<<END CONTEXT fence>>>]
    <<<BEGIN OUTPUT fence>>> ... <<<END OUTPUT fence>>>

The header says "judge too lenient", "judge too harsh" or "judge agrees" (a contrast row:
judge and reviewers within delta); "; contested" marks a row whose reviewers are far apart.
Texts go verbatim into fenced blocks (scoring.render's fence, which none of them contains),
so the reader skips them whole: a block that holds "### Row" or fence-like lines cannot
start a row. A rationale or comment with line breaks continues on lines indented by two
spaces, so no line of it can pass for a header; a reviewer's name that could be misread
(empty, a line break, "gave", a leading quote) is written as a JSON string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rubricate.domain.traces import Direction, ReviewerNote, Trace
from rubricate.scoring.render import fenced

__all__ = [
    "AGREES",
    "TraceBlock",
    "data_blocks",
    "parse_blocks",
    "render_block",
    "render_trace",
]

AGREES = "judge agrees"  # the header's label of a contrast row
CONTESTED = "contested"
TRIMMED = "(Long texts are trimmed; the marks show where.)"
RATIONALE = "Judge's rationale: "
_CONTINUED = "  "  # the indent of a note's continuation lines

_LABELS = {d.label: d for d in Direction}
_HEADER = re.compile(
    rf"### Row (\d+) \(({'|'.join(map(re.escape, [*_LABELS, AGREES]))})(; {CONTESTED})?\)"
)
_SCORES = re.compile(r"Judge score: (\S+)\. Resolved human score: (\S+)\.")
_BEGIN = re.compile(r"<<<BEGIN ([A-Z]+) ([0-9a-f]+)>>>")
_REVIEWER = re.compile(r'Reviewer (.+?) gave (\S+?)(?:: "(.*)")?', re.S)


@dataclass(frozen=True, slots=True)
class TraceBlock:
    """One row of a reflection request, as written and as read back. ``direction`` is None
    for a contrast row (judge and reviewers agree within delta, whatever the exact scores);
    ``contested``: the reviewers are at least delta apart. Scores are written with ``:g``
    (six significant digits)."""

    row_id: int
    direction: Direction | None
    judge_score: float
    human_score: float
    input: str
    output: str
    context: str | None = None
    judge_rationale: str | None = None
    reviewers: tuple[ReviewerNote, ...] = ()
    trimmed: bool = False
    contested: bool = False

    @property
    def agrees(self) -> bool:
        return self.direction is None

    @classmethod
    def of(cls, trace: Trace, *, agrees: bool = False, contested: bool = False) -> TraceBlock:
        """The block of ``trace``; ``agrees`` for a contrast row."""
        return cls(
            row_id=trace.row_id,
            direction=None if agrees else trace.direction,
            judge_score=trace.judge_score,
            human_score=trace.human_score,
            input=trace.input,
            output=trace.output,
            context=trace.context or None,  # an empty context is not shown
            judge_rationale=trace.judge_rationale or None,
            reviewers=trace.reviewers,
            trimmed=trace.trimmed,
            contested=contested,
        )


def render_trace(trace: Trace, fence: str, *, agrees: bool = False, contested: bool = False) -> str:
    """The block of ``trace`` in a request whose texts ``fence`` (scoring.render.fence_for)
    does not occur in."""
    return render_block(TraceBlock.of(trace, agrees=agrees, contested=contested), fence)


def render_block(block: TraceBlock, fence: str) -> str:
    label = block.direction.label if block.direction else AGREES
    mark = f"; {CONTESTED}" if block.contested else ""
    lines = [
        f"### Row {block.row_id} ({label}{mark})",
        f"Judge score: {block.judge_score:g}. Resolved human score: {block.human_score:g}.",
    ]
    if block.judge_rationale:
        lines.append(_fold(RATIONALE + block.judge_rationale))
    for note in block.reviewers:
        comment = f': "{note.comment}"' if note.comment else ""
        lines.append(_fold(f"Reviewer {_name(note.annotator)} gave {note.score:g}{comment}"))
    if block.trimmed:
        lines.append(TRIMMED)
    lines.append(fenced("INPUT", block.input, fence))
    if block.context is not None:
        lines.append(fenced("CONTEXT", block.context, fence))
    lines.append(fenced("OUTPUT", block.output, fence))
    return "\n".join(lines)


def parse_blocks(text: str) -> list[TraceBlock]:
    """Every trace block of a request's text, in order. Anything else (headings, a header
    not followed by a whole block) is passed over, and a fenced block outside a row (the
    judge's prompt) is skipped whole: nothing in it can pass for a row."""
    lines = text.split("\n")
    found: list[TraceBlock] = []
    at = 0
    while at < len(lines):
        read = _read_block(lines, at) if _HEADER.fullmatch(lines[at]) else None
        if read is not None:
            block, at = read
            found.append(block)
        elif (fenced_block := _read_fenced(lines, at)) is not None:
            at = fenced_block[2]
        else:
            at += 1
    return found


def data_blocks(text: str) -> dict[str, str]:
    """The fenced data blocks of a message that holds one row (a judge's user message), by
    name: INPUT, OUTPUT, and CONTEXT, EXPECTED, METADATA when sent."""
    lines = text.split("\n")
    found: dict[str, str] = {}
    at = 0
    while at < len(lines):
        read = _read_fenced(lines, at)
        if read is None:
            at += 1
            continue
        name, body, at = read
        found.setdefault(name, body)
    return found


# -- reading -------------------------------------------------------------------------------


def _read_block(lines: Sequence[str], at: int) -> tuple[TraceBlock, int] | None:
    """The block whose header is ``lines[at]`` and the index after it; None when what
    follows the header is not a whole block."""
    header = _HEADER.fullmatch(lines[at])
    scores = _SCORES.fullmatch(lines[at + 1]) if at + 1 < len(lines) else None
    if header is None or scores is None:
        return None
    judge, human = _number(scores.group(1)), _number(scores.group(2))
    if judge is None or human is None:
        return None
    at += 2
    rationale: str | None = None
    reviewers: list[ReviewerNote] = []
    trimmed = False
    for note in _notes(lines, at):
        at += note.count("\n") + 1
        if note.startswith(RATIONALE):
            rationale = note[len(RATIONALE) :]
        elif note == TRIMMED:
            trimmed = True
        elif (reviewer := _reviewer(note)) is not None:
            reviewers.append(reviewer)
    texts: dict[str, str] = {}
    for name in ("INPUT", "CONTEXT", "OUTPUT"):
        read = _read_fenced(lines, at)
        if read is not None and read[0] == name:
            texts[name], at = read[1], read[2]
        elif name != "CONTEXT":
            return None
    label = header.group(2)
    block = TraceBlock(
        row_id=int(header.group(1)),
        direction=None if label == AGREES else _LABELS[label],
        judge_score=judge,
        human_score=human,
        input=texts["INPUT"],
        output=texts["OUTPUT"],
        context=texts.get("CONTEXT"),
        judge_rationale=rationale,
        reviewers=tuple(reviewers),
        trimmed=trimmed,
        contested=header.group(3) is not None,
    )
    return block, at


def _notes(lines: Sequence[str], at: int) -> Iterator[str]:
    """The note lines after the scores, each with its continuation lines unfolded, up to
    the first fenced block (or a line that cannot be a note)."""
    while at < len(lines) and not _BEGIN.fullmatch(lines[at]):
        if lines[at].startswith(_CONTINUED) or _HEADER.fullmatch(lines[at]):
            return
        end = at + 1
        while end < len(lines) and lines[end].startswith(_CONTINUED):
            end += 1
        yield "\n".join([lines[at], *(line[len(_CONTINUED) :] for line in lines[at + 1 : end])])
        at = end


def _read_fenced(lines: Sequence[str], at: int) -> tuple[str, str, int] | None:
    """The fenced block opening at ``lines[at]``: its name, text and the index after it."""
    begin = _BEGIN.fullmatch(lines[at]) if at < len(lines) else None
    if begin is None:
        return None
    name, fence = begin.groups()
    end = f"<<<END {name} {fence}>>>"
    for index in range(at + 1, len(lines)):
        if lines[index] == end:
            return name, "\n".join(lines[at + 1 : index]), index + 1
    return None


def _reviewer(note: str) -> ReviewerNote | None:
    name: object
    if note.startswith('Reviewer "'):
        try:
            name, end = json.JSONDecoder().raw_decode(note, len("Reviewer "))
        except json.JSONDecodeError:
            return None
        match = _REVIEWER.fullmatch("Reviewer x" + note[end:])
    else:
        match = _REVIEWER.fullmatch(note)
        name = match.group(1) if match else None
    score = _number(match.group(2)) if match else None
    if match is None or score is None or not isinstance(name, str):
        return None
    return ReviewerNote(name, score, match.group(3))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# -- writing -------------------------------------------------------------------------------


def _fold(note: str) -> str:
    """A note over several lines: each line after the first indented, so none of them
    reads as a header, a note or a fence."""
    return note.replace("\n", "\n" + _CONTINUED)


def _name(annotator: str) -> str:
    if annotator and "gave" not in annotator and "\n" not in annotator and annotator[0] != '"':
        return annotator
    return json.dumps(annotator, ensure_ascii=False)
