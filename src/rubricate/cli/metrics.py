"""`rubricate metrics ...`: list, show, create, versions, pin and unpin, export-prompt,
and compare (two versions' agreement with the human scores of an evaluation)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from rubricate.cli._common import actor, workspace
from rubricate.cli._output import (
    JsonFlag,
    emit,
    listing,
    print_json,
    say,
    show,
    when,
)
from rubricate.cli._params import command_group, name_argument
from rubricate.cli._scale import SCALE_HELP, SCALE_JSON_HELP, parse_scale
from rubricate.cli.align_review import export_prompt

if TYPE_CHECKING:
    from rubricate.domain.alignment import Figure
    from rubricate.domain.metrics import Metric, MetricVersion
    from rubricate.service.metrics import MetricSummary
    from rubricate.service.version_comparison import VersionComparison

app = command_group("Judge metrics: list them, create your own, and manage their versions.")

Name = Annotated[str, name_argument("metric")]
PromptFile = Annotated[
    Path,
    typer.Option(
        "--prompt-file",
        exists=True,
        dir_okay=False,
        readable=True,
        help="A file with the scoring prompt (a Jinja2 template over input, output, "
        "context, expected, metadata, guidelines and scale).",
    ),
]


@app.command("list")
def list_metrics(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """List every metric, built-in and custom, with its active version and scale."""
    emit(workspace(ctx).metrics.list(), json_output, metrics_table)


def metrics_table(summaries: list[MetricSummary]) -> Table:
    rows = []
    for s in summaries:
        active = f"v{s.active.number}" + (" (pinned)" if s.metric.pinned_version else "")
        scale = f"{s.active.scale.describe()} ({s.active.scale.type})"
        rows.append((s.metric.name, s.metric.kind.value, active, s.version_count, scale))
    columns = ("Name", "Kind", "Active", "Versions", "Scale")
    return listing("Metrics", columns, rows, numeric=["Versions"])


@app.command("show")
def show_metric(
    ctx: typer.Context,
    ref: Annotated[
        str, typer.Argument(metavar="NAME", help="NAME (its active version) or NAME@VERSION.")
    ],
    json_output: JsonFlag = False,
) -> None:
    """Show a metric and one of its versions: scale, origin and the full scoring prompt."""
    rb = workspace(ctx)
    metric = rb.metrics.get(ref.partition("@")[0])
    version = rb.metrics.version(ref)
    active = rb.metrics.version(metric.name)
    if json_output:
        print_json({"metric": metric, "version": version, "active_version": active.number})
        return
    say(Text.assemble((metric.name, "bold"), f" ({metric.kind.value} metric)"))
    if metric.description:
        say(metric.description)
    marker = "active" if version.number == active.number else f"active: v{active.number}"
    origin = f"origin {version.origin.value}, created {when(version.created_at)}"
    say(f"Version {version.number} ({marker}), {origin}")
    say(f"Scale: {version.scale.describe()} ({version.scale.type})")
    for value, label in sorted(version.scale.labels.items()):
        say(f"  {value:g} = {label}")
    if metric.judge_model:
        say(f"Default judge model: {metric.judge_model}")
    show(Panel(Text(version.prompt), title="Scoring prompt", title_align="left"))
    if version.guidelines:
        show(Panel(Text(version.guidelines), title="Guidelines", title_align="left"))


@app.command("create")
def create_metric(
    ctx: typer.Context,
    name: Name,
    prompt_file: PromptFile,
    scale: Annotated[str | None, typer.Option("--scale", help=SCALE_HELP)] = None,
    scale_json: Annotated[str | None, typer.Option("--scale-json", help=SCALE_JSON_HELP)] = None,
    description: Annotated[str, typer.Option(help="What the metric judges.")] = "",
    judge_model: Annotated[
        str | None, typer.Option(help="Default judge model, as provider:model.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create a custom metric written by hand; its version 1 is active."""
    parsed = parse_scale(scale, scale_json)
    prompt = prompt_file.read_text(encoding="utf-8")
    version = workspace(ctx).metrics.create(
        name,
        scale=parsed,
        prompt=prompt,
        description=description,
        judge_model=judge_model,
        by=actor(),
    )
    if json_output:
        print_json(version)
        return
    say(
        f"Created the custom metric {name!r}: version {version.number}, scale "
        f"{parsed.describe()} ({parsed.type})."
    )


@app.command("add-version")
def add_version(
    ctx: typer.Context,
    name: Name,
    prompt_file: PromptFile,
    guidelines_file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="A file with the guidelines section."),
    ] = None,
) -> None:
    """Add a version of a custom metric with a new prompt (its scale stays); it becomes the
    active version."""
    rb = workspace(ctx)
    guidelines = guidelines_file.read_text(encoding="utf-8") if guidelines_file else ""
    version = rb.metrics.add_version(
        name,
        prompt=prompt_file.read_text(encoding="utf-8"),
        guidelines=guidelines,
        by=actor(),
    )
    active = rb.metrics.version(name)
    say(f"Created version {version.number} of {name!r}; version {active.number} is active.")


