"""A version's guidelines as the judge sees them: numbered "1. ...", "2. ...", so that the
judge can name the ones it applied and a reader can tell which one fired.

A version stores its guidelines as "- " lines (``AlignmentResult.guidelines_text``); a
person may have written them another way. Each bulleted or numbered line starts a
guideline, an unmarked line continues the one before (or starts the first), and the
numbering is redone, so numbering a numbered text changes nothing."""

from __future__ import annotations

import re

_MARK = re.compile(r"^(?:[-*•]|\d{1,3}[.)])\s+")


def guideline_items(text: str) -> list[str]:
    """The single guidelines of a guidelines section, without their marks."""
    items: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        mark = _MARK.match(stripped)
        if mark is not None:
            items.append(stripped[mark.end() :].strip())
        elif items:
            items[-1] = f"{items[-1]} {stripped}"
        else:
            items.append(stripped)
    return [item for item in items if item]


def numbered_guidelines(text: str) -> str:
    """The section numbered from 1, one guideline a line ("" for none)."""
    return "\n".join(f"{n}. {item}" for n, item in enumerate(guideline_items(text), start=1))
