"""OpenTelemetry files made by the OpenTelemetry SDK itself: spans and log records
recorded in memory, encoded with the SDK's OTLP encoders and written as protobuf's JSON
(``MessageToJson``, ids in base64) or as the Collector's file exporter writes it (ids in
hex, the OTLP JSON rule)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToJson
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util.types import AttributeValue

EVALUATION = "gen_ai.evaluation.result"
ID_FIELDS = ("traceId", "spanId", "parentSpanId")


class Recorder:
    """Spans and log records of one fake GenAI app, recorded through the SDK."""

    def __init__(self, service: str = "support-bot") -> None:
        resource = Resource.create({"service.name": service})
        self.spans = InMemorySpanExporter()
        self.tracers = TracerProvider(resource=resource)
        self.tracers.add_span_processor(SimpleSpanProcessor(self.spans))
        self.tracer = self.tracers.get_tracer("app")
        self.logs = InMemoryLogRecordExporter()
        self.loggers = LoggerProvider(resource=resource)
        self.loggers.add_log_record_processor(SimpleLogRecordProcessor(self.logs))
        self.logger = self.loggers.get_logger("evaluator")

    def span(
        self,
        name: str,
        attributes: Mapping[str, AttributeValue],
        events: Sequence[tuple[str, Mapping[str, AttributeValue]]] = (),
        parent: ReadableSpan | None = None,
    ) -> ReadableSpan:
        context = None
        if parent is not None:
            context = trace.set_span_in_context(trace.NonRecordingSpan(parent.get_span_context()))
        with self.tracer.start_as_current_span(name, context=context) as span:
            span.set_attributes(attributes)
            for event, values in events:
                span.add_event(event, values)
        return self.spans.get_finished_spans()[-1]

    def evaluation(self, judged: ReadableSpan, attributes: Mapping[str, AttributeValue]) -> None:
        context = trace.set_span_in_context(trace.NonRecordingSpan(judged.get_span_context()))
        self.logger.emit(event_name=EVALUATION, attributes=attributes, context=context)

    def log(self, body: str) -> None:
        self.logger.emit(body=body)

    def trace_lines(self, per_line: int = 2) -> list[str]:
        spans = list(self.spans.get_finished_spans())
        chunks = [spans[i : i + per_line] for i in range(0, len(spans), per_line)]
        return [MessageToJson(encode_spans(chunk), indent=None) for chunk in chunks]

    def log_lines(self, per_line: int = 2) -> list[str]:
        logs = list(self.logs.get_finished_logs())
        chunks = [logs[i : i + per_line] for i in range(0, len(logs), per_line)]
        return [MessageToJson(encode_logs(chunk), indent=None) for chunk in chunks]


def collector_style(line: str) -> str:
    """A protobuf JSON line as the Collector writes it: trace and span ids in hex."""

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: base64.b64decode(value).hex() if key in ID_FIELDS else visit(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    return json.dumps(visit(json.loads(line)), separators=(",", ":"))


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def hex_ids(span: ReadableSpan) -> str:
    """The row id import gives a span: trace id and span id in hex."""
    context = span.get_span_context()
    return f"{context.trace_id:032x}-{context.span_id:016x}"
