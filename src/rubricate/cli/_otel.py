"""The OpenTelemetry parts of `rubricate import --format otel` and
`rubricate export --layout otel`: a progress bar, the summaries, the endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rubricate.cli._output import counted, progress_bar, unsent
from rubricate.domain.errors import RubricateError

if TYPE_CHECKING:
    from rubricate.service.importing import ImportReport
    from rubricate.service.otel_export import OtelExportReport
    from rubricate.service.otel_import import OtelImportReport
    from rubricate.service.workspace import Rubricate


def import_otel(
    rb: Rubricate,
    paths: list[Path],
    evaluation: str,
    metric: str | None,
    description: str | None,
    dry_run: bool,
    *,
    quiet: bool,
) -> OtelImportReport:
    """Import OTLP JSON files with a bar over both passes (spans, then events)."""
    with progress_bar("Importing OpenTelemetry files", quiet=quiet) as bar:
        task = bar.add_task("otel", total=2 * _lines(paths) or None)
        return rb.import_otel(
            paths,
            evaluation,
            metric=metric,
            description=description,
            dry_run=dry_run,
            progress=lambda lines: bar.advance(task, lines),
        )


def _lines(paths: list[Path]) -> int:
    from rubricate.service.otel_import import otel_files

    try:
        files = otel_files(paths)
    except RubricateError:
        return 0  # the import says what is wrong
    total = 0
    for file in files:
        with file.open("rb") as handle:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return total


def otel_skipped(report: ImportReport) -> list[str]:
    """The lines an OpenTelemetry import adds to the summary: what it read but skipped."""
    spans = getattr(report, "spans_skipped", None)
    if spans is None:
        return []
    records = getattr(report, "log_records_skipped", 0)
    return [
        f"  skipped        {counted(spans, 'span')} without a GenAI input and output, "
        f"{counted(records, 'log record')} that are not evaluation results"
    ]


def export_summary(report: OtelExportReport, endpoint: str | None) -> str:
    where = [str(report.file)] if report.file else []
    if endpoint is not None:
        where.append(f"{endpoint} ({counted(report.requests_sent, 'request')})")
    lines = [
        f"Exported {counted(report.events, 'judge result')} of {report.evaluation} as "
        f"gen_ai.evaluation.result events to {' and '.join(where)}."
    ]
    lines += unsent(
        report.skipped_not_spans, "a span (nothing to tie an event to)", report.skipped_errors
    )
    return "\n".join(lines)
