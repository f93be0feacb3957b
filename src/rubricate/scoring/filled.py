"""A version's template as its judge sees it, for export: ``guidelines`` and ``scale``
filled in (expressions and ``{% if %}`` tests over them only), row variables and anything
about them left as Jinja, so that the text renders with a team's own rows.

Jinja has no partial evaluation, so the template is scanned into text and tags here, and
only the tags that depend on known values alone are decided."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from rubricate.domain.builtin_prompts import GUIDELINES_SECTION
from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import MetricVersion
from rubricate.scoring.guidelines import numbered_guidelines
from rubricate.scoring.render import scale_view
from rubricate.scoring.template import compile_template, run_template

_TRUSTED = frozenset({"guidelines", "scale"})  # known when exporting; row data is not
_BLOCK_OPENERS = frozenset(
    {"if", "for", "macro", "call", "filter", "with", "autoescape", "block", "trans"}
)


@dataclass(slots=True)
class _Text:
    text: str


@dataclass(slots=True)
class _Tag:
    """``{{ ... }}`` (``var``) or ``{% ... %}`` (a statement), or a comment or raw block
    (``verbatim``), with its whitespace-control marks (``-``, ``+`` or "")."""

    source: str
    kind: Literal["var", "stmt", "verbatim"]
    inner: str = ""
    keyword: str = ""
    left: str = ""
    right: str = ""


@dataclass(slots=True)
class _Plan:
    drop: set[int] = field(default_factory=set)  # statement tags folded away
    skip: set[int] = field(default_factory=set)  # branches not taken
    replace: dict[int, str] = field(default_factory=dict)  # var tags -> their text


def filled_template(version: MetricVersion) -> str:
    """The version's template as its judge sees it: ``guidelines`` and ``scale`` filled
    in (expressions and ``{% if %}`` tests over them only), the guidelines section
    appended when the template has none (as the renderer does); row variables and
    everything about them stay Jinja, so that the text renders with a team's own rows.
    Filled-in text is written so that Jinja renders it as it is."""
    guidelines = numbered_guidelines(version.guidelines)  # as render_prompt numbers them
    variables = {"guidelines": guidelines, "scale": scale_view(version.scale)}
    segments = _scan(version.prompt)
    plan = _Plan()
    _decide(segments, 0, len(segments), plan, variables)
    pieces = [s.text if isinstance(s, _Text) else s.source for s in segments]
    _apply_whitespace_control(segments, pieces, plan)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if index in plan.skip or index in plan.drop:
            continue
        out.append(escape_jinja(plan.replace[index]) if index in plan.replace else piece)
    text = "".join(out).rstrip()
    if "guidelines" not in compile_template(version.prompt).names and variables["guidelines"]:
        section = run_template(compile_template(GUIDELINES_SECTION).template, variables)
        text = f"{text}\n\n{escape_jinja(section.strip())}"
    return text + "\n"


def escape_jinja(text: str) -> str:
    """Source that Jinja renders as ``text``: a ``{`` that could open a tag is written
    as an expression."""
    return re.sub(r"\{(?=[{%#]|\Z)", '{{ "{" }}', text)


_OPENING = re.compile(r"\{[{%#]")


def _scan(source: str) -> list[_Text | _Tag]:
    """The template as literal text and tags, in order; the pieces join to ``source``."""
    segments: list[_Text | _Tag] = []
    position = 0
    while (found := _OPENING.search(source, position)) is not None:
        start = found.start()
        if start > position:
            segments.append(_Text(source[position:start]))
        opener = source[start + 1]
        if opener == "#":
            end = source.find("#}", start + 2)
            end = len(source) if end < 0 else end + 2
            segments.append(_Tag(source[start:end], "verbatim"))
            position = end
            continue
        close = "}}" if opener == "{" else "%}"
        end = _tag_end(source, start + 2, close)
        tag_source = source[start:end]
        body = tag_source[2:-2]
        left = body[0] if body[:1] in ("-", "+") else ""
        right = body[-1] if body[-1:] in ("-", "+") and len(body) > len(left) else ""
        inner = body[len(left) : len(body) - len(right)].strip()
        if opener == "{":
            segments.append(_Tag(tag_source, "var", inner, "", left, right))
            position = end
            continue
        keyword = inner.split(None, 1)[0] if inner else ""
        if keyword == "raw":
            closing = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
            match = closing.search(source, end)
            end = len(source) if match is None else match.end()
            segments.append(_Tag(source[start:end], "verbatim"))
        else:
            segments.append(_Tag(tag_source, "stmt", inner, keyword, left, right))
        position = end
    if position < len(source):
        segments.append(_Text(source[position:]))
    return segments


def _tag_end(source: str, position: int, close: str) -> int:
    """Where a tag that closes with ``close`` ends, skipping quoted strings."""
    quote = ""
    index = position
    while index < len(source):
        char = source[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif source.startswith(close, index):
            return index + 2
        index += 1
    return len(source)  # unterminated: the template would not have compiled


def _is_opener(tag: _Tag) -> bool:
    if tag.keyword in _BLOCK_OPENERS:
        return True
    return tag.keyword == "set" and "=" not in tag.inner  # {% set x %}...{% endset %}


def _chain(segments: Sequence[_Text | _Tag], start: int, stop: int) -> list[int] | None:
    """The indices of an ``if`` tag's ``elif``/``else`` tags and its ``endif``."""
    chain = [start]
    depth = 0
    for index in range(start + 1, stop):
        tag = segments[index]
        if not isinstance(tag, _Tag) or tag.kind != "stmt":
            continue
        if _is_opener(tag):
            depth += 1
        elif tag.keyword.startswith("end"):
            if depth == 0:
                if tag.keyword != "endif":
                    return None
                chain.append(index)
                return chain
            depth -= 1
        elif depth == 0 and tag.keyword in ("elif", "else"):
            chain.append(index)
    return None


def _known_value(source: str, variables: dict[str, object]) -> str | None:
    """``source`` rendered, when it refers to ``guidelines`` or ``scale`` and nothing
    else; None when it needs row data (or anything the template defines itself)."""
    try:
        compiled = compile_template(source)
    except InvalidInput:
        return None
    if not compiled.names or not compiled.names <= _TRUSTED:
        return None
    try:
        return run_template(compiled.template, variables)
    except InvalidInput:
        return None


def _decide(
    segments: Sequence[_Text | _Tag],
    start: int,
    stop: int,
    plan: _Plan,
    variables: dict[str, object],
) -> None:
    index = start
    while index < stop:
        tag = segments[index]
        if isinstance(tag, _Tag) and tag.kind == "var":
            value = _known_value("{{ " + tag.inner + " }}", variables)
            if value is not None:
                plan.replace[index] = value
        elif isinstance(tag, _Tag) and tag.kind == "stmt" and tag.keyword == "if":
            chain = _chain(segments, index, stop)
            taken = _taken_branch(segments, chain, variables) if chain else None
            if chain is not None and taken is not None:
                plan.drop.update(chain)
                for branch in range(len(chain) - 1):
                    first, last = chain[branch] + 1, chain[branch + 1]
                    if branch == taken:
                        _decide(segments, first, last, plan, variables)
                    else:
                        plan.skip.update(range(first, last))
                index = chain[-1] + 1
                continue
        index += 1


def _taken_branch(
    segments: Sequence[_Text | _Tag], chain: list[int], variables: dict[str, object]
) -> int | None:
    """Which branch an if-chain takes (``len(chain) - 1``: none), or None when a test
    needs row data."""
    outcomes: list[bool] = []
    for index in chain[:-1]:
        tag = segments[index]
        assert isinstance(tag, _Tag)
        if tag.keyword == "else":
            outcomes.append(True)
            continue
        words = tag.inner.split(None, 1)
        test = words[1] if len(words) > 1 else ""
        value = _known_value("{% if " + test + " %}1{% endif %}", variables)
        if value is None:
            return None
        outcomes.append(value == "1")
    return next((i for i, taken in enumerate(outcomes) if taken), len(chain) - 1)


def _apply_whitespace_control(
    segments: Sequence[_Text | _Tag], pieces: list[str], plan: _Plan
) -> None:
    """What Jinja would have done to the text around the tags that are folded away: its
    ``-`` marks, and trim_blocks and lstrip_blocks (the sandbox's settings)."""
    for index in sorted(plan.drop | set(plan.replace)):
        tag = segments[index]
        assert isinstance(tag, _Tag)
        statement = tag.kind == "stmt"
        before, after = index - 1, index + 1
        if before >= 0 and isinstance(segments[before], _Text):
            text = pieces[before]
            if tag.left == "-":
                pieces[before] = text.rstrip()
            elif statement and tag.left != "+":
                line_start = text.rfind("\n") + 1
                if (line_start > 0 or before == 0) and not text[line_start:].strip(" \t"):
                    pieces[before] = text[:line_start]
        if after < len(segments) and isinstance(segments[after], _Text):
            text = pieces[after]
            if tag.right == "-":
                pieces[after] = text.lstrip()
            elif statement and tag.right != "+":
                pieces[after] = text[2:] if text.startswith("\r\n") else text.removeprefix("\n")
