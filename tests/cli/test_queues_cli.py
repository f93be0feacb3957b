"""`rubricate queues ...` on the demo workspace: create, list and show with progress, a
blind double review for two reviewers (--reviewer), conflicts sent back, and errors that
name the flag at fault."""

from __future__ import annotations

import pytest
from tests.cli.conftest import Cli
from typer.testing import CliRunner

from rubricate.cli import app
from rubricate.demo import ALIGNED_METRIC, EVALUATION, build_demo
from rubricate.domain.audit import AuditAction
from rubricate.domain.users import LOCAL

SUBCOMMANDS = (
    "create",
    "list",
    "show",
    "next",
    "submit",
    "skip",
    "reviews",
    "conflicts",
    "send-back",
    "close",
)
ON_DEMO = ("-e", EVALUATION, "-m", ALIGNED_METRIC)


@pytest.fixture
def demo(cli: Cli) -> Cli:
    with cli.workspace() as rb:
        build_demo(rb)
    return cli


def create(cli: Cli, name: str = "q", *options: str) -> str:
    reviewers = ("-r", "ana", "-r", "ben", "-r", "cy")
    return cli.ok("queues", "create", name, *ON_DEMO, *reviewers, *options).stdout


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_queues_command_has_help(command: str) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["queues", command, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: rubricate queues {command}" in " ".join(result.stdout.split())
    listed = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["--help"]).stdout
    assert "queues" in listed


def test_create_list_and_show(demo: Cli) -> None:
    out = create(demo, "q", "--selection", "random", "--sample-size", "4", "--blind")
    assert (
        "Created queue q: 4 rows of support-bot-demo (selected: random sample of 4 (seed 0))" in out
    )
    assert "1 review a row by ana, ben, cy; blind." in out
    assert "rubricate queues next q --reviewer ana" in out
    listed = demo.ok("queues", "list").stdout
    assert "│ q " in listed and "0/4" in listed and "open, blind" in listed
    [found] = demo.json("queues", "list")
    assert (found["name"], found["rows"], found["blind"], found["finished"]) == (
        "q",
        4,
        True,
        False,
    )
    assert found["created_by"].startswith("cli")  # the workspace's admin: the OS user
    shown = demo.json("queues", "show", "q")
    assert [p["reviewer"] for p in shown["progress"]] == ["ana", "ben", "cy"]
    assert shown["queue"]["reviews_needed"] == 4
    text = demo.ok("queues", "show", "q").stdout
    assert f"0 of 4 rows done; 0 of 4 reviews counted. Created by {found['created_by']}" in text
    assert "Median time" in text


def test_errors_name_the_flag(demo: Cli) -> None:
    create(demo)
    assert "exists already" in demo.fails("queues", "create", "q", *ON_DEMO, "-r", "ana")
    too_many = demo.fails("queues", "create", "x", *ON_DEMO, "-r", "ana", "--reviews-per-row", "2")
    assert "option --reviews-per-row: 2 reviews per row need as many reviewers" in too_many
    unsized = demo.fails("queues", "create", "x", *ON_DEMO, "-r", "ana", "--selection", "random")
    assert "option --sample-size: a random queue needs the number of rows" in unsized
    bad_name = demo.fails("queues", "create", "a b", *ON_DEMO, "-r", "ana")
    assert "argument NAME: queue name 'a b' is not valid" in bad_name
    lease = demo.fails("queues", "create", "x", *ON_DEMO, "-r", "ana", "--lease-seconds", "1")
    assert "option --lease-seconds" in lease
    assert "no review queue named 'nope'" in demo.fails("queues", "show", "nope")
    assert "Missing option '--reviewer'" in demo("queues", "next", "q").output
    stranger = demo.fails("queues", "next", "q", "--reviewer", "dee")
    assert "dee is not a reviewer of queue 'q'" in stranger


