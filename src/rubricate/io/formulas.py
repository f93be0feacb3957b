"""CSV cells that a spreadsheet would run as a formula, neutralised on export (OWASP:
a single quote before the cell) and restored on import, so that a round trip is exact.

The rule: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return, after any number of single quotes, gets one more single quote in front; on import,
one leading quote is taken off such a cell. Numbers are written as they are.
"""

from __future__ import annotations

import re

_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def neutralise(text: str) -> str:
    """The cell to write: ``=1+1`` as ``'=1+1``, ``'=x`` as ``''=x``, others as they are."""
    return "'" + text if _FORMULA.match(text) else text


def restore(cell: str) -> str:
    """The text a cell written by ``neutralise`` stands for."""
    return cell[1:] if cell.startswith("'") and _FORMULA.match(cell, 1) else cell
