"""The OTLP JSON encoding, as the OpenTelemetry Collector's file exporter writes it: one
ExportTraceServiceRequest or ExportLogsServiceRequest object a line.

Parsed here with pydantic, so that import needs no OpenTelemetry package. Unknown fields
are ignored (OTLP grows); field names are read in lowerCamelCase (the OTLP JSON spelling)
or snake_case (protobuf's own names). Trace and span ids are hex in OTLP JSON and base64 in
protobuf's generic JSON mapping (``MessageToJson``): both are read, and kept as lowercase
hex.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

_HEX = re.compile(r"[0-9a-fA-F]*")


def _id_hex(size: int) -> Any:
    """An id of ``size`` bytes as lowercase hex, from hex or base64; empty: none."""

    def read(value: Any) -> Any:
        if not isinstance(value, str) or value == "":
            return None if value in ("", None) else value
        if len(value) == 2 * size and _HEX.fullmatch(value):
            return value.lower()
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != size:
            raise ValueError(f"expected {2 * size} hex digits (or {size} bytes in base64)")
        return raw.hex()

    return read


TraceId = Annotated[str | None, BeforeValidator(_id_hex(16))]
SpanId = Annotated[str | None, BeforeValidator(_id_hex(8))]


class _Otlp(BaseModel):
    model_config = ConfigDict(
        extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class ArrayValue(_Otlp):
    values: list[AnyValue] = Field(default_factory=list)


class KeyValueList(_Otlp):
    values: list[KeyValue] = Field(default_factory=list)


class AnyValue(_Otlp):
    """One of its fields is set; ``intValue`` is a string in JSON (a 64-bit integer)."""

    string_value: str | None = None
    bool_value: bool | None = None
    int_value: int | None = None
    double_value: float | None = None
    array_value: ArrayValue | None = None
    kvlist_value: KeyValueList | None = Field(
        default=None, validation_alias=AliasChoices("kvlistValue", "kvlist_value")
    )
    bytes_value: str | None = None  # base64, kept as given

    def plain(self) -> Any:
        """The value as plain Python (str, bool, int, float, list, dict, or None)."""
        if self.string_value is not None:
            return self.string_value
        if self.bool_value is not None:
            return self.bool_value
        if self.int_value is not None:
            return self.int_value
        if self.double_value is not None:
            return self.double_value
        if self.array_value is not None:
            return [item.plain() for item in self.array_value.values]
        if self.kvlist_value is not None:
            return attributes(self.kvlist_value.values)
        return self.bytes_value


class KeyValue(_Otlp):
    key: str
    value: AnyValue = Field(default_factory=AnyValue)


def attributes(pairs: list[KeyValue]) -> dict[str, Any]:
    """Attributes as a dict; a key given twice keeps its first value."""
    found: dict[str, Any] = {}
    for pair in pairs:
        found.setdefault(pair.key, pair.value.plain())
    return found


class Resource(_Otlp):
    attributes: list[KeyValue] = Field(default_factory=list)


class SpanEvent(_Otlp):
    name: str = ""
    time_unix_nano: int = 0
    attributes: list[KeyValue] = Field(default_factory=list)


class Span(_Otlp):
    trace_id: TraceId = None
    span_id: SpanId = None
    parent_span_id: SpanId = None
    name: str = ""
    start_time_unix_nano: int = 0
    attributes: list[KeyValue] = Field(default_factory=list)
    events: list[SpanEvent] = Field(default_factory=list)


class ScopeSpans(_Otlp):
    spans: list[Span] = Field(default_factory=list)


class ResourceSpans(_Otlp):
    resource: Resource = Field(default_factory=Resource)
    scope_spans: list[ScopeSpans] = Field(default_factory=list)


class LogRecord(_Otlp):
    time_unix_nano: int = 0
    event_name: str = ""
    body: AnyValue | None = None
    attributes: list[KeyValue] = Field(default_factory=list)
    trace_id: TraceId = None
    span_id: SpanId = None


class ScopeLogs(_Otlp):
    log_records: list[LogRecord] = Field(default_factory=list)


class ResourceLogs(_Otlp):
    resource: Resource = Field(default_factory=Resource)
    scope_logs: list[ScopeLogs] = Field(default_factory=list)


class OtlpLine(_Otlp):
    """One line of a file exporter's output: traces, logs (metrics lines are skipped)."""

    resource_spans: list[ResourceSpans] | None = None
    resource_logs: list[ResourceLogs] | None = None
    resource_metrics: list[Any] | None = None


def finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)
