"""Metrics (judges) and their immutable versions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}\Z")  # \Z: no trailing newline


class MetricKind(StrEnum):
    BUILTIN = "builtin"  # ships with rubricate, never modified
    CUSTOM = "custom"  # the user's, versioned


class VersionOrigin(StrEnum):
    BUILTIN = "builtin"  # the shipped prompt of a built-in metric
    MANUAL = "manual"  # written by hand
    FORK = "fork"  # forked from a built-in metric
    ALIGNMENT = "alignment"  # accepted from an alignment run
    IMPORT = "import"  # stands for scores imported from elsewhere


@dataclass(frozen=True, slots=True)
class MetricVersion:
    id: int
    metric_id: int
    number: int
    prompt: str
    guidelines: str
    scale: Scale
    origin: VersionOrigin
    created_at: datetime
    parent_version_id: int | None = None
    source_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class Metric:
    id: int
    name: str
    description: str
    kind: MetricKind
    created_at: datetime
    judge_model: str | None = None
    pinned_version: int | None = None  # a version number; None: the newest is active
    forked_from_id: int | None = None

    @property
    def is_builtin(self) -> bool:
        return self.kind is MetricKind.BUILTIN


def check_metric_name(name: str) -> str:
    """Names are used on the command line as NAME or NAME@VERSION, so keep them plain."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidInput(
            f"metric name {name!r} is not valid: use 1-100 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit",
            field="name",
        )
    return name


def active_version(metric: Metric, versions: Sequence[MetricVersion]) -> MetricVersion:
    """The version new evaluations use: the pinned one, else the newest."""
    if not versions:
        raise LookupError(f"metric {metric.name!r} has no versions")
    if metric.pinned_version is not None:
        for version in versions:
            if version.number == metric.pinned_version:
                return version
    return max(versions, key=lambda v: v.number)
