"""`rubricate import` and `rubricate export`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rubricate.cli._common import workspace
from rubricate.cli._otel import export_summary as otel_export_summary
from rubricate.cli._otel import import_otel, otel_skipped
from rubricate.cli._output import JsonFlag, counted, emit, print_json, progress_bar, say
from rubricate.domain.errors import RubricateError

if TYPE_CHECKING:
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
    otel = "otel"


class Format(StrEnum):
    """What the files are, when not rubricate's own layouts (told by their names)."""

    otel = "otel"


def import_data(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="A dataset folder (dataset.json + rows.jsonl), a folder of flat files "
            "(rows, annotations, judge_results, resolutions as .jsonl or .csv), or one flat "
            "file. With --format otel: OTLP JSON files (or folders of them), one or more.",
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
    file_format: Annotated[
        Format | None,
        typer.Option(
            "--format",
            help="otel: OpenTelemetry files (OTLP JSON lines, as the Collector's file "
            "exporter writes them): GenAI spans become rows, gen_ai.evaluation.result events "
            "judge results or annotations.",
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            "-m",
            help="With --format otel: the metric to store the evaluation events under "
            "(default: each event's gen_ai.evaluation.name).",
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="The description of a new evaluation.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count what would come in; keep nothing.")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Import rows, annotations, judge results and resolutions into an evaluation, all of it
    or nothing. Importing the same data again changes nothing."""
    rb = workspace(ctx)
    if file_format is Format.otel:
        if kind is not None:
            raise typer.BadParameter("--kind is for rubricate's flat files", param_hint="--kind")
        report: ImportReport = import_otel(rb, paths, evaluation, metric, description, dry_run,
                                           quiet=json_output)  # fmt: skip
        source = ", ".join(str(p) for p in paths)
    else:
        if metric is not None:
            raise typer.BadParameter("--metric is for --format otel", param_hint="--metric")
        if len(paths) != 1:
            raise typer.BadParameter("give one path (several only with --format otel)")
        path, chosen = paths[0], kind.value if kind else None
        with import_progress(path, chosen, quiet=json_output) as progress:
            report = rb.import_path(
                path,
                evaluation,
                kind=chosen,
                description=description,
                progress=progress,
                dry_run=dry_run,
            )
        source = str(path)
    emit(report, json_output, lambda done: import_summary(source, done))


@contextmanager
def import_progress(
    path: Path, kind: str | None = None, *, quiet: bool = False
) -> Iterator[ProgressCallback]:
    """A progress bar on stderr (drawn only on a terminal), advanced by the callback."""
    with progress_bar("Importing {task.description}", time_left=True, quiet=quiet) as bar:
        task = bar.add_task(path.name, total=expected_records(path, kind) or None)
        yield lambda lines: bar.advance(task, lines)


def expected_records(path: Path, kind: str | None = None) -> int:
    """About how many records an import will read, for the bar: line counts, cheaply, of
    the files the import itself will read."""
    from rubricate.io.layout import DATASET, plan

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
    if report.dry_run:
        return "Dry run, nothing kept. " + import_summary(
            source, dataclasses.replace(report, dry_run=False)
        ).replace("Imported ", "Would import ", 1)
    if not report.changed:
        return (
            f"Nothing changed: {report.evaluation} already holds everything in {source} "
            f"({counted(report.rows_unchanged, 'row')} unchanged)."
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
    return "\n".join(lines + otel_skipped(report))


def export_data(
    ctx: typer.Context,
    evaluation: Annotated[
        str, typer.Option("--evaluation", "-e", help="The evaluation to export.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The folder to write into (with --layout otel: the file)."
        ),
    ] = None,
    layout: Annotated[
        Layout,
        typer.Option(
            help="dataset: dataset.json + rows.jsonl; jsonl or csv: rows, annotations, "
            "judge_results and resolutions files; otel: judge results as OpenTelemetry "
            "gen_ai.evaluation.result events (OTLP JSON lines), tied to the spans the rows "
            "came from."
        ),
    ] = Layout.dataset,
    metric: Annotated[
        str | None,
        typer.Option("--metric", "-m", help="With --layout otel: only this metric's results."),
    ] = None,
    otlp_endpoint: Annotated[
        str | None,
        typer.Option(
            "--otlp-endpoint",
            help="With --layout otel: also POST the events to this OTLP/HTTP endpoint "
            "(JSON to /v1/logs; headers from OTEL_EXPORTER_OTLP_HEADERS).",
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Write an evaluation to a folder in a layout that `rubricate import` reads back."""
    rb = workspace(ctx)
    if layout is Layout.otel:
        from rubricate.service.otel_export import http_sender

        send = None if otlp_endpoint is None else http_sender(otlp_endpoint)
        otel = rb.export_otel(evaluation, out, metric=metric, send=send)
        if json_output:
            print_json(otel)
            return
        say(otel_export_summary(otel, otlp_endpoint))
        return
    if metric is not None or otlp_endpoint is not None:
        hint = "--metric" if metric is not None else "--otlp-endpoint"
        raise typer.BadParameter("is for --layout otel", param_hint=hint)
    if out is None:
        raise typer.BadParameter("give the folder to write into", param_hint="--out")
    report = rb.export(evaluation, out, layout=layout.value)
    if json_output:
        print_json(report)
        return
    say(export_summary(report))


def export_summary(report: ExportReport) -> str:
    lines = [
        f"Exported {report.evaluation} ({report.layout} layout): {counted(report.rows, 'row')}, "
        f"{counted(report.annotations, 'annotation')}, "
        f"{counted(report.judge_results, 'judge result')}, "
        f"{counted(report.resolutions, 'resolution')}.",
        *(f"  {file}" for file in report.files),
    ]
    return "\n".join(lines)
