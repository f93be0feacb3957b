"""Probes of evaluation runs: hostile judge replies (each row's error, never the run's; calls
counted as the fake server received them), and slow templates (refused quickly without
blocking other writes; a slow row errors and cancel still works)."""

from __future__ import annotations

import threading
import time
from typing import Any

from rubricate.limits import TEMPLATE_CHECK_SECONDS, TOKEN_TOTAL_MAX
from rubricate.testing.fake_openai import FakeOpenAI
from security.data import (
    DEMO,
    HIDDEN,
    HOSTILE,
    METRIC,
    MODEL,
    NESTED,
    PLAIN_ROWS,
    REPLIES,
    SLOW_ALL,
    SLOW_SOME,
)
from security.harness import Defect, Report, Served, expect, wait_until

API = "/api/v1"
FINISHED = {"completed", "error", "cancelled"}


def start_run(served: Served, token: str | None, metric: str, evaluation: str) -> dict[str, Any]:
    body = {"metric": metric, "evaluation": evaluation, "model": MODEL}
    answer = served.http.json("POST", f"{API}/evaluation-runs", body, token=token)
    expect(answer.status in (200, 201, 202), f"start a run: {answer.brief()}")
    run: dict[str, Any] = answer.json()["run"]
    return run


def get_run(served: Served, run_id: str) -> dict[str, Any]:
    found: dict[str, Any] = served.http.request("GET", f"{API}/evaluation-runs/{run_id}").json()
    return found


def finish(served: Served, run_id: str, timeout: float) -> dict[str, Any]:
    wait_until(lambda: get_run(served, run_id)["status"] in FINISHED, timeout, f"run {run_id}")
    return get_run(served, run_id)


def reply_shapes(report: Report, served: Served, token: str | None, fake: FakeOpenAI) -> None:
    cat = "reply shapes"
    before = fake.requests_total
    state: dict[str, Any] = {}

    def run_completes() -> str:
        run = start_run(served, token, METRIC, REPLIES)
        state["run"] = run = finish(served, run["id"], 120)
        expect(run["status"] == "completed", f"run ended {run['status']}: {run['error']}")
        return f"completed: {run['rows_done']} rows, {run['rows_failed']} failed"

    if not report.probe(cat, "a run over hostile replies completes", "completed", run_completes):
        return
    run = state["run"]
    path = f"{API}/evaluations/{REPLIES}/judge-results?metric={METRIC}&limit=500"
    results = served.http.request("GET", path).json()["items"]
    by_row = {r["row"]: r for r in results if r["evaluation_run_id"] == run["id"]}
    for index, (marker, (_, outcome)) in enumerate(HOSTILE.items()):

        def check(row: str = f"h{index}", outcome: str = outcome) -> str:
            result = by_row.get(row)
            expect(result is not None, f"no result stored for row {row}")
            assert result is not None
            if outcome == "error":
                expect(result["error"] is not None, f"scored {result['score']} instead of an error")
                return f"row error: {result['error'][:70]}"
            expect(result["error"] is None, f"row error: {result['error']}")
            return f"stored, score {result['score']}, tokens {result['input_tokens']}"

        wanted = "the row's error" if outcome == "error" else "stored cleaned, scored"
        report.probe(cat, f"judge reply: {marker}", wanted, check)

    def counted() -> str:
        received = fake.requests_total - before
        expect(
            run["calls"] == received, f"run counts {run['calls']} calls, fake received {received}"
        )
        expect(len(by_row) == len(HOSTILE) + PLAIN_ROWS, f"{len(by_row)} results stored")
        tokens = max(run["input_tokens"], run["output_tokens"])
        expect(tokens <= TOKEN_TOTAL_MAX, f"token total {tokens}")
        return f"{received} calls both; tokens {run['input_tokens']}/{run['output_tokens']}"

    report.probe(cat, "calls counted vs the fake server's count", "equal", counted)


