"""Names people choose that become parts of URLs, paths and command lines: one rule for
each, checked where the thing is made (the service), so the CLI, the REST API, the web
and Python all refuse the same names. A name with ``/`` was once accepted, then
unreachable (404). Metric names follow ``domain.metrics.check_metric_name``."""

from __future__ import annotations

import re

from rubricate.domain.errors import InvalidInput
from rubricate.limits import NAME_MAX_CHARS

RUN_ID_MAX_CHARS = 64
_RUN_ID = re.compile(rf"[A-Za-z0-9_.\-]{{1,{RUN_ID_MAX_CHARS}}}")
_UNREACHABLE = re.compile(r"[/\\\x00-\x1f\x7f]")  # path separators, control characters


def check_evaluation_name(name: str, *, field: str = "evaluation") -> str:
    """An evaluation's name: any text of 1–200 characters that a URL path segment can
    carry, so no ``/``, ``\\`` or control character, and not ``.`` or ``..``."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("evaluation name must not be empty", field=field)
    if len(name) > NAME_MAX_CHARS:
        raise InvalidInput(
            f"evaluation name is longer than {NAME_MAX_CHARS} characters", field=field
        )
    if (bad := _UNREACHABLE.search(name)) is not None or name in {".", ".."}:
        shown = repr(bad[0]) if bad is not None else repr(name)
        raise InvalidInput(
            f"evaluation name {name!r} cannot hold {shown}: a name must not hold '/', '\\' "
            "or control characters, nor be '.' or '..' (it could not be opened by URL)",
            field=field,
        )
    return name


def check_run_id(run_id: str, *, field: str = "run_id") -> str:
    """A run id (the idempotency key of a start): 1–64 letters, digits, '_', '-' or '.',
    not ``.`` or ``..``; the same rule as the REST API's."""
    return _slug(run_id, "run id", field)


def check_queue_name(name: str, *, field: str = "name") -> str:
    """A review queue's name: the run id's rule (it is part of URLs and command lines)."""
    return _slug(name, "queue name", field)


def _slug(text: str, what: str, field: str) -> str:
    if not isinstance(text, str) or not _RUN_ID.fullmatch(text) or text in {".", ".."}:
        raise InvalidInput(
            f"{what} {text!r} is not valid: use 1-{RUN_ID_MAX_CHARS} letters, digits, "
            "'_', '-' or '.' (not '.' or '..')",
            field=field,
        )
    return text
