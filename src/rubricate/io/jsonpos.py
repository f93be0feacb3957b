"""Where things are in JSON text: the field at an offset (for a malformed line or a bad
byte) and the offset of a field (for errors in a multi-line document such as dataset.json).

A small tolerant scanner: it reads as far as it can and never raises, so that it can
name the field even in text that is not valid JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

Loc = tuple[int | str, ...]
_SPACE = frozenset(" \t\r\n")
_STOP = frozenset(' \t\r\n,:[]{}"')


def field_name(loc: Sequence[int | str]) -> str | None:
    """``('annotations', 'grammar', 1, 'score')`` -> ``annotations.grammar[1].score``."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(f".{item}" if parts else item)
    return "".join(parts) or None


def path_at(text: str, offset: int) -> Loc:
    """The path of the value (or key) being read at ``offset``."""
    path: Loc = ()
    for loc, start, end in _values(text):
        if start > offset:
            break
        path = loc
        if end > offset:
            break
    return path


def offset_of(text: str, loc: Sequence[int | str]) -> int | None:
    """Where the value at ``loc`` starts, or its nearest enclosing value that exists."""
    wanted = tuple(loc)
    best: tuple[int, int] | None = None  # (depth, offset)
    for found, start, _ in _values(text):
        if wanted[: len(found)] == found and (best is None or len(found) > best[0]):
            best = (len(found), start)
            if len(found) == len(wanted):
                break
    return None if best is None else best[1]


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _values(text: str) -> Iterator[tuple[Loc, int, int]]:
    """(path, start, end) of every value and key, in text order; a key is reported with
    the path it names. Containers end where they start (their children follow)."""
    stack: list[list[int | str | None]] = []  # [bracket, key or index]
    expecting_key = False
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in _SPACE or char == ":":
            i += 1
        elif char == '"':
            end = _string_end(text, i)
            if expecting_key and stack:
                stack[-1][1] = _key(text[i:end])
                expecting_key = False
            yield _path(stack), i, end
            i = end
        elif char in "{[":
            yield _path(stack), i, i + 1
            stack.append([char, None if char == "{" else 0])
            expecting_key = char == "{"
            i += 1
        elif char in "}]":
            if stack:
                stack.pop()
            expecting_key = False
            i += 1
        elif char == ",":
            if stack:
                top = stack[-1]
                if top[0] == "[" and isinstance(top[1], int):
                    top[1] += 1
                else:
                    top[1] = None
                    expecting_key = True
            i += 1
        else:
            end = i + 1
            while end < n and text[end] not in _STOP:
                end += 1
            yield _path(stack), i, end
            i = end


def _path(stack: list[list[int | str | None]]) -> Loc:
    path: list[int | str] = []
    for _, key in stack:
        if key is not None:
            path.append(key)
    return tuple(path)


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        elif text[i] == "\n":
            return i  # an unterminated string ends with its line
        else:
            i += 1
    return len(text)


def _key(token: str) -> str:
    try:
        value = json.loads(token)
    except ValueError:
        return token.strip('"')
    return value if isinstance(value, str) else token