@app.command("versions")
def list_versions(ctx: typer.Context, name: Name, json_output: JsonFlag = False) -> None:
    """List a metric's versions, oldest first, and which one is active."""
    rb = workspace(ctx)
    metric = rb.metrics.get(name)
    versions = rb.metrics.versions(name)
    active = rb.metrics.version(name)
    if json_output:
        print_json({"metric": metric, "active_version": active.number, "versions": versions})
        return
    show(versions_table(metric, versions, active))


def versions_table(metric: Metric, versions: list[MetricVersion], active: MetricVersion) -> Table:
    numbers = {v.id: v.number for v in versions}
    rows = []
    for v in versions:
        parent = f"v{numbers[v.parent_version_id]}" if v.parent_version_id in numbers else None
        mark = ""
        if v.number == active.number:
            mark = "● pinned" if metric.pinned_version else "● newest"
        rows.append((f"v{v.number}", v.origin.value, when(v.created_at), parent, mark))
    columns = ("Version", "Origin", "Created", "Parent", "Active")
    return listing(f"Versions of {metric.name}", columns, rows)


@app.command("pin")
def pin(
    ctx: typer.Context,
    name: Name,
    version: Annotated[int, typer.Argument(help="The version number to make active.")],
) -> None:
    """Make an earlier (or any) version active: a roll-back. New evaluations use it."""
    workspace(ctx).metrics.pin(name, version, by=actor())
    say(f"Version {version} of {name!r} is active (pinned); new evaluations use it.")


@app.command("unpin")
def unpin(ctx: typer.Context, name: Name) -> None:
    """Follow the newest version again, undoing `metrics pin`."""
    rb = workspace(ctx)
    rb.metrics.pin(name, None, by=actor())
    say(
        f"{name!r} follows its newest version: version {rb.metrics.version(name).number} is active."
    )


@app.command("compare")
def compare(
    ctx: typer.Context,
    name: Name,
    evaluation: Annotated[
        str, typer.Option("--evaluation", "-e", help="The evaluation whose human scores to use.")
    ],
    a: Annotated[int, typer.Option("--a", min=1, help="The old version.", show_default=False)],
    b: Annotated[int, typer.Option("--b", min=1, help="The new version.", show_default=False)],
    delta: Annotated[
        float | None,
        typer.Option(help="Within-delta gap. Default: one scale step."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Two versions side by side: each one's agreement with the evaluation's resolved human
    scores, on the rows both have scored. Score an evaluation with a version first:
    `rubricate evaluate -e EVALUATION -m NAME@N` (`--dry-run` for its cost)."""
    found = workspace(ctx).version_comparison.compare(name, evaluation, a, b, delta=delta)
    emit(found, json_output, comparison_table)
    if not json_output and found.rows == 0:
        say(
            f"No row has scores of both versions and a resolved human score: score "
            f"{evaluation!r} with the version that lacks them (rubricate evaluate -e "
            f"{evaluation} -m {name}@N --dry-run shows the cost first)."
        )


def _interval(value: Figure, percent: bool = False) -> str:
    def shown(number: float | None) -> str:
        if number is None:
            return "–"
        return f"{number:.0%}" if percent else f"{number:.3f}"

    if value.low is None or value.high is None:
        return shown(value.value)
    return f"{shown(value.value)} ({shown(value.low)} to {shown(value.high)})"


def comparison_table(found: VersionComparison) -> Table:
    a, b = found.a, found.b
    title = (
        f"{found.metric} v{a.number} vs v{b.number} on {found.evaluation}: "
        f"{found.rows} rows both scored, with a resolved human score"
    )
    figures = [
        ("Exact agreement", "exact", True),
        (f"Within delta ({found.delta:g})", "within_delta", True),
        ("MAE", "mae", False),
        ("Weighted kappa", "kappa", False),
        ("Spearman", "spearman", False),
    ]
    rows = [
        ("Rows scored", str(a.scored), str(b.scored)),
        ("… with a human score", str(a.with_human), str(b.with_human)),
    ]
    for label, attribute, percent in figures:
        first, second = getattr(a.figures, attribute), getattr(b.figures, attribute)
        rows.append((label, _interval(first, percent), _interval(second, percent)))
    rows.append((f"Kappa, v{b.number} − v{a.number}", "", _interval(found.kappa_difference)))
    return listing(title, ("Figure", f"v{a.number}", f"v{b.number}"), rows)


app.command("export-prompt")(export_prompt)
