"""Export judge results as OpenTelemetry ``gen_ai.evaluation.result`` events: log records
tied to the judged span, in OTLP JSON (one ExportLogsServiceRequest a line), to a file and
optionally to an OTLP/HTTP endpoint (the CLI's; never a URL from the web or the API).

Only rows that came from a span (their id is ``TRACEID-SPANID``) can be tied to one; the
judge results of other rows are skipped and counted, as are results without a score (a
judge that failed): an event without its span would judge nothing a trace viewer shows.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from rubricate.domain.errors import InvalidInput, NotFound, Unavailable
from rubricate.domain.scale import Scale
from rubricate.io.otel_events import (
    EVALUATION_EVENT,
    EXPLANATION,
    LABEL,
    NAME,
    SCORE,
    SOURCE_KEYS,
    VERSION,
)
from rubricate.io.otel_spans import span_of
from rubricate.io.writers import AtomicFiles
from rubricate.service.evaluations import find_evaluation
from rubricate.service.metrics import load_versions
from rubricate.store.database import Database
from rubricate.store.judge_listing import ListedResult, judge_results, metric_names

RECORDS_PER_LINE = 500  # log records per export request (a line, or one POST)
Send = Callable[[bytes], None]  # posts one ExportLogsServiceRequest (JSON bytes)
SEVERITY_INFO = 9


@dataclass
class OtelExportReport:
    evaluation: str
    events: int = 0
    skipped_not_spans: int = 0  # results of rows that did not come from a span
    skipped_errors: int = 0  # results without a score
    file: Path | None = None
    requests_sent: int = 0
    metrics: list[str] = field(default_factory=list)


def export_otel(
    db: Database, evaluation: str, out: Path | None, *, metric: str | None, send: Send | None
) -> OtelExportReport:
    if out is None and send is None:
        raise InvalidInput("give a file to write, or an OTLP endpoint", field="out")
    if out is not None and out.is_dir():
        raise InvalidInput(f"{out} is a folder: give the file to write", field="out")
    report = OtelExportReport(evaluation)
    with db.read() as session:
        record = find_evaluation(session, evaluation)
        if metric is not None and metric not in (names := metric_names(session)):
            raise NotFound(f"no metric named {metric!r} (metrics: {', '.join(names)})")
        scales: dict[int, Scale] = {}

        def scale_of(found: ListedResult) -> Scale:
            if found.version_id not in scales:
                for version in load_versions(session, found.metric_id):
                    scales[version.id] = version.scale
            return scales[found.version_id]

        with ExitStack() as stack:
            handle = None
            if out is not None:  # written beside its name, moved into place when whole
                out.parent.mkdir(parents=True, exist_ok=True)
                handle = stack.enter_context(AtomicFiles(out.parent)).open(out.name)

            def emit(batch: list[dict[str, Any]]) -> None:
                line = _request(batch)
                if handle is not None:
                    handle.write(line.decode("utf-8") + "\n")
                if send is not None:
                    send(line)
                    report.requests_sent += 1

            batch: list[dict[str, Any]] = []
            for found in judge_results(session, record.id, metric):
                event = _event(found, scale_of, report)
                if event is not None:
                    batch.append(event)
                if len(batch) == RECORDS_PER_LINE:
                    emit(batch)
                    batch = []
            if batch:
                emit(batch)
        report.file = out
    return report


def _event(
    found: ListedResult, scale_of: Callable[[ListedResult], Scale], report: OtelExportReport
) -> dict[str, Any] | None:
    span = span_of(found.row)
    if span is None:
        report.skipped_not_spans += 1
        return None
    if found.score is None:
        report.skipped_errors += 1
        return None
    report.events += 1
    if found.metric not in report.metrics:
        report.metrics.append(found.metric)
    values: list[tuple[str, dict[str, Any]]] = [
        ("event.name", {"stringValue": EVALUATION_EVENT}),
        (NAME, {"stringValue": found.metric}),
        (SCORE, {"doubleValue": found.score}),
    ]
    if (label := scale_of(found).label_of(found.score)) is not None:
        values.append((LABEL, {"stringValue": label}))
    if found.rationale:
        values.append((EXPLANATION, {"stringValue": found.rationale}))
    if found.model:
        values.append(("gen_ai.request.model", {"stringValue": found.model}))
    values += [
        (SOURCE_KEYS[0], {"stringValue": "llm_judge"}),
        (VERSION, {"intValue": str(found.version)}),
    ]
    at = found.created_at
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # stored as UTC
    nanos = str(int(at.timestamp() * 1_000_000) * 1000)
    return {
        "timeUnixNano": nanos,
        "observedTimeUnixNano": nanos,
        "severityNumber": SEVERITY_INFO,
        "eventName": EVALUATION_EVENT,
        "traceId": span[0],
        "spanId": span[1],
        "attributes": [{"key": key, "value": value} for key, value in values],
    }


def _request(records: list[dict[str, Any]]) -> bytes:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "rubricate"}}]}
    request = {
        "resourceLogs": [
            {
                "resource": resource,
                "scopeLogs": [{"scope": {"name": "rubricate"}, "logRecords": records}],
            }
        ]
    }
    return json.dumps(request, ensure_ascii=False, allow_nan=False).encode("utf-8")


def http_sender(endpoint: str, *, timeout: float = 30.0) -> Send:
    """POST each request to ``endpoint`` (``/v1/logs`` is added to a base URL), with the
    headers of ``OTEL_EXPORTER_OTLP_HEADERS`` (``key=value,...``, never shown)."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"{endpoint!r} is not an http(s) URL", field="endpoint")
    url = endpoint if parts.path.endswith("/v1/logs") else endpoint.rstrip("/") + "/v1/logs"
    headers = {"Content-Type": "application/json"} | _env_headers()

    def send(body: bytes) -> None:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise Unavailable(
                    f"{url} refused the request ({exc.code}): set its key in "
                    "OTEL_EXPORTER_OTLP_HEADERS"
                ) from None
            raise Unavailable(f"{url} answered {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unavailable(f"cannot reach {url}: {reason}") from None

    return send


def _env_headers() -> dict[str, str]:
    given = os.environ.get("OTEL_EXPORTER_OTLP_LOGS_HEADERS") or os.environ.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    headers: dict[str, str] = {}
    for pair in given.split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            headers[unquote(key.strip())] = unquote(value.strip())
    return headers