def slow_template(report: Report, served: Served, token: str | None, fake: FakeOpenAI) -> None:
    cat = "slow template"
    http = served.http

    def refused_without_blocking() -> str:
        outcome: list[Any] = []
        body = {"prompt": NESTED}

        def post() -> None:
            outcome.append(http.json("POST", f"{API}/metrics/{METRIC}/versions", body, token=token))

        thread = threading.Thread(target=post)
        thread.start()
        time.sleep(0.3)  # the check is under way
        rows = http.request("GET", f"{API}/evaluations/{DEMO}/rows?limit=1").json()["items"]
        note = {"row": rows[0]["id"], "score": 4, "comment": "written during a slow check"}
        write = http.json(
            "POST", f"{API}/evaluations/{DEMO}/metrics/{METRIC}/annotations", note, token=token
        )
        thread.join(60)
        answer = outcome[0] if outcome else None
        expect(answer is not None, "the nested loop's request did not answer in 60 s")
        assert answer is not None
        expect(answer.status == 422, f"nested loop: expected 422, got {answer.brief()}")
        limit = TEMPLATE_CHECK_SECONDS + 2
        expect(answer.seconds < limit, f"refused after {answer.seconds:.1f} s (> {limit:g})")
        expect(write.status in (200, 201), f"concurrent annotation: {write.brief()}")
        expect(write.seconds < 2.0, f"concurrent annotation took {write.seconds:.1f} s")
        return f"422 in {answer.seconds:.2f} s; annotation {write.status} in {write.seconds:.2f} s"

    report.probe(
        cat,
        "nested range loops via POST versions",
        "422 fast, writes not blocked",
        refused_without_blocking,
    )

    def hidden_row_errors() -> str:
        body = {
            "name": "hidden",
            "scale": {"type": "ordinal", "min": 1, "max": 5},
            "prompt": HIDDEN,
        }
        created = http.json("POST", f"{API}/metrics", body, token=token)
        expect(created.status == 201, f"the metric: {created.brief()}")
        began = time.monotonic()
        run = finish(served, start_run(served, token, "hidden", SLOW_SOME)["id"], 120)
        seconds = time.monotonic() - began
        expect(run["status"] == "completed", f"run ended {run['status']}: {run['error']}")
        expect(
            run["rows_failed"] == 3, f"{run['rows_failed']} rows failed, expected the 3 slow ones"
        )
        return (
            f"completed in {seconds:.1f} s, {run['rows_failed']} of {run['rows_total']} rows failed"
        )

    if not report.probe(
        cat,
        "a loop behind metadata in a run",
        "that row errors, the run completes",
        hidden_row_errors,
    ):
        return

    def cancel_works() -> str:
        run = start_run(served, token, "hidden", SLOW_ALL)
        seen: list[str] = []
        wait_until(
            lambda: seen.append(get_run(served, run["id"])["status"]) or seen[-1] != "pending",
            60,
            "the run to leave pending",
        )
        expect(seen[-1] == "running", f"the run went {' -> '.join(dict.fromkeys(seen))}")
        time.sleep(1.0)  # slow renders under way
        read = http.request("GET", f"{API}/metrics", timeout=10)
        expect(
            read.status == 200 and read.seconds < 1.0,
            f"a read during slow renders: {read.status} in {read.seconds:.1f} s",
        )
        answer = http.request("POST", f"{API}/evaluation-runs/{run['id']}/cancel", b"", token=token)
        expect(answer.status in (200, 202), f"cancel: {answer.brief()}")
        try:
            waited = wait_until(
                lambda: get_run(served, run["id"])["status"] in FINISHED, 15, "cancel"
            )
        except Defect:
            raise Defect(
                f"still {get_run(served, run['id'])['status']} 15 s after cancel"
            ) from None
        status = get_run(served, run["id"])["status"]
        expect(status == "cancelled", f"ended {status}")
        meanwhile = f"a read took {read.seconds * 1000:.0f} ms meanwhile"
        return f"cancelled {waited:.1f} s after cancel; {meanwhile}"

    report.probe(cat, "cancel a run of slow rows", "cancelled within 15 s", cancel_works)
