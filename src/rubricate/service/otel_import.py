"""Import OpenTelemetry files (OTLP JSON lines): GenAI spans become rows, and
``gen_ai.evaluation.result`` events judge results or annotations, through the same
all-or-nothing, idempotent import as the other layouts (service/importing.py).

Two passes over the files: spans first, so that an event may come before its span (a
logs file named before a traces file); each pass streams a line at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rubricate.domain.errors import InvalidInput
from rubricate.io.otel_events import EVALUATION_EVENT, Evaluation, evaluation_of
from rubricate.io.otel_records import OtlpLine, Span, attributes
from rubricate.io.otel_spans import (
    context_text,
    input_text,
    model_of,
    output_text,
    row_id,
    small_attributes,
    span_attributes,
)
from rubricate.io.places import Where
from rubricate.io.readers import not_utf8, parse_line, text_lines
from rubricate.io.records import FlatAnnotation, FlatRow
from rubricate.service.import_batches import Item, Target
from rubricate.service.importing import Importer, ImportReport, Progress, import_records
from rubricate.store.database import Database
from rubricate.store.judge_listing import metric_names

SUFFIXES = (".json", ".jsonl")


@dataclass
class OtelImportReport(ImportReport):
    spans_skipped: int = 0  # spans without a GenAI input and output (HTTP, database, ...)
    log_records_skipped: int = 0  # log records that are not evaluation results


def otel_files(paths: Sequence[Path]) -> list[Path]:
    """The files to read: each file given, and the .json/.jsonl files of a folder, by name."""
    if not paths:
        raise InvalidInput("give at least one file", field="path")
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
            if not found:
                raise InvalidInput(f"{path} holds no .json or .jsonl file", field="path")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InvalidInput(f"no such file or folder: {path}", field="path")
    return files


def import_otel(
    db: Database,
    paths: Sequence[Path],
    evaluation: str,
    *,
    metric: str | None = None,
    description: str | None = None,
    dry_run: bool = False,
    batch_size: int = 2000,
    progress: Progress | None = None,
) -> OtelImportReport:
    """Import OTLP JSON files; with ``metric``, every evaluation event is stored under that
    metric (the files may then hold events of one evaluation name only)."""
    files = otel_files(paths)
    report = OtelImportReport(evaluation)

    def fill(importer: Importer) -> None:
        reader = _Reader(importer, report, metric, batch_size, progress or (lambda _: None))
        reader.spans(files)
        reader.events(files)

    import_records(db, evaluation, fill, description=description, dry_run=dry_run, report=report)
    return report


def _lines(file: Path) -> Iterator[tuple[int, OtlpLine | None]]:
    """Each line parsed (None for a blank line), errors naming FILE:LINE and field."""
    for line in text_lines(file):
        if line.bad is not None:
            raise not_utf8(line, file=str(file), field=None)
        if not line.text.strip():
            yield line.number, None
            continue
        parsed = parse_line(OtlpLine, line.text, file=str(file), line=line.number)
        given = (parsed.resource_spans, parsed.resource_logs, parsed.resource_metrics)
        if all(part is None for part in given):
            raise InvalidInput(
                "neither resourceSpans nor resourceLogs: expected an OTLP JSON export "
                "request (the Collector's file exporter writes one a line)",
                file=str(file),
                line=line.number,
            )
        yield line.number, parsed


class _Reader:
    def __init__(
        self,
        importer: Importer,
        report: OtelImportReport,
        metric: str | None,
        batch_size: int,
        progress: Progress,
    ) -> None:
        self.importer, self.report, self.metric = importer, report, metric
        self.batch_size, self.progress = batch_size, progress
        self.first_name: tuple[str, Where] | None = None  # with --metric: the one event name

    def spans(self, files: list[Path]) -> None:
        writer = self.importer.writer
        start = writer.base
        for file in files:
            # rows keep their order across files: each file's lines follow the last one's
            batch: list[tuple[int, FlatRow]] = []
            last = 0
            for number, parsed in _lines(file):
                last = number
                self.progress(1)
                for i, resource in enumerate((parsed.resource_spans or []) if parsed else []):
                    service = attributes(resource.resource.attributes).get("service.name")
                    for j, scope in enumerate(resource.scope_spans):
                        for k, span in enumerate(scope.spans):
                            place = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                            row = self._row(span, service, str(file), number, place)
                            if row is None:
                                self.report.spans_skipped += 1
                            else:
                                batch.append((number, row))
                if len(batch) >= self.batch_size:
                    writer.add_rows(str(file), batch)
                    batch = []
            if batch:
                writer.add_rows(str(file), batch)
            writer.base += last
        writer.base = start

    def _row(self, span: Span, service: Any, file: str, line: int, place: str) -> FlatRow | None:
        if span.trace_id is None or span.span_id is None:
            message = "a span needs traceId and spanId"
            raise InvalidInput(message, file=file, line=line, field=place)
        found = span_attributes(span)
        given, answer = input_text(found), output_text(found)
        if given is None or answer is None:
            return None
        otel = {"trace_id": span.trace_id, "span_id": span.span_id, "name": span.name}
        if span.parent_span_id:
            otel["parent_span_id"] = span.parent_span_id
        if isinstance(service, str):
            otel["service"] = service
        metadata: dict[str, Any] = {"otel": otel}
        if (model := model_of(found)) is not None:
            metadata["model"] = model
        if kept := small_attributes(found):
            metadata["attributes"] = kept
        fields = {
            "id": row_id(span.trace_id, span.span_id), "input": given, "output": answer,
            "context": context_text(found), "metadata": metadata,
        }  # fmt: skip
        try:
            return FlatRow.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join(str(part) for part in (place, *first["loc"]))
            raise InvalidInput(first["msg"], file=file, line=line, field=field) from None

    def events(self, files: list[Path]) -> None:
        for file in files:
            items: list[tuple[Where, Evaluation]] = []
            for number, parsed in _lines(file):
                self.progress(1)
                if parsed is not None:
                    items += self._line_events(str(file), number, parsed)
                if len(items) >= self.batch_size:
                    self._write(items)
                    items = []
            self._write(items)

    def _line_events(self, file: str, line: int, parsed: OtlpLine) -> list[tuple[Where, Any]]:
        found: list[tuple[Where, Any]] = []
        for i, resource in enumerate(parsed.resource_logs or []):
            for j, scope in enumerate(resource.scope_logs):
                for k, log in enumerate(scope.log_records):
                    given = attributes(log.attributes)
                    if log.body is not None and isinstance(body := log.body.plain(), dict):
                        given = body | given  # some emitters put the event's fields in its body
                    name = log.event_name or given.get("event.name")
                    if name != EVALUATION_EVENT:
                        self.report.log_records_skipped += 1
                        continue
                    where = Where(file, line, f"resourceLogs[{i}].scopeLogs[{j}]", "logRecords", k)
                    found.append(self._event(where, given, log.trace_id, log.span_id))
        for i, spans in enumerate(parsed.resource_spans or []):
            for j, spans_scope in enumerate(spans.scope_spans):
                for k, span in enumerate(spans_scope.spans):
                    for e, event in enumerate(span.events):
                        if event.name == EVALUATION_EVENT:
                            place = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                            where = Where(file, line, place, "events", e)
                            given = attributes(event.attributes)
                            found.append(self._event(where, given, span.trace_id, span.span_id))
        return found

    def _event(
        self, where: Where, given: dict[str, Any], trace: str | None, span: str | None
    ) -> tuple[Where, Evaluation]:
        def fail(message: str, attribute: str | None) -> InvalidInput:
            field = where.field if attribute is None else f"{where.field}.attributes[{attribute}]"
            return InvalidInput(message, file=where.file, line=where.line, field=field)

        record = evaluation_of(given, trace, span, fail)
        if self.metric is not None:
            if self.first_name is None:
                self.first_name = (record.metric, where)
            elif record.metric != self.first_name[0]:
                first, at = self.first_name
                raise fail(
                    f"evaluation {record.metric!r} beside {first!r} (line {at.line}): --metric "
                    f"stores one evaluation's results; import each evaluation's events on "
                    "their own",
                    "gen_ai.evaluation.name",
                )
            record = record.model_copy(update={"metric": self.metric})
        return where, record

    def _metric(self, where: Where, name: str) -> Target:
        try:
            return self.importer.metric(where, name)
        except InvalidInput:  # name the ones that exist, and the way to map a name
            known = ", ".join(metric_names(self.importer.session))
            raise where.error(
                f"no metric named {name!r} (metrics: {known}): create it (rubricate metrics "
                "create), or store the events under one of these with --metric",
                "metric",
            ) from None

    def _write(self, items: list[tuple[Where, Evaluation]]) -> None:
        if not items:
            return
        writer = self.importer.writer
        refs = writer.find_rows([record.row_id for _, record in items])
        annotations: list[Item] = []
        judged: list[Item] = []
        for where, record in items:
            ref = refs.get(record.row_id)
            if ref is None:
                trace, span = record.row_id.split("-")
                raise where.error(
                    f"span {span} of trace {trace} is not a row of this evaluation: import "
                    "the file that holds its trace too",
                    "spanId",
                )
            target = self._metric(where, record.metric)
            kind = annotations if isinstance(record, FlatAnnotation) else judged
            kind.append((where, ref, target, record))
        writer.add_annotations(annotations)
        writer.add_judge_results(judged)
