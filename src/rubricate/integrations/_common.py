"""What the connectors (Langfuse, MLflow) share around an import and a way back, apart from
the import's writing (_import_write.py): the progress callback, the names an import
defaults to and checks, the refusal of a built-in metric for a source's judge scores, the
version whose scores go back and the source trace a row came from. Nothing here imports a
connector's client (MLflow stays unloaded until a connector function runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.metrics import MetricVersion, VersionOrigin
from rubricate.integrations._import_write import ConnectorPlan

if TYPE_CHECKING:
    from rubricate.service.workspace import Rubricate

Progress = Callable[[str, int, int | None], None]  # (stage, items done now, total)


def quiet(stage: str, done: int, total: int | None) -> None:
    """No progress shown."""


def chosen_name(
    given: str | None, default: str, check: Callable[[str], object], *, field: str, why: str
) -> str:
    """``given``, else ``default``, checked by ``check``: a default taken from the source
    that is not a valid name is an error (``why``) that says which option to give."""
    name = given if given is not None else default
    try:
        check(name)
    except InvalidInput as exc:
        if given is not None:
            raise
        raise InvalidInput(why, field=field) from exc
    return name


def refuse_builtin(rb: Rubricate, metric: str, plan: ConnectorPlan[Any], why: str) -> None:
    """A built-in metric's prompt scored none of the source's judge results: those not
    pinned to a version cannot go under it (``why`` says where to put them)."""
    if plan.create_metric or not any(r.metric_version is None for _, r in plan.judged):
        return
    if rb.metrics.get(metric).is_builtin:
        raise InvalidInput(why, field="metric")


def version_to_send(rb: Rubricate, ref: str, source: str, send: str) -> tuple[str, MetricVersion]:
    """The metric and the version ``ref`` names whose judge scores go back to ``source``:
    never the imported one (its results came from elsewhere; ``send`` is what to do)."""
    version = rb.metrics.version(ref)
    metric = ref.partition("@")[0]
    if version.origin is VersionOrigin.IMPORT:
        raise InvalidInput(
            f"version {version.number} of {metric!r} is the imported one: its judge results "
            f"came from elsewhere ({source} itself, perhaps); {send} of a version "
            "rubricate scored with (rubricate evaluate --metric ...), or name it with --version",
            field="version",
        )
    return metric, version


def not_scored(evaluation: str, metric: str, number: int, what: str) -> NotFound:
    """The error for an evaluation without ``what`` (judge results, scores) of the version."""
    return NotFound(
        f"{evaluation!r} holds no {what} of {metric!r} version {number}: "
        f"score it first (rubricate evaluate --metric {metric}@{number} "
        f"--evaluation {evaluation})"
    )


def source_trace(metadata: Any, source: str) -> str | None:
    """The trace in ``source`` a row came from, as its import recorded it in the row's
    metadata (``{source: {"trace_id": ...}}``)."""
    found = metadata.get(source) if isinstance(metadata, dict) else None
    trace_id = found.get("trace_id") if isinstance(found, dict) else None
    return trace_id if isinstance(trace_id, str) and trace_id else None
