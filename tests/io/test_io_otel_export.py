"""Judge results exported as gen_ai.evaluation.result events: tied to their spans, read
back by import as the same results, and sent to an OTLP/HTTP endpoint (a local server)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.io.io_support import snapshot, stored
from tests.io.otel_support import Recorder, collector_style, hex_ids, write_lines
from tests.io.test_io_otel import files, metrics

from rubricate import Rubricate
from rubricate.domain.errors import Unavailable
from rubricate.service.otel_export import http_sender


def test_exported_events_import_back_as_the_same_judge_results(
    rb: Rubricate, tmp_path: Path
) -> None:
    metrics(rb)
    rec = Recorder()
    first = rec.span("chat", {"input.value": "q1", "output.value": "a1"})
    second = rec.span("chat", {"input.value": "q2", "output.value": "a2"})
    rec.evaluation(first, {"gen_ai.evaluation.name": "usefulness",
                           "gen_ai.evaluation.score.value": 4, "gen_ai.request.model": "m1",
                           "gen_ai.evaluation.explanation": "fine"})  # fmt: skip
    rec.evaluation(second, {"gen_ai.evaluation.name": "grounded",
                            "gen_ai.evaluation.score.value": 0.25})  # fmt: skip
    rec.evaluation(second, {"gen_ai.evaluation.name": "usefulness", "user.id": "ana",
                            "gen_ai.evaluation.source": "human",
                            "gen_ai.evaluation.score.value": 2})  # fmt: skip
    logs, traces = files(tmp_path, rec, collector_style)
    rb.import_otel([logs, traces], "bot")
    out = tmp_path / "out" / "results.jsonl"
    report = rb.export_otel("bot", out)
    assert (report.events, report.skipped_not_spans, report.skipped_errors) == (2, 0, 0)
    lines = out.read_text(encoding="utf-8").splitlines()
    records = [r for line in lines for r in json.loads(line)["resourceLogs"][0]["scopeLogs"][0]
               ["logRecords"]]  # fmt: skip
    assert [f"{r['traceId']}-{r['spanId']}" for r in records] == [
        hex_ids(first),
        hex_ids(second),
    ]  # the human's annotation is not a judge result: not exported
    assert all(r["eventName"] == "gen_ai.evaluation.result" for r in records)

    before = snapshot(rb)  # the events are the results already stored
    again = rb.import_otel([traces, out], "bot")
    assert not again.changed
    assert snapshot(rb) == before

    copy = rb.import_otel([traces, out], "copy")
    assert (copy.judge_results_added, copy.annotations_added) == (2, 0)
    assert stored(rb, "copy")["judge_results"] == stored(rb, "bot")["judge_results"]


def test_rows_that_are_not_spans_are_skipped(rb: Rubricate, tmp_path: Path) -> None:
    metrics(rb)
    rows = [{"id": "t1", "input": "q", "output": "a"}]
    judged = [{"row_id": "t1", "metric": "usefulness", "score": 2, "model": "m"}]
    write_lines(tmp_path / "rows.jsonl", [json.dumps(r) for r in rows])
    write_lines(tmp_path / "judge_results.jsonl", [json.dumps(r) for r in judged])
    rb.import_path(tmp_path, "plain")
    report = rb.export_otel("plain", tmp_path / "events.jsonl")
    assert (report.events, report.skipped_not_spans) == (0, 1)
    assert (tmp_path / "events.jsonl").read_text(encoding="utf-8") == ""


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], dict[str, Any]]]
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {key.lower(): value for key, value in self.headers.items()}
        self.received.append((self.path, headers, json.loads(body)))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, type[_Collector]]]:
    handler = type("Handler", (_Collector,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def test_events_are_posted_to_an_otlp_http_endpoint(
    rb: Rubricate,
    tmp_path: Path,
    collector: tuple[str, type[_Collector]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, handler = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cret%3D")
    metrics(rb)
    rec = Recorder()
    span = rec.span("chat", {"input.value": "q", "output.value": "a"})
    rec.evaluation(
        span, {"gen_ai.evaluation.name": "usefulness", "gen_ai.evaluation.score.value": 4}
    )
    rb.import_otel(files(tmp_path, rec, collector_style), "bot")
    report = rb.export_otel("bot", send=http_sender(url))
    assert (report.events, report.requests_sent, report.file) == (1, 1, None)
    ((path, headers, body),) = handler.received
    assert path == "/v1/logs" and headers["x-api-key"] == "s3cret="
    (record,) = body["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    assert f"{record['traceId']}-{record['spanId']}" == hex_ids(span)
    values = {a["key"]: a["value"] for a in record["attributes"]}
    assert values["gen_ai.evaluation.score.value"] == {"doubleValue": 4.0}
    assert values["gen_ai.evaluation.score.label"] == {"stringValue": "Good"}

    handler.status = 401
    with pytest.raises(Unavailable, match="OTEL_EXPORTER_OTLP_HEADERS"):
        rb.export_otel("bot", send=http_sender(url + "/v1/logs"))
