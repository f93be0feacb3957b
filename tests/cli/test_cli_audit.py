"""`rubricate audit list|export`: the CLI's own changes are in the log under the operating
system's user, newest first, filtered by action; --json for scripts; the export writes
every event as JSON lines, oldest first, to a file or to stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from rubricate.cli._common import actor

if TYPE_CHECKING:
    from conftest import Cli


def pin_a_metric(cli: Cli, prompt: Path) -> None:
    cli.ok("metrics", "create", "tone", "--scale", "1-3", "--prompt-file", str(prompt))
    cli.ok("metrics", "pin", "tone", "1")


def test_list_shows_a_pin_made_by_the_cli(cli: Cli, prompt: Path) -> None:
    assert "nothing logged yet" in cli.ok("audit", "list").stdout
    pin_a_metric(cli, prompt)
    text = cli.ok("audit", "list").stdout
    for word in ("Audit log", "When", "Who", "Action", "What", "metric tone", actor()):
        assert word in text
    assert text.index("version.pinned") < text.index("metric.created")  # newest first
    only = cli.ok("audit", "list", "--action", "metric.created").stdout
    assert "metric.created" in only and "version.pinned" not in only
    first = cli.ok("audit", "list", "--limit", "1").stdout
    assert "version.pinned" in first and "1 older event: --offset 1" in first


def test_list_json_parses(cli: Cli, prompt: Path) -> None:
    pin_a_metric(cli, prompt)
    page = cli.json("audit", "list", "--limit", "1", "--offset", "1")
    assert (page["total"], page["offset"], page["limit"]) == (2, 1, 1)
    [event] = page["items"]
    assert event["action"] == "metric.created" and event["actor"] == actor()
    assert event["subject"] == "metric tone" and event["at"].endswith("+00:00")
    pins = cli.json("audit", "list", "--action", "version.pinned")
    assert [e["detail"] for e in pins["items"]] == [{"version": 1}]


def test_an_unknown_action_is_refused(cli: Cli) -> None:
    result = cli("audit", "list", "--action", "bogus")
    assert result.exit_code == 2 and "--action" in result.output


def test_export_writes_the_file_or_stdout(cli: Cli, prompt: Path, tmp_path: Path) -> None:
    pin_a_metric(cli, prompt)
    cli.ok("metrics", "unpin", "tone")
    out = tmp_path / "logs" / "audit.jsonl"
    said = cli.ok("audit", "export", "--out", str(out)).stdout
    assert f"Wrote 3 events to {out}" in said
    events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [e["action"] for e in events] == ["metric.created", "version.pinned", "version.unpinned"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert not list(out.parent.glob(".*partial"))  # nothing left beside it
    printed = cli.ok("audit", "export").stdout
    assert [json.loads(line) for line in printed.splitlines()] == events