def test_a_blind_double_review(demo: Cli) -> None:
    create(demo, "q", "--selection", "random", "--sample-size", "1")
    create(
        demo,
        "blind",
        "--selection",
        "random",
        "--sample-size",
        "2",
        "--reviews-per-row",
        "2",
        "--blind",
    )
    ana = demo.ok("queues", "next", "blind", "--reviewer", "ana").stdout
    assert "(1 of 2 in queue blind), yours until" in ana
    assert "Input\n" in ana and "Output\n" in ana and "Scale: 1–5 (1 Harmful or useless" in ana
    assert "hidden until you submit (blind queue)" in ana and "Judge's score" not in ana
    row = ana.split()[1]
    held = demo.json("queues", "next", "blind", "--reviewer", "ana")  # the same row, held
    assert held["row_id"] == row and held["withheld"] is True and held["judge_score"] is None
    done = demo.ok(
        "queues",
        "submit",
        "blind",
        "--row",
        row,
        "-r",
        "ana",
        "--score",
        "2",
        "--comment",
        "ana-private-note",
    ).stdout
    assert done.strip() == f"ana scored row {row} 2 in queue blind."
    ben = demo.ok("queues", "next", "blind", "--reviewer", "ben").stdout
    assert ben.split()[1] == row  # the row still needs its second review
    assert "ana-private-note" not in ben and "Judge's score" not in ben
    by_label = ("queues", "submit", "blind", "--row", row, "-r", "ben", "--score", "Excellent")
    assert demo.json(*by_label) == {"counted": True, "row_id": row, "score": 5}

    # an open queue shows the judge's score at once, and others' reviews
    seen = demo.json("queues", "next", "q", "--reviewer", "ana")
    assert seen["judge_score"] is not None and seen["withheld"] is False
    demo.ok("queues", "submit", "q", "--row", seen["row_id"], "-r", "ana", "--score", "4")
    assert "Nothing left for ben in queue q." in demo.ok("queues", "next", "q", "-r", "ben").stdout
    assert demo.json("queues", "next", "q", "-r", "ben") is None

    conflicts = demo.ok("queues", "conflicts", "blind").stdout
    assert f"│ {row} " in conflicts and "ana 2, ben 5" in conflicts
    [conflict] = demo.json("queues", "conflicts", "blind")
    assert conflict["spread"] == 3 and conflict["row_id"] == row
    sent = demo.ok("queues", "send-back", "blind", "--row", row).stdout
    assert f"Row {row} of queue blind goes back for one more review (0 of 2 rows done)." in sent
    third = demo.ok("queues", "next", "blind", "-r", "cy").stdout
    assert third.split()[1] == row and "ana-private-note" not in third
    demo.ok("queues", "submit", "blind", "--row", row, "-r", "cy", "--score", "3")
    reviews = demo.json("queues", "reviews", "blind")
    assert [(r["row_id"], r["reviewer"], r["score"]) for r in reviews] == [
        (row, "ana", 2),
        (row, "ben", 5),
        (row, "cy", 3),
    ]
    assert reviews[0]["comment"] == "ana-private-note"
    assert "every reviewer of queue 'blind' has had row" in demo.fails(
        "queues", "send-back", "blind", "--row", row
    )


def test_reviews_refused_and_skips(demo: Cli) -> None:
    create(demo, "q", "--selection", "random", "--sample-size", "2", "--reviews-per-row", "2")
    row = demo.json("queues", "next", "q", "-r", "ana")["row_id"]
    off = demo.fails("queues", "submit", "q", "--row", row, "-r", "ana", "--score", "9")
    assert off.startswith("error: option --score:")
    assert "not given to you" in demo.fails(
        "queues", "submit", "q", "--row", row, "-r", "ben", "--score", "3"
    )
    assert "has no row 'nope'" in demo.fails("queues", "skip", "q", "--row", "nope", "-r", "ana")
    skipped = demo.ok("queues", "skip", "q", "--row", row, "-r", "ana").stdout
    assert f"ana skipped row {row} of queue q; it goes to another reviewer." in skipped
    assert "you do not hold row" in demo.fails("queues", "skip", "q", "--row", row, "-r", "ana")
    other = demo.json("queues", "next", "q", "-r", "ana")
    assert other["row_id"] != row
    demo.ok("queues", "submit", "q", "--row", other["row_id"], "-r", "ana", "--score", "3")
    again = demo.fails(
        "queues", "submit", "q", "--row", other["row_id"], "-r", "ana", "--score", "4"
    )
    assert "you have reviewed row" in again
    progress = {p["reviewer"]: p for p in demo.json("queues", "show", "q")["progress"]}
    assert (progress["ana"]["reviewed"], progress["ana"]["skipped"]) == (1, 1)
    table = demo.ok("queues", "show", "q").stdout
    ana = next(line for line in table.splitlines() if "│ ana" in line)
    assert [cell.strip() for cell in ana.split("│")[2:6]] == ["1", "0", "1", "0"]


def test_a_closed_queue_gives_out_nothing_and_stops_withholding(demo: Cli) -> None:
    create(demo, "q", "--selection", "random", "--sample-size", "2", "--blind")
    closed = demo.ok("queues", "close", "q").stdout
    assert "Queue q is closed: 0 of 2 rows done. Its reviewers now see" in closed
    assert "review queue 'q' is closed" in demo.fails("queues", "next", "q", "-r", "ana")
    assert "closed, blind" in demo.ok("queues", "list").stdout
    with demo.workspace() as rb:
        _, events = rb.audit.events(by=LOCAL)
    done = {e.action: e for e in events}
    assert done[AuditAction.QUEUE_CLOSED].actor.startswith("cli")  # who closed it: the OS user
    assert done[AuditAction.QUEUE_CLOSED].subject == "queue q"
