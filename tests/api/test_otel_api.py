"""POST .../import?format=otel: an OpenTelemetry file the SDK wrote, uploaded as the body
(the server never fetches a location), with dry_run and metric."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.io.otel_support import Recorder, collector_style

from rubricate import Rubricate
from rubricate.domain.scale import Scale

URL = "/api/v1/evaluations/bot/import"


def otel_body() -> bytes:
    rec = Recorder()
    chat = rec.span("chat", {"input.value": "q", "output.value": "a"})
    rec.evaluation(chat, {"gen_ai.evaluation.name": "Useful?", "gen_ai.evaluation.score.value": 4})
    lines = [collector_style(x) for x in rec.trace_lines() + rec.log_lines()]
    return "".join(line + "\n" for line in lines).encode()


def test_an_otel_upload_is_imported_after_a_dry_run(
    rb: Rubricate, empty_client: TestClient
) -> None:
    rb.metrics.create(
        "usefulness", scale=Scale(type="ordinal", min=1, max=5), prompt="{{ output }}"
    )
    params, body = {"format": "otel", "metric": "usefulness"}, otel_body()
    dry = empty_client.post(URL, params=params | {"dry_run": "true"}, content=body)
    assert dry.status_code == 200, dry.text
    assert (dry.json()["dry_run"], dry.json()["rows_added"], dry.json()["spans_skipped"]) == (
        True, 1, 0,
    )  # fmt: skip
    assert empty_client.get("/api/v1/evaluations/bot").status_code == 404
    done = empty_client.post(URL, params=params, content=body)
    assert (done.json()["rows_added"], done.json()["judge_results_added"]) == (1, 1)
    again = empty_client.post(URL, params=params, content=body)
    assert again.json()["changed"] is False


def test_a_bad_otel_upload_names_the_line(empty_client: TestClient) -> None:
    body = otel_body()
    refused = empty_client.post(URL, params={"format": "otel"}, content=body)
    assert refused.status_code == 422  # no metric named 'Useful?'
    error = refused.json()["error"]
    assert (error["file"], error["line"]) == ("otel.jsonl", 2)
    assert "no metric named 'Useful?'" in error["message"]
    not_otel = empty_client.post(URL, params={"kind": "rows", "metric": "x"}, content=b"")
    assert not_otel.status_code == 422 and not_otel.json()["error"]["field"] == "metric"
    assert empty_client.get("/api/v1/evaluations/bot").status_code == 404
