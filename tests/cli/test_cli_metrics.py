"""`rubricate metrics ...`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rubricate import NotFound, Scale
from rubricate.domain.metrics import MetricKind, VersionOrigin

if TYPE_CHECKING:
    from conftest import Cli

SCALE_JSON = '{"type": "ordinal", "min": 1, "max": 3, "labels": {"1": "meh", "3": "wow"}}'


def test_list_json_holds_the_builtins(cli: Cli) -> None:
    listed = cli.json("metrics", "list")
    by_name = {m["metric"]["name"]: m for m in listed}
    assert len(by_name) >= 7
    helpfulness = by_name["helpfulness"]
    assert helpfulness["metric"]["kind"] == "builtin"
    assert helpfulness["metric"]["is_builtin"] is True
    assert helpfulness["version_count"] == 1
    assert helpfulness["active"]["number"] == 1
    assert helpfulness["active"]["scale"]["type"] == "ordinal"
    assert helpfulness["active"]["created_at"].endswith("+00:00")
    with cli.workspace() as rb:
        assert sorted(by_name) == [s.metric.name for s in rb.metrics.list()]


def test_list_table(cli: Cli, prompt: Path) -> None:
    cli.ok("metrics", "create", "mine", "--scale", "fail,pass", "--prompt-file", str(prompt))
    text = cli.ok("metrics", "list").stdout
    for word in ("Name", "Kind", "Active", "Versions", "Scale", "helpfulness", "builtin"):
        assert word in text
    assert "fail/pass (labels)" in text


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("1-5", Scale(type="ordinal", min=1, max=5)),
        ("0-10:ordinal", Scale(type="ordinal", min=0, max=10)),
        ("0-1:interval", Scale(type="interval", min=0, max=1)),
        ("-1..1:interval", Scale(type="interval", min=-1, max=1)),
        ("fail,pass", Scale(type="labels", labels={0: "fail", 1: "pass"})),
        (" bad , ok , great ", Scale(type="labels", labels={0: "bad", 1: "ok", 2: "great"})),
    ],
)
def test_create_with_each_compact_scale(
    cli: Cli, prompt: Path, given: str, expected: Scale
) -> None:
    out = cli.ok(
        "metrics", "create", "tone", "--scale", given, "--prompt-file", str(prompt),
        "--description", "How polite it is.", "--judge-model", "openai:gpt-4o-mini",
    )  # fmt: skip
    assert "Created the custom metric 'tone': version 1" in out.stdout
    with cli.workspace() as rb:
        metric = rb.metrics.get("tone")
        version = rb.metrics.version("tone")
    assert (metric.kind, metric.description) == (MetricKind.CUSTOM, "How polite it is.")
    assert metric.judge_model == "openai:gpt-4o-mini"
    assert (version.number, version.origin, version.prompt) == (
        1,
        VersionOrigin.MANUAL,
        prompt.read_text(encoding="utf-8"),
    )
    assert version.scale == expected


def test_create_with_scale_json(cli: Cli, prompt: Path) -> None:
    created = cli.json(
        "metrics", "create", "stars", "--prompt-file", str(prompt), "--scale-json", SCALE_JSON
    )
    assert created["scale"] == {
        "type": "ordinal",
        "min": 1,
        "max": 3,
        "labels": {"1": "meh", "3": "wow"},
    }
    with cli.workspace() as rb:
        assert rb.metrics.version("stars").scale.labels == {1.0: "meh", 3.0: "wow"}


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--scale", "5-1"], "--scale"),
        (["--scale", "1-"], "--scale"),
        (["--scale", "1-5:nominal"], "--scale"),
        (["--scale", "1.5-4"], "--scale"),
        (["--scale", "fail,,pass"], "--scale"),
        (["--scale", "great"], "--scale"),
        (["--scale-json", '{"type": "ordinal", "min": 1}'], "--scale-json"),
        (["--scale-json", "{not json"], "--scale-json"),
        ([], "--scale"),
        (["--scale", "1-5", "--scale-json", '{"min": 1, "max": 5}'], "--scale"),
    ],
)
def test_a_bad_scale_names_the_parameter_and_creates_nothing(
    cli: Cli, prompt: Path, options: list[str], named: str
) -> None:
    stderr = cli.fails("metrics", "create", "tone", "--prompt-file", str(prompt), *options)
    assert named in stderr
    with cli.workspace() as rb, pytest.raises(NotFound):
        rb.metrics.get("tone")


def test_a_bad_prompt_or_a_taken_name(cli: Cli, prompt: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text("Rate {{ answer }}", encoding="utf-8")
    stderr = cli.fails("metrics", "create", "x", "--scale", "1-5", "--prompt-file", str(broken))
    assert "error: " in stderr
    assert "answer" in stderr
    stderr = cli.fails(
        "metrics", "create", "helpfulness", "--scale", "1-5", "--prompt-file", str(prompt)
    )
    assert "already exists" in stderr


def test_versions_pin_and_unpin(cli: Cli, prompt: Path, tmp_path: Path) -> None:
    cli.ok("metrics", "create", "tone", "--scale", "1-5", "--prompt-file", str(prompt))
    newer = tmp_path / "newer.txt"
    newer.write_text(prompt.read_text(encoding="utf-8") + "Be strict.\n", encoding="utf-8")
    assert (
        "Created version 2 of 'tone'; version 2 is active."
        in cli.ok("metrics", "add-version", "tone", "--prompt-file", str(newer)).stdout
    )

    listing = cli.json("metrics", "versions", "tone")
    assert listing["active_version"] == 2
    first, second = listing["versions"]
    assert (first["number"], second["number"]) == (1, 2)
    assert second["parent_version_id"] == first["id"]
    assert second["prompt"].endswith("Be strict.\n")

    assert "Version 1 of 'tone' is active (pinned)" in cli.ok("metrics", "pin", "tone", "1").stdout
    with cli.workspace() as rb:
        assert rb.metrics.get("tone").pinned_version == 1
        assert rb.metrics.version("tone").number == 1
    table = cli.ok("metrics", "versions", "tone").stdout
    assert "● pinned" in table
    assert "v1" in table

    # a new version lifts the pin
    newest = cli.ok("metrics", "add-version", "tone", "--prompt-file", str(newer)).stdout
    assert "Created version 3 of 'tone'; version 3 is active." in newest
    with cli.workspace() as rb:
        assert rb.metrics.get("tone").pinned_version is None
    cli.ok("metrics", "pin", "tone", "2")
    assert "version 3 is active" in cli.ok("metrics", "unpin", "tone").stdout
    with cli.workspace() as rb:
        assert rb.metrics.get("tone").pinned_version is None
        assert rb.metrics.version("tone").number == 3


def test_pin_refuses_builtins_and_unknown_versions(cli: Cli, prompt: Path) -> None:
    assert "built-in" in cli.fails("metrics", "pin", "helpfulness", "1")
    cli.ok("metrics", "create", "tone", "--scale", "1-5", "--prompt-file", str(prompt))
    assert "no version 9" in cli.fails("metrics", "pin", "tone", "9")
    with cli.workspace() as rb:
        assert rb.metrics.get("tone").pinned_version is None


def test_show(cli: Cli, prompt: Path) -> None:
    shown = cli.json("metrics", "show", "helpfulness")
    assert shown["metric"]["name"] == "helpfulness"
    assert shown["version"]["number"] == shown["active_version"] == 1
    assert "{{" in shown["version"]["prompt"]
    text = cli.ok("metrics", "show", "helpfulness").stdout
    assert "helpfulness (builtin metric)" in text
    assert "Scoring prompt" in text
    assert "1 = Not helpful" in text
    cli.ok("metrics", "create", "tone", "--scale", "1-5", "--prompt-file", str(prompt))
    assert cli.json("metrics", "show", "tone@1")["version"]["prompt"] == prompt.read_text(
        encoding="utf-8"
    )
    assert "has no version 7" in cli.fails("metrics", "show", "tone@7")
    assert "field 'version'" in cli.fails("metrics", "show", "tone@x")
    assert "no metric named 'nope'" in cli.fails("metrics", "show", "nope")
