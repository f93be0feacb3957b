"""`rubricate import` and `rubricate export`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from rubricate.cli._common import workspace
from rubricate.cli._output import JsonFlag, err, print_json, say
from rubricate.domain.errors import RubricateError
from rubricate.io.layout import DATASET, plan
from rubricate.service.exporting import ExportReport
from rubricate.service.importing import ImportReport
from rubricate.service.importing import Progress as ProgressCallback


class Kind(StrEnum):
    """What a flat file holds (the service's FLAT_KINDS)."""

    rows = "rows"
    annotations = "annotations"
    judge_results = "judge_results"
    resolutions = "resolutions"


class Layout(StrEnum):
    """How an export is written (the service's LAYOUTS)."""

    dataset = "dataset"
    jsonl = "jsonl"
    csv = "csv"


def import_data(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            help="A dataset folder (dataset.json + rows.jsonl), a folder of flat files "
            "(rows, annotations, judge_results, resolutions as .jsonl or .csv), or one flat file.",
            show_default=False,
        ),
    ],
    evaluation: Annotated[
        str, typer.Option("--evaluation", "-e", help="The evaluation to import into.")
    ],
    kind: Annotated[
        Kind | None,
        typer.Option(help="What a single flat file holds, when its name does not say."),
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="The description of a new evaluation.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Import rows, annotations, judge results and resolutions into an evaluation, all of it
    or nothing. Importing the same data again changes nothing."""
    rb = workspace(ctx)
    chosen = kind.value if kind else None
    with import_progress(path, chosen, quiet=json_output) as progress:
        report = rb.import_path(
            path,
            evaluation,
            kind=chosen,
            description=description,
            progress=progress,
        )
    if json_output:
        print_json(report)
        return
    say(import_summary(str(path), report))


@contextmanager
def import_progress(
    path: Path, kind: str | None = None, *, quiet: bool = False
) -> Iterator[ProgressCallback]:
    """A progress bar on stderr (drawn only on a terminal), advanced by the callback."""
    console = err()
    with Progress(
        TextColumn("Importing {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    ) as bar:
        task = bar.add_task(path.name, total=expected_records(path, kind) or None)
        yield lambda lines: bar.advance(task, lines)


def expected_records(path: Path, kind: str | None = None) -> int:
    """About how many records an import will read, for the bar: line counts, cheaply, of
    the files the import itself will read."""
    try:
        files = plan(path, kind)
    except RubricateError:
        return 0  # the import reports what is wrong with the path
    return sum(_lines(file) for file_kind, file in files if file_kind != DATASET)


def _lines(path: Path) -> int:
    if not path.is_file():
        return 0
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    count += last != b"\n"
    return max(count - 1, 0) if path.suffix == ".csv" else count  # the CSV header


def import_summary(source: str, report: ImportReport) -> str:
    if not report.changed:
        return (
            f"Nothing changed: {report.evaluation} already holds everything in {source} "
            f"({report.rows_unchanged} rows unchanged)."
        )
    lines = [
        f"Imported {source} into {report.evaluation}"
        + (" (a new evaluation):" if report.evaluation_created else ":"),
        f"  rows           {report.rows_added} added, {report.rows_unchanged} unchanged",
        f"  annotations    {report.annotations_added} added",
        f"  judge results  {report.judge_results_added} added",
        f"  resolutions    {report.resolutions_added} added",
    ]
    if report.metrics_created:
        lines.append(f"  metrics        {', '.join(report.metrics_created)} created")
    return "\n".join(lines)


def export_data(
    ctx: typer.Context,
    evaluation: Annotated[
        str, typer.Option("--evaluation", "-e", help="The evaluation to export.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", file_okay=False, help="The folder to write into.")
    ],
    layout: Annotated[
        Layout,
        typer.Option(
            help="dataset: dataset.json + rows.jsonl; jsonl or csv: rows, annotations, "
            "judge_results and resolutions files."
        ),
    ] = Layout.dataset,
    json_output: JsonFlag = False,
) -> None:
    """Write an evaluation to a folder in a layout that `rubricate import` reads back."""
    report = workspace(ctx).export(evaluation, out, layout=layout.value)
    if json_output:
        print_json(report)
        return
    say(export_summary(report))


def export_summary(report: ExportReport) -> str:
    lines = [
        f"Exported {report.evaluation} ({report.layout} layout): {report.rows} rows, "
        f"{report.annotations} annotations, {report.judge_results} judge results, "
        f"{report.resolutions} resolutions.",
        *(f"  {file}" for file in report.files),
    ]
    return "\n".join(lines)
