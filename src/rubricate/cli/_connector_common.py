"""What the connector commands (`rubricate import langfuse`, `rubricate import mlflow` and
their exports) share: the import options they spell alike, a progress bar per stage, and
the summary's lines for what an import skipped and what changed at the source since an
earlier import. The connector itself (rubricate.integrations) loads only when a command
runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Protocol, TypeVar

import typer

from rubricate.cli._output import counted, progress_bar

CHANGES_SHOWN = 20  # changed scores listed in a summary; --json lists all
TIME_FORMAT = "ISO 8601: 2025-05-01, 2025-05-01T12:00Z; UTC unless a zone is given"

DryRunImport = Annotated[
    bool, typer.Option("--dry-run", help="Read and count what would come in; keep nothing.")
]
MetricVersion = Annotated[
    int | None, typer.Option(min=1, help="The metric version. Default: the active one.")
]


def into_evaluation(default: str) -> Any:
    """The evaluation an import writes into (``--evaluation``, ``-e``), ``default`` when
    not given."""
    return typer.Option(
        "--evaluation", "-e", help=f"The evaluation to import into. Default: {default}."
    )


def under_metric(help: str) -> Any:
    """The metric an import's scores go under (``--metric``, ``-m``)."""
    return typer.Option("--metric", "-m", help=help)


# A connector's progress callback: (stage, amount done since the last call, total or None).
StageProgress = Callable[[str, int, int | None], None]


@contextmanager
def stage_bars(source: str, stages: Mapping[str, str], *, quiet: bool) -> Iterator[StageProgress]:
    """A bar per stage, made when the stage starts and named by ``stages``; a total given
    later (once it is known) replaces the one the bar began with."""
    with progress_bar(f"{source}: {{task.description}}", quiet=quiet) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stages.get(stage, stage), total=total)
            elif total is not None:
                bar.update(tasks[stage], total=total)
            bar.advance(tasks[stage], done)

        yield progress


def skipped_lines(skipped: Mapping[str, int], noun: str) -> list[str]:
    """An import summary's lines for what it read but skipped, by reason."""
    return [
        f"  skipped        {counted(number, noun)} {reason}"
        for reason, number in sorted(skipped.items())
    ]


class Changed(Protocol):
    """A score an earlier import stored that the source now gives otherwise (each
    connector's report has its own kind, with the source's value and id named its way)."""

    @property
    def kind(self) -> str: ...  # annotation or judge result
    @property
    def by(self) -> str: ...  # "" when none is known
    @property
    def trace_id(self) -> str: ...
    @property
    def stored(self) -> float | None: ...
    @property
    def comment_changed(self) -> bool: ...


C = TypeVar("C", bound=Changed)


def changed_lines(
    changes: Sequence[C],
    *,
    noun: str,
    source: str,
    comment: str,
    now: Callable[[C], float | None],
    ref: Callable[[C], str],
) -> list[str]:
    """An import summary's lines for scores changed at ``source`` since an earlier import
    (kept as stored), the first CHANGES_SHOWN of them one a line: ``noun`` is what the
    source calls a score, ``comment`` its comment; ``now`` gives a change's value at the
    source, ``ref`` the source's name of the score."""
    if not changes:
        return []
    lines = [
        f"  changed        {counted(len(changes), noun)} changed in {source} since an earlier "
        f"import, kept as stored (import into a new evaluation to take {source}'s):"
    ]
    for change in changes[:CHANGES_SHOWN]:
        by = f" by {change.by}" if change.by else ""
        note = f", {comment} changed" if change.comment_changed else ""
        lines.append(
            f"    {change.kind}{by} on trace {change.trace_id}: {_number(change.stored)} "
            f"stored, {_number(now(change))} in {source}{note} ({ref(change)})"
        )
    if len(changes) > CHANGES_SHOWN:
        lines.append(f"    and {len(changes) - CHANGES_SHOWN} more (--json lists all)")
    return lines


def _number(value: float | None) -> str:
    return "no score" if value is None else f"{value:g}"
