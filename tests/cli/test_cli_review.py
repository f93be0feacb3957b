"""`rubricate align accept|reject|edit|strike|restore` and `rubricate metrics export-prompt`.

The review commands join an `align` group built elsewhere; here they run in a small app
with the real root's options and error handling. export-prompt runs in the real app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import typer
from tests.cli.conftest import Cli
from tests.service.reviewing_support import CUSTOM, G1, G2, G3, make_run

from rubricate.cli._common import DatabaseUrl, RubricateGroup, Workspace
from rubricate.cli.align_review import accept, edit_guideline, reject, restore, strike
from rubricate.demo import EVALUATION, build_demo
from rubricate.domain.alignment_runs import RunStatus


def review_app() -> typer.Typer:
    app = typer.Typer(cls=RubricateGroup, no_args_is_help=True, add_completion=False)

    @app.callback()
    def root(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
        workspace = Workspace(database_url)
        ctx.obj = workspace
        ctx.call_on_close(workspace.close)

    align = typer.Typer(no_args_is_help=True)
    align.command("accept")(accept)
    align.command("reject")(reject)
    align.command("edit")(edit_guideline)
    align.command("strike")(strike)
    align.command("restore")(restore)
    app.add_typer(align, name="align")
    return app


APP = review_app()


def align_in(database_url: str) -> Cli:
    """`... align ARGS` in the small app, on one database."""
    return Cli(database_url, root=APP, group=("align",))


def write_builtin_dataset(folder: Path) -> Path:
    """Rows judged with the built-in helpfulness (version 1) and resolved by a reviewer."""
    folder.mkdir(parents=True)
    criteria = [{"name": "helpfulness", "scale": {"type": "ordinal", "min": 1, "max": 5}}]
    (folder / "dataset.json").write_text(
        json.dumps({"name": folder.name, "criteria": criteria}), encoding="utf-8"
    )
    rows = [
        {
            "id": f"r{i}",
            "input": f"question {i}",
            "output": f"answer {i}",
            "judge": {"helpfulness": {"score": judge, "metric_version": 1}},
            "resolved": {"helpfulness": {"value": human, "by": "user:ana"}},
        }
        for i, (judge, human) in enumerate([(5, 2), (1, 4)])
    ]
    (folder / "rows.jsonl").write_text(
        "\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8"
    )
    return folder


@pytest.fixture
def align(cli: Cli) -> Cli:
    with cli.workspace() as rb:
        build_demo(rb)
    return align_in(cli.database_url)


def new_run(cli: Cli, guidelines: Sequence[str], **kwargs: Any) -> str:
    with cli.workspace() as rb:
        return make_run(rb, CUSTOM, EVALUATION, guidelines, **kwargs)


def test_accept_a_custom_metrics_run(cli: Cli, align: Cli) -> None:
    run_id = new_run(cli, [G1, G2])
    line = align.ok("accept", run_id, "--by", "ana", "--yes").stdout
    assert line == f"Accepted run {run_id}: created version 2 of {CUSTOM}, now active.\n"
    assert (
        align.ok("accept", run_id, "--yes").stdout == f"Already accepted: version 2 of {CUSTOM}.\n"
    )
    again = align.json("accept", run_id, "--yes")
    assert (again["created"], again["forked"], again["merged"]) == (False, False, False)
    assert again["version"]["number"] == 2
    assert again["version"]["guidelines"] == f"- {G1}\n- {G2}"
    assert again["run"]["result"]["review"]["by"] == "ana"
    with cli.workspace() as rb:
        assert rb.metrics.version(CUSTOM).number == 2


def test_accept_a_builtin_metrics_run(cli: Cli, tmp_path: Path) -> None:
    with cli.workspace() as rb:
        rb.import_path(write_builtin_dataset(tmp_path / "judged"), "judged")
        run_id = make_run(rb, "helpfulness", "judged", [G1])
    align = align_in(cli.database_url)
    done = align.json("accept", run_id, "--yes")
    assert (done["metric"], done["created"], done["forked"]) == ("helpfulness-aligned", True, True)
    assert done["version"]["origin"] == "fork"
    with cli.workspace() as rb:
        second = make_run(rb, "helpfulness", "judged", [G2])
        assert len(rb.metrics.versions("helpfulness")) == 1
    assert align.ok("accept", second, "--yes").stdout == (
        f"Accepted run {second}: forked helpfulness into helpfulness-aligned-2, version 1.\n"
    )


def test_a_stale_run_needs_merge(cli: Cli, align: Cli) -> None:
    first, second = new_run(cli, [G1]), new_run(cli, [G2])
    align.ok("accept", first, "--yes")
    refused = align.fails("accept", second, "--yes")
    assert "version 2 of 'answer_helpfulness' is active now" in refused
    assert "accept with merge" in refused
    line = align.ok("accept", second, "--merge", "--yes").stdout
    assert line == (
        f"Accepted run {second}: merged with the active version, created version 3 of "
        f"{CUSTOM}, now active.\n"
    )
    with cli.workspace() as rb:
        assert rb.metrics.version(CUSTOM).guidelines == f"- {G1}\n- {G2}"


def test_strike_edit_restore(cli: Cli, align: Cli) -> None:
    run_id = new_run(cli, [G1, G2, G3])
    struck = align.ok("strike", run_id, "2", "--by", "ana").stdout
    assert struck.splitlines() == [
        f"Struck guideline 2 of run {run_id}.",
        "Guidelines an accept would keep (2):",
        f"  1. {G1}",
        f"  3. {G3}",
    ]
    edited = align.ok("edit", run_id, "3", "--text", "Link the [help] article.").stdout
    assert edited.splitlines()[0] == f"Edited guideline 3 of run {run_id}."
    assert "  3. Link the [help] article." in edited.splitlines()  # brackets are no markup
    run = align.json("restore", run_id, "2")
    edits = run["result"]["review"]["edits"]
    assert [(e["action"], e["guideline_id"], e["by"]) for e in edits] == [
        ("strike", 2, "ana"),
        ("edit", 3, None),
        ("restore", 2, None),
    ]
    align.ok("strike", run_id, "1")
    align.ok("strike", run_id, "2")
    last = align.ok("strike", run_id, "3").stdout
    assert "Every guideline is struck: there is nothing to accept." in last
    assert "nothing to accept" in align.fails("accept", run_id, "--yes")


def test_review_refusals(cli: Cli, align: Cli) -> None:
    run_id = new_run(cli, [G1])
    assert "argument GUIDELINE: run" in align.fails("strike", run_id, "9")
    assert "option --text:" in align.fails("edit", run_id, "1", "--text", "   ")
    assert "no alignment run 'nope'" in align.fails("accept", "nope", "--yes")
    running = new_run(cli, [G1], status=RunStatus.RUNNING)
    assert "is Running: only an Aligned run can be accepted" in align.fails(
        "accept", running, "--yes"
    )
    align.ok("accept", run_id, "--yes")
    assert "accepted already" in align.fails("edit", run_id, "1", "--text", "other")
    assert "accepted already" in align.fails("reject", run_id)


def test_reject(cli: Cli, align: Cli) -> None:
    run_id = new_run(cli, [G1])
    line = align.ok("reject", run_id, "--by", "ana").stdout
    assert line == f"Rejected run {run_id}; it stays in the alignment history of {CUSTOM}.\n"
    run = align.json("reject", run_id)
    assert run["status"] == "aligned"
    assert run["result"]["review"]["decision"] == "rejected"
    assert run["result"]["review"]["by"] == "ana"
    assert "was rejected" in align.fails("accept", run_id, "--yes")


# -- rubricate metrics export-prompt -----------------------------------------------------


def test_accept_asks_before_accepting_an_unverified_run(cli: Cli, align: Cli) -> None:
    run_id = new_run(cli, [G1])
    refused = align.fails("accept", run_id)  # no terminal to ask in: --yes is needed
    assert f"run '{run_id}' is not verified: no judge model was given" in refused
    assert "Pass --yes to accept it anyway" in refused
    assert "Pass --yes" in align.fails("accept", run_id, "--json")  # --json never asks
    with cli.workspace() as rb:
        assert rb.metrics.version(CUSTOM).number == 1
    line = align.ok("accept", run_id, "-y").stdout
    assert line == f"Accepted run {run_id}: created version 2 of {CUSTOM}, now active.\n"


@pytest.fixture
def accepted(cli: Cli, align: Cli) -> str:
    align.ok("accept", new_run(cli, [G1, G2]), "--yes")
    return CUSTOM


def test_export_prompt_to_stdout(cli: Cli, accepted: str) -> None:
    text = cli.ok("metrics", "export-prompt", accepted).stdout
    assert f"1. {G1}\n2. {G2}" in text  # numbered, as the judge sees them
    assert "{{ input }}" in text or "{{ output }}" in text
    with cli.workspace() as rb:
        assert text == rb.reviews.export_prompt(accepted, "text")
    data = json.loads(cli.ok("metrics", "export-prompt", f"{accepted}@2", "-f", "json").stdout)
    assert (data["name"], data["version"], data["origin"]) == (accepted, 2, "alignment")
    assert data["guidelines"] == [G1, G2]
    older = json.loads(cli.ok("metrics", "export-prompt", f"{accepted}@1", "-f", "json").stdout)
    assert older["guidelines"] == []
    langfuse = json.loads(
        cli.ok("metrics", "export-prompt", accepted, "--format", "langfuse").stdout
    )
    assert langfuse["type"] == "chat"
    assert G1 in langfuse["prompt"][0]["content"]
    assert "{{output}}" in langfuse["prompt"][1]["content"]
    promptfoo = json.loads(
        cli.ok("metrics", "export-prompt", accepted, "--format", "promptfoo").stdout
    )
    assert [m["role"] for m in promptfoo] == ["system", "user"]
    assert G2 in promptfoo[0]["content"]


def test_export_prompt_to_a_file(cli: Cli, accepted: str, tmp_path: Path) -> None:
    out = tmp_path / "prompts" / "judge.json"
    out.parent.mkdir()
    out.write_text("old", encoding="utf-8")
    result = cli.ok("metrics", "export-prompt", accepted, "--format", "langfuse", "--out", str(out))
    assert result.stdout.startswith("Wrote the langfuse prompt of answer_helpfulness to ")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["name"] == accepted
    assert sorted(p.name for p in out.parent.iterdir()) == ["judge.json"]  # nothing partial
    missing = tmp_path / "nowhere" / "judge.txt"
    refused = cli.fails("metrics", "export-prompt", accepted, "--out", str(missing))
    assert "option --out: cannot write" in refused


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("answer_helpfulness", "--format", "yaml"), "field 'format'"),
        (("nope",), "no metric named 'nope'"),
        (("answer_helpfulness@7",), "has no version 7"),
        (("answer_helpfulness@first",), "field 'version'"),
    ],
)
def test_export_prompt_refusals(cli: Cli, align: Cli, args: tuple[str, ...], expected: str) -> None:
    assert expected in cli.fails("metrics", "export-prompt", *args)


def test_export_prompt_for_rows_without_optional_fields(cli: Cli, accepted: str) -> None:
    prompt = "Judge {{ output }} for {{ input }}.\n{% if context %}See {{ context }}.{% endif %}"
    with cli.workspace() as rb:
        rb.metrics.add_version(accepted, prompt=prompt, guidelines=f"- {G1}")
    full = json.loads(cli.ok("metrics", "export-prompt", accepted, "-f", "langfuse").stdout)
    assert full["config"]["rubricate"]["variables"] == ["input", "output", "context"]
    bare = json.loads(
        cli.ok("metrics", "export-prompt", accepted, "-f", "langfuse", "--fields", "").stdout
    )
    assert bare["config"]["rubricate"]["variables"] == ["input", "output"]
    assert "[CONTEXT]" not in bare["prompt"][0]["content"]
    refused = cli.fails("metrics", "export-prompt", accepted, "-f", "promptfoo", "--fields", "x")
    assert "option --fields: unknown row field 'x'" in refused


def test_the_review_commands_are_in_the_align_group(cli: Cli, align: Cli) -> None:
    run_id = new_run(cli, [G1, G2])
    assert cli.ok("align", "strike", run_id, "2").stdout.startswith("Struck guideline 2")
    done = cli.json("align", "accept", run_id, "--yes")
    assert (done["created"], done["version"]["guidelines"]) == (True, f"- {G1}")


def ask_in_a_terminal(database_url: str, run_id: str, answer: bytes) -> tuple[int, str]:
    """`rubricate align accept RUN` in a child process whose stdin is a terminal (a pty),
    answering the question with ``answer``."""
    primary, secondary = os.openpty()
    env = {**os.environ, "RUBRICATE_DATABASE_URL": database_url, "COLUMNS": "120"}
    child = subprocess.Popen(
        [sys.executable, "-c", "from rubricate.cli import main; main()", "align", "accept", run_id],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    os.close(secondary)
    os.write(primary, answer)
    out, _ = child.communicate(timeout=60)
    os.close(primary)
    return child.returncode, out.decode()


@pytest.mark.parametrize(("answer", "accepted"), [(b"y\n", True), (b"n\n", False)])
def test_accept_in_a_terminal_says_why_and_asks(
    cli: Cli, align: Cli, answer: bytes, accepted: bool
) -> None:
    run_id = new_run(cli, [G1])
    code, out = ask_in_a_terminal(cli.database_url, run_id, answer)
    text = " ".join(out.split())
    assert f"Run {run_id} is not verified: no judge model was given" in text
    assert "Accept its guidelines anyway? [y/N]" in text
    with cli.workspace() as rb:
        number = rb.metrics.version(CUSTOM).number
    if accepted:
        assert code == 0 and f"Accepted run {run_id}: created version 2" in text
        assert number == 2
    else:
        assert code == 1 and "Not accepted." in text
        assert number == 1
