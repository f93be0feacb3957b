"""OpenTelemetry import: files the OpenTelemetry SDK wrote (its OTLP encoders, protobuf's
JSON or the Collector's hex ids) become rows, judge results and annotations, all or
nothing, and a second import changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.io.io_support import snapshot, stored
from tests.io.otel_support import Recorder, collector_style, hex_ids, write_lines

from rubricate import Rubricate
from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale

PROMPT = "Rate the answer {{ output }} to {{ input }}."
MESSAGES_IN = [{"role": "user", "parts": [{"type": "text", "content": "Can I skip a week?"}]}]
MESSAGES_OUT = [
    {"role": "assistant", "parts": [{"type": "text", "content": "Yes, in Settings."}],
     "finish_reason": "stop"},
]  # fmt: skip


def metrics(rb: Rubricate) -> None:
    scale = Scale(type="ordinal", min=1.0, max=5.0, labels={4.0: "Good"})
    rb.metrics.create("usefulness", scale=scale, prompt=PROMPT)
    rb.metrics.create("grounded", scale=Scale(type="interval", min=0.0, max=1.0), prompt=PROMPT)


def app() -> tuple[Recorder, dict[str, str]]:
    """Four GenAI spans in four conventions, an HTTP span, evaluations of three kinds."""
    rec = Recorder()
    chat = rec.span("chat gpt-4o", {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
        "gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": 12,
        "gen_ai.input.messages": json.dumps(MESSAGES_IN),
        "gen_ai.output.messages": json.dumps(MESSAGES_OUT),
    })  # fmt: skip
    flat = rec.span("openai.chat", {
        "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "Be brief.",
        "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "Where is my box?",
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "On its way.",
    }, parent=chat)  # fmt: skip
    evented = rec.span("chat", {"gen_ai.request.model": "gpt-4o"}, events=[
        ("gen_ai.content.prompt", {"gen_ai.prompt": "Refund?"}),
        ("gen_ai.content.completion", {"gen_ai.completion": "Within 30 days."}),
        ("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "usefulness",
                                      "gen_ai.evaluation.score.value": 3}),
    ])  # fmt: skip
    phoenix = rec.span("rag", {
        "openinference.span.kind": "CHAIN", "llm.model_name": "claude-sonnet-4",
        "input.value": "Do you ship to Oslo?", "output.value": "Not yet.",
        "retrieval.documents.0.document.content": "We ship within the EU.",
        "retrieval.documents.1.document.content": "Norway is not in the EU.",
    })  # fmt: skip
    rec.span("GET /health", {"http.request.method": "GET"})
    rec.evaluation(chat, {
        "gen_ai.evaluation.name": "usefulness", "gen_ai.evaluation.score.value": 4,
        "gen_ai.evaluation.score.label": "clear enough",
        "gen_ai.evaluation.explanation": "Answers the question.",
        "gen_ai.response.model": "gpt-4.1-mini",
    })  # fmt: skip
    rec.evaluation(chat, {
        "gen_ai.evaluation.name": "usefulness", "gen_ai.evaluation.score.label": "good",
        "gen_ai.evaluation.source": "human", "gen_ai.evaluation.annotator": "ana",
        "gen_ai.evaluation.explanation": "short",
    })  # fmt: skip
    rec.evaluation(phoenix, {
        "gen_ai.evaluation.name": "grounded", "gen_ai.evaluation.score.value": 0.0,
        "annotator_kind": "HUMAN", "user.id": "bo",
    })  # fmt: skip
    rec.log("not an evaluation")
    names = {"chat": hex_ids(chat), "flat": hex_ids(flat), "evented": hex_ids(evented),
             "phoenix": hex_ids(phoenix)}  # fmt: skip
    return rec, names


Style = Callable[[str], str]
STYLES = {"protobuf": lambda line: line, "collector": collector_style}


def files(tmp_path: Path, rec: Recorder, style: Style) -> list[Path]:
    traces = write_lines(tmp_path / "traces.jsonl", [style(x) for x in rec.trace_lines()])
    logs = write_lines(tmp_path / "logs.jsonl", [style(x) for x in rec.log_lines()])
    return [logs, traces]  # events before their spans: import reads spans first


@pytest.mark.parametrize("style", list(STYLES))
def test_genai_spans_and_evaluations_are_imported(
    rb: Rubricate, tmp_path: Path, style: str
) -> None:
    metrics(rb)
    rec, ids = app()
    report = rb.import_otel(files(tmp_path, rec, STYLES[style]), "bot")
    assert (report.rows_added, report.spans_skipped) == (4, 1)
    assert (report.judge_results_added, report.annotations_added) == (2, 2)
    assert report.log_records_skipped == 1
    held = stored(rb, "bot")
    rows = {row[0]: row for row in held["rows"]}
    assert list(rows) == [ids["chat"], ids["flat"], ids["evented"], ids["phoenix"]]
    assert rows[ids["chat"]][1:3] == ("Can I skip a week?", "Yes, in Settings.")
    assert rows[ids["flat"]][1:3] == ("system: Be brief.\n\nuser: Where is my box?", "On its way.")
    assert rows[ids["evented"]][1:3] == ("Refund?", "Within 30 days.")
    assert rows[ids["phoenix"]][1:4] == (
        "Do you ship to Oslo?",
        "Not yet.",
        "We ship within the EU.\n\nNorway is not in the EU.",
    )
    metadata = rows[ids["chat"]][5]
    assert metadata["model"] == "gpt-4o"
    assert metadata["otel"]["service"] == "support-bot"
    assert metadata["attributes"]["gen_ai.usage.input_tokens"] == 12
    assert "gen_ai.input.messages" not in metadata["attributes"]  # content is not metadata
    assert rows[ids["flat"]][5]["otel"]["parent_span_id"] == ids["chat"].split("-")[1]
    judged = {(j[0], j[4]): j for j in held["judge_results"]}
    assert judged[(ids["chat"], "gpt-4.1-mini")][5:7] == (4.0, "Answers the question.")
    assert judged[(ids["evented"], None)][5] == 3.0
    assert sorted(a[:4] for a in held["annotations"]) == sorted(
        [(ids["chat"], "usefulness", "ana", 4.0), (ids["phoenix"], "grounded", "bo", 0.0)]
    )


def test_importing_again_changes_nothing(rb: Rubricate, tmp_path: Path) -> None:
    metrics(rb)
    rec, _ = app()
    paths = files(tmp_path, rec, collector_style)
    rb.import_otel(paths, "bot")
    before = snapshot(rb)
    again = rb.import_otel(paths, "bot")
    assert not again.changed and again.rows_unchanged == 4
    assert snapshot(rb) == before


def test_a_dry_run_counts_and_keeps_nothing(rb: Rubricate, tmp_path: Path) -> None:
    metrics(rb)
    rec, _ = app()
    before = snapshot(rb)
    report = rb.import_otel(files(tmp_path, rec, collector_style), "bot", dry_run=True)
    assert (report.rows_added, report.judge_results_added, report.annotations_added) == (4, 2, 2)
    assert report.evaluation_created and report.dry_run
    assert snapshot(rb) == before


def test_a_malformed_line_names_file_and_line_and_nothing_is_imported(
    small_rb: Rubricate, tmp_path: Path
) -> None:
    metrics(small_rb)
    rec, _ = app()
    logs, traces = files(tmp_path, rec, collector_style)
    lines = traces.read_text(encoding="utf-8").splitlines()
    lines.insert(2, lines[0][:-20])  # cut short: rows of lines 1 and 2 are written by then
    write_lines(traces, lines)
    before = snapshot(small_rb)
    with pytest.raises(InvalidInput) as caught:
        small_rb.import_otel([logs, traces], "bot")
    assert caught.value.file == str(traces) and caught.value.line == 3
    assert "malformed JSON" in caught.value.message
    assert snapshot(small_rb) == before


@pytest.mark.parametrize(
    ("attributes", "field", "text"),
    [
        ({"gen_ai.evaluation.score.value": 2}, "attributes[gen_ai.evaluation.name]", "missing"),
        ({"gen_ai.evaluation.name": "usefulness", "gen_ai.evaluation.score.value": 9},
         "score", "outside the scale"),
        ({"gen_ai.evaluation.name": "usefulness", "gen_ai.evaluation.score.value": 2,
          "gen_ai.evaluation.source": "robot"},
         "attributes[gen_ai.evaluation.source]", "unknown source 'robot'"),
        ({"gen_ai.evaluation.name": "usefulness", "gen_ai.evaluation.score.value": 2,
          "annotator_kind": "HUMAN"}, "logRecords[0]", "names its reviewer"),
        ({"gen_ai.evaluation.name": "tone", "gen_ai.evaluation.score.value": 2},
         "metric", "no metric named 'tone'"),
    ],
)  # fmt: skip
def test_a_wrong_evaluation_names_its_field(
    rb: Rubricate, tmp_path: Path, attributes: dict[str, object], field: str, text: str
) -> None:
    metrics(rb)
    rec, _ = app()
    judged = rec.span("chat", {"input.value": "q", "output.value": "a"})
    paths = files(tmp_path, rec, collector_style)
    late = Recorder()
    late.evaluation(judged, attributes)  # type: ignore[arg-type]
    bad = write_lines(tmp_path / "late.jsonl", late.log_lines())
    before = snapshot(rb)
    with pytest.raises(InvalidInput) as caught:
        rb.import_otel([*paths, bad], "bot")
    assert (caught.value.file, caught.value.line) == (str(bad), 1)
    assert caught.value.field is not None and caught.value.field.endswith(field)
    assert caught.value.field.startswith("resourceLogs[0].scopeLogs[0].logRecords[0]")
    assert text in caught.value.message
    assert snapshot(rb) == before


def test_an_evaluation_of_a_span_not_imported_is_refused(rb: Rubricate, tmp_path: Path) -> None:
    metrics(rb)
    rec, ids = app()
    logs, _ = files(tmp_path, rec, collector_style)
    with pytest.raises(InvalidInput) as caught:
        rb.import_otel(logs, "bot")
    assert "is not a row of this evaluation" in caught.value.message
    assert ids["chat"].split("-")[1] in caught.value.message
    assert caught.value.field is not None and caught.value.field.endswith("spanId")


def test_metric_stores_one_evaluations_events_under_it(rb: Rubricate, tmp_path: Path) -> None:
    metrics(rb)
    rec = Recorder()
    span = rec.span("chat", {"input.value": "q", "output.value": "a"})
    rec.evaluation(span, {"gen_ai.evaluation.name": "Helpful?", "gen_ai.evaluation.score.value": 5})
    paths = files(tmp_path, rec, collector_style)
    report = rb.import_otel(paths, "bot", metric="usefulness")
    assert report.judge_results_added == 1
    assert stored(rb, "bot")["judge_results"][0][1:2] == ("usefulness",)
    rec.evaluation(span, {"gen_ai.evaluation.name": "Other", "gen_ai.evaluation.score.value": 1})
    with pytest.raises(InvalidInput, match="beside 'Helpful\\?'"):
        rb.import_otel(files(tmp_path, rec, collector_style), "bot2", metric="usefulness")


def test_a_file_that_is_not_otlp_is_refused(rb: Rubricate, tmp_path: Path) -> None:
    bad = write_lines(tmp_path / "rows.jsonl", ['{"id": "t1", "input": "q", "output": "a"}'])
    with pytest.raises(InvalidInput, match="neither resourceSpans nor resourceLogs") as caught:
        rb.import_otel(bad, "bot")
    assert (caught.value.file, caught.value.line) == (str(bad), 1)


def test_a_dry_run_of_flat_files_keeps_nothing_too(rb: Rubricate, tmp_path: Path) -> None:
    rows = write_lines(tmp_path / "rows.jsonl", ['{"id": "t1", "input": "q", "output": "a"}'])
    before = snapshot(rb)
    report = rb.import_path(rows, "plain", dry_run=True)
    assert (report.rows_added, report.evaluation_created, report.dry_run) == (1, True, True)
    assert snapshot(rb) == before


def test_a_span_twice_in_a_file_is_refused_and_in_two_files_read_once(
    rb: Rubricate, tmp_path: Path
) -> None:
    rec = Recorder()
    rec.span("chat", {"input.value": "q", "output.value": "a"})
    (line,) = [collector_style(x) for x in rec.trace_lines()]
    twice = write_lines(tmp_path / "twice.jsonl", [line, line])
    with pytest.raises(InvalidInput, match=r"duplicate id .* \(first on line 1\)") as caught:
        rb.import_otel(twice, "bot")
    assert (caught.value.file, caught.value.line) == (str(twice), 2)
    first = write_lines(tmp_path / "a.jsonl", [line])
    retried = write_lines(tmp_path / "b.jsonl", [line])  # a collector's retry, rotated
    report = rb.import_otel([first, retried], "bot")
    assert (report.rows_added, report.rows_unchanged) == (1, 1)


def test_a_bad_trace_id_names_its_field(rb: Rubricate, tmp_path: Path) -> None:
    rec = Recorder()
    rec.span("chat", {"input.value": "q", "output.value": "a"})
    line = json.loads(collector_style(rec.trace_lines()[0]))
    line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "xyz"
    bad = write_lines(tmp_path / "traces.jsonl", [json.dumps(line)])
    with pytest.raises(InvalidInput, match="expected 32 hex digits") as caught:
        rb.import_otel(bad, "bot")
    assert caught.value.line == 1
    assert caught.value.field == "resourceSpans[0].scopeSpans[0].spans[0].traceId"
