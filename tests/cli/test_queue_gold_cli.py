"""`rubricate queues gold set|list|remove` and a queue with --gold-rate on the demo
workspace: the gold row reaches the reviewer as any row, and `queues show` and
`reviewers agreement` print the reviewer's accuracy on it."""

from __future__ import annotations

import pytest
from tests.cli.conftest import Cli
from tests.cli.test_queues_cli import ON_DEMO, create, demo
from tests.service.test_queue_gold import queued_and_free
from typer.testing import CliRunner

from rubricate.cli import app

__all__ = ["demo"]  # the fixture, shared with the queues' tests


@pytest.mark.parametrize("command", ("set", "list", "remove"))
def test_every_gold_command_has_help(command: str) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["queues", "gold", command, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: rubricate queues gold {command}" in " ".join(result.stdout.split())


def test_a_gold_row_in_a_queue_measures_its_reviewer(demo: Cli) -> None:
    create(demo, "q", "--selection", "random", "--sample-size", "2", "--gold-rate", "0.5")
    assert "gold rows at 0.5" in demo.ok("queues", "show", "q").stdout
    first = demo.json("queues", "next", "q", "-r", "ana")
    with demo.workspace() as rb:
        gold = queued_and_free(rb)[1][0]  # a row of the evaluation that is not the queue's
    said = demo.ok("queues", "gold", "set", *ON_DEMO, "--row", gold, "--score", "4", "--note", "4!")
    assert said.stdout.strip() == f"Row {gold} of {ON_DEMO[1]} is gold on {ON_DEMO[3]}: 4."
    listed = demo.json("queues", "gold", "list", *ON_DEMO)
    assert [(g["row_id"], g["score"], g["note"]) for g in listed] == [(gold, 4, "4!")]
    demo.ok("queues", "submit", "q", "--row", first["row_id"], "-r", "ana", "--score", "3")
    handed = demo.json("queues", "next", "q", "-r", "ana")
    assert handed["row_id"] == gold and handed.keys() == first.keys()
    demo.ok("queues", "submit", "q", "--row", gold, "-r", "ana", "--score", "4")
    shown = demo.json("queues", "show", "q")
    ana = {p["reviewer"]: p for p in shown["progress"]}["ana"]
    assert ana["reviewed"] == 1 and ana["gold"] == {
        "reviewer": "ana", "reviews": 1, "exact": 1.0, "mean_error": 0.0,
    }  # fmt: skip
    text = demo.ok("queues", "show", "q").stdout
    assert "Gold rows" in text and "100%" in text
    agreement = demo.ok("reviewers", "agreement", *ON_DEMO).stdout
    assert "Accuracy on gold rows" in agreement
    demo.ok("queues", "gold", "remove", *ON_DEMO, "--row", gold)
    assert demo.json("queues", "gold", "list", *ON_DEMO) == []
    gone = demo.fails("queues", "gold", "remove", *ON_DEMO, "--row", gold)
    assert "is not gold" in gone
