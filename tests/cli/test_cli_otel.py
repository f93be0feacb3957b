"""`rubricate import --format otel` and `rubricate export --layout otel`, on files the
OpenTelemetry SDK wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.io.otel_support import Recorder, collector_style, hex_ids, write_lines

from rubricate.domain.scale import Scale

if TYPE_CHECKING:
    from conftest import Cli


def otel_files(tmp_path: Path) -> tuple[list[Path], str]:
    rec = Recorder()
    asked, answered = [{"role": "user", "content": "q"}], [{"role": "assistant", "content": "a"}]
    chat = rec.span("chat", {"gen_ai.input.messages": json.dumps(asked),
                             "gen_ai.output.messages": json.dumps(answered)})  # fmt: skip
    rec.span("GET /", {"http.request.method": "GET"})
    rec.evaluation(chat, {"gen_ai.evaluation.name": "Useful?", "gen_ai.evaluation.score.value": 4,
                          "gen_ai.request.model": "judge-1"})  # fmt: skip
    rec.evaluation(chat, {"gen_ai.evaluation.name": "Useful?", "gen_ai.evaluation.score.value": 5,
                          "gen_ai.evaluation.source": "human", "user.id": "ana"})  # fmt: skip
    traces = write_lines(tmp_path / "traces.jsonl", [collector_style(x) for x in rec.trace_lines()])
    logs = write_lines(tmp_path / "logs.jsonl", rec.log_lines())
    return [traces, logs], hex_ids(chat)


def usefulness(cli: Cli) -> None:
    with cli.workspace() as rb:
        scale = Scale(type="ordinal", min=1.0, max=5.0)
        rb.metrics.create("usefulness", scale=scale, prompt="Rate {{ output }}.")


def test_import_otel_dry_run_then_import_then_again(cli: Cli, tmp_path: Path) -> None:
    usefulness(cli)
    paths, _ = otel_files(tmp_path)
    args = ["import", *map(str, paths), "-e", "bot", "--format", "otel", "-m", "usefulness"]
    dry = cli.ok(*args, "--dry-run")
    assert dry.stdout.startswith("Dry run, nothing kept. Would import")
    assert "rows           1 added" in dry.stdout
    assert "1 span without a GenAI input and output" in dry.stdout
    with cli.workspace() as rb:
        assert rb.evaluations.list() == []
    report = cli.json(*args)
    assert (report["rows_added"], report["judge_results_added"]) == (1, 1)
    assert (report["annotations_added"], report["spans_skipped"]) == (1, 1)
    assert "Nothing changed" in cli.ok(*args).stdout


def test_import_otel_refuses_options_of_the_other_formats(cli: Cli, tmp_path: Path) -> None:
    paths, _ = otel_files(tmp_path)
    both = cli.fails("import", *map(str, paths), "-e", "bot")
    assert "give one path" in both
    assert "--kind" in cli.fails("import", str(paths[0]), "-e", "b", "--format", "otel",
                                 "--kind", "rows")  # fmt: skip
    assert "--metric" in cli.fails("import", str(paths[0]), "-e", "b", "-m", "usefulness")


def test_import_otel_names_an_unknown_metric(cli: Cli, tmp_path: Path) -> None:
    paths, _ = otel_files(tmp_path)
    stderr = cli.fails("import", *map(str, paths), "-e", "bot", "--format", "otel")
    assert f"{paths[1]}:1" in stderr and "no metric named 'Useful?' (metrics: " in stderr
    assert "helpfulness" in stderr and "--metric" in stderr  # the ones that exist, the way out


def test_export_otel_writes_events_tied_to_the_span(cli: Cli, tmp_path: Path) -> None:
    usefulness(cli)
    paths, row = otel_files(tmp_path)
    cli.ok("import", *map(str, paths), "-e", "bot", "--format", "otel", "-m", "usefulness")
    out = tmp_path / "events.jsonl"
    said = cli.ok("export", "-e", "bot", "--layout", "otel", "--out", str(out))
    assert "Exported 1 judge result of bot as gen_ai.evaluation.result events" in said.stdout
    (line,) = out.read_text(encoding="utf-8").splitlines()
    (record,) = json.loads(line)["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    assert f"{record['traceId']}-{record['spanId']}" == row
    assert "--out" in cli.fails("export", "-e", "bot")
    assert "--otlp-endpoint" in cli.fails("export", "-e", "bot", "-o", str(tmp_path / "x"),
                                          "--otlp-endpoint", "http://127.0.0.1:1")  # fmt: skip
    unreachable = cli("export", "-e", "bot", "--layout", "otel",
                      "--otlp-endpoint", "http://127.0.0.1:9/")  # fmt: skip
    assert unreachable.exit_code == 1  # unavailable, as a database that cannot be reached
    assert "cannot reach http://127.0.0.1:9/v1/logs" in unreachable.output
