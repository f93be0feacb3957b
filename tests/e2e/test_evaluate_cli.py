"""`rubricate evaluate` and `rubricate evaluation-runs ...` over real HTTP, against the fake
OpenAI-compatible server: the summary, --dry-run, --json, the cache flags, listing,
showing and cancelling runs, and a missing or leaked key."""

from __future__ import annotations

import re

from tests.e2e.conftest import METRIC, ROWS, SECRET, Cli, OpenWorkspace

from rubricate.demo import EVALUATION
from rubricate.testing.fake_openai import FakeOpenAI, Fault

MODEL = "openai-chat:gpt-4.1-mini"
EVALUATE = ("evaluate", "--metric", METRIC, "--evaluation", EVALUATION, "--model", MODEL)
QUICK_RETRIES = {"RUBRICATE_MAX_RETRY_WAIT": "0.05", "RUBRICATE_MODEL_ATTEMPTS": "2"}


def test_evaluate_prints_the_summary(cli: Cli, fake: FakeOpenAI) -> None:
    result = cli.ok(*EVALUATE)
    out = result.stdout
    assert re.search(r"Run [0-9a-f]{32}: Completed\.", out), out
    assert f"{ROWS} of {ROWS} rows scored;" in out
    assert f"{ROWS} model calls, 0 from the cache" in out
    assert "cost unknown" in out  # another server than OpenAI's: no price
    assert fake.requests_total == ROWS
    assert "Traceback" not in result.output


def test_a_dry_run_estimates_and_calls_nothing(
    cli: Cli, fake: FakeOpenAI, workspace: OpenWorkspace
) -> None:
    out = cli.ok(*EVALUATE, "--dry-run").stdout
    assert re.search(
        rf"Scoring {ROWS} rows with {MODEL} would send about [\d,]+ prompt tokens and "
        rf"receive about [\d,]+: unknown\.",
        out,
    ), out
    estimate = cli.json(*EVALUATE, "--dry-run")
    assert estimate["rows"] == ROWS and estimate["model"] == MODEL
    assert estimate["input_tokens"] > ROWS * 100 and estimate["cost_usd"] is None
    assert fake.requests_total == 0
    assert workspace().evaluation_runs.list() == []  # and no run was recorded


def test_json_output_and_the_cache_flags(cli: Cli, fake: FakeOpenAI) -> None:
    first = cli.json(*EVALUATE)
    assert first["status"] == "completed"
    assert (first["rows_total"], first["rows_done"], first["rows_scored"]) == (ROWS, ROWS, ROWS)
    assert (first["calls"], first["cache_hits"], first["cost_usd"]) == (ROWS, 0, None)
    assert first["input_tokens"] > 0 and first["output_tokens"] > 0
    assert fake.requests_total == ROWS

    cached = cli.json(*EVALUATE)  # the cache is on by default
    assert (cached["calls"], cached["cache_hits"]) == (0, ROWS)
    assert fake.requests_total == ROWS  # no HTTP call at all

    fresh = cli.json(*EVALUATE, "--no-cache")
    assert (fresh["calls"], fresh["cache_hits"]) == (ROWS, 0)
    assert fake.requests_total == 2 * ROWS
    assert len({first["id"], cached["id"], fresh["id"]}) == 3


def test_runs_are_listed_shown_and_cancelled(
    cli: Cli, fake: FakeOpenAI, workspace: OpenWorkspace
) -> None:
    done = cli.json(*EVALUATE, "--concurrency", "4")
    pending = workspace().evaluation_runs.start(metric=METRIC, evaluation=EVALUATION, model=MODEL)

    listed = cli.json("evaluation-runs", "list", "--evaluation", EVALUATION)
    assert [r["id"] for r in listed] == [pending.id, done["id"]]  # newest first
    assert [r["status"] for r in listed] == ["pending", "completed"]
    table = cli.ok("evaluation-runs", "list").stdout
    assert done["id"] in table and pending.id in table and "Completed" in table

    shown = cli.ok("evaluation-runs", "show", done["id"]).stdout
    assert f"Run {done['id']}: Completed." in shown and f"{ROWS} of {ROWS} rows scored" in shown
    assert cli.json("evaluation-runs", "show", done["id"])["calls"] == ROWS

    cancelled = cli.ok("evaluation-runs", "cancel", pending.id).stdout
    assert f"Run {pending.id} is Cancelled." in cancelled
    again = cli.json("evaluation-runs", "cancel", done["id"])  # finished: nothing changes
    assert again["status"] == "completed"
    assert fake.requests_total == ROWS  # the cancelled run never called the model

    missing = cli("evaluation-runs", "show", "no-such-run")
    assert missing.exit_code == 2 and "no evaluation run 'no-such-run'" in missing.stderr


def test_a_missing_key_names_the_variable(cli: Cli, fake: FakeOpenAI) -> None:
    result = cli(*EVALUATE, env={"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None})
    # Unavailable exits 1 (like an unreachable database), not 2; see the report.
    assert result.exit_code in {1, 2}, result.output
    assert "OPENAI_API_KEY" in result.stderr and result.stderr.startswith("error:")
    assert result.stdout == "" and "Traceback" not in result.output
    assert cli.json("evaluation-runs", "list") == []
    assert fake.requests_total == 0


def test_the_key_is_never_printed(cli: Cli, fake: FakeOpenAI) -> None:
    # A server that echoes the key back: in a row's error, then in a refusal.
    fake.faults = [Fault(status=500, message=f"{SECRET} broke me", times=None)]
    scored = cli.ok(*EVALUATE, "--concurrency", "4", env=QUICK_RETRIES)
    assert f"0 of {ROWS} rows scored, {ROWS} failed" in scored.stdout
    fake.faults = [Fault(status=401, message=f"Incorrect API key provided: {SECRET}")]
    refused = cli(*EVALUATE, "--no-cache", env=QUICK_RETRIES)
    assert refused.exit_code == 1 and "refused the key" in refused.stderr
    runs = cli.json("evaluation-runs", "list")
    shown = cli.ok("evaluation-runs", "show", runs[0]["id"])
    assert "Error:" in shown.stdout and "refused the key" in shown.stdout
    for result in (scored, refused, shown):
        assert SECRET not in result.output
