"""Reviewing alignment runs: `rubricate align accept|reject|edit|strike|restore`, and
`rubricate metrics export-prompt`. Plain functions, registered by the groups they join."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.text import Text

from rubricate.cli._common import workspace
from rubricate.cli._output import JsonFlag, print_json, say
from rubricate.domain.errors import Conflict, InvalidInput
from rubricate.service.prompt_export import EXPORT_FORMATS

if TYPE_CHECKING:
    from rubricate.domain.alignment_runs import AlignmentRun
    from rubricate.service.reviewing import AcceptResult

RunId = Annotated[
    str, typer.Argument(metavar="RUN", help="The alignment run's id.", show_default=False)
]
GuidelineId = Annotated[
    int,
    typer.Argument(
        metavar="GUIDELINE_ID",
        help="The guideline's id within the run (1, 2, ...).",
        show_default=False,
    ),
]
By = Annotated[
    str | None, typer.Option("--by", help="Who reviews, recorded with the decision or edit.")
]


def accept(
    ctx: typer.Context,
    run: RunId,
    merge: Annotated[
        bool,
        typer.Option(
            "--merge",
            help="When another version became active since the run started, combine its "
            "guidelines with the run's instead of refusing.",
        ),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Accept a run that is not verified (no judge, too few rows, a budget cut, "
            "a drop on the test rows) without asking.",
        ),
    ] = False,
    by: By = None,
    json_output: JsonFlag = False,
) -> None:
    """Accept an Aligned run: a custom metric gets its next version (made active); a
    built-in metric is forked into a new custom metric. Accepting again creates nothing.
    A run that is not verified says why and asks first (or needs --yes)."""
    from rubricate.domain.acceptance import UnverifiedRun  # pydantic: only when it runs

    reviews = workspace(ctx).reviews
    try:
        result = reviews.accept(run, merge=merge, confirm_unverified=yes, by=by)
    except UnverifiedRun as unverified:
        if json_output or not sys.stdin.isatty():
            raise Conflict(
                f"run {run!r} is not verified: {unverified.reason}. Pass --yes to accept it "
                "anyway (in a terminal, accept asks instead)"
            ) from None
        say(f"Run {run} is not verified: {unverified.reason}.", "yellow")
        if not typer.confirm("Accept its guidelines anyway?", default=False):
            say("Not accepted.")
            raise typer.Exit(1) from None
        result = reviews.accept(run, merge=merge, confirm_unverified=True, by=by)
    if json_output:
        print_json(result)
        return
    say(accept_line(result))


def accept_line(result: AcceptResult) -> str:
    number = result.version.number
    if not result.created:
        return f"Already accepted: version {number} of {result.metric}."
    merged = " merged with the active version," if result.merged else ""
    if result.forked:
        return (
            f"Accepted run {result.run.id}:{merged} forked {result.run.metric} into "
            f"{result.metric}, version {number}."
        )
    return (
        f"Accepted run {result.run.id}:{merged} created version {number} of {result.metric}, "
        "now active."
    )


def reject(ctx: typer.Context, run: RunId, by: By = None, json_output: JsonFlag = False) -> None:
    """Reject an Aligned run: its guidelines are not used; the run stays in the history."""
    rejected = workspace(ctx).reviews.reject(run, by=by)
    if json_output:
        print_json(rejected)
        return
    say(f"Rejected run {rejected.id}; it stays in the alignment history of {rejected.metric}.")


def edit_guideline(
    ctx: typer.Context,
    run: RunId,
    guideline: GuidelineId,
    text: Annotated[str, typer.Option("--text", help="The guideline's new text.")],
    by: By = None,
    json_output: JsonFlag = False,
) -> None:
    """Reword one guideline of an Aligned run before accepting it; the edit is recorded."""
    edited = workspace(ctx).reviews.edit(run, guideline, text, by=by)
    _reviewed(edited, f"Edited guideline {guideline} of run {edited.id}.", json_output)


def _guideline_mark(
    action: Literal["strike", "restore"], done: str, summary: str
) -> Callable[..., None]:
    """`align strike` and `align restore`, one command for both marks."""

    def command(
        ctx: typer.Context,
        run: RunId,
        guideline: GuidelineId,
        by: By = None,
        json_output: JsonFlag = False,
    ) -> None:
        reviews = workspace(ctx).reviews
        marked: AlignmentRun = getattr(reviews, action)(run, guideline, by=by)
        _reviewed(marked, f"{done} guideline {guideline} of run {marked.id}.", json_output)

    command.__doc__ = summary  # typer's help text
    return command


strike = _guideline_mark(
    "strike",
    "Struck",
    "Strike one guideline of an Aligned run: an accept leaves it out (restore undoes it).",
)
restore = _guideline_mark("restore", "Restored", "Restore a struck guideline of an Aligned run.")


def _reviewed(run: AlignmentRun, line: str, json_output: bool) -> None:
    if json_output:
        print_json(run)
        return
    say(line)
    effective = run.result.effective_guidelines() if run.result else []
    if not effective:
        say("Every guideline is struck: there is nothing to accept.")
        return
    say(f"Guidelines an accept would keep ({len(effective)}):")
    for item in effective:
        say(Text.assemble((f"  {item.id}. ", "bold"), item.text))


def export_prompt(
    ctx: typer.Context,
    ref: Annotated[
        str, typer.Argument(metavar="NAME", help="NAME (its active version) or NAME@VERSION.")
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help=f"One of {', '.join(EXPORT_FORMATS)}: text is the template with the "
            "guidelines filled in; langfuse and promptfoo are chat prompts with {{input}}-style "
            "variables.",
        ),
    ] = "text",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", dir_okay=False, help="Write to this file, not to stdout."),
    ] = None,
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields",
            metavar="LIST",
            help="For langfuse and promptfoo: the optional row fields your rows have, comma "
            "separated (context, expected, metadata; empty: none). Default: every one the "
            "prompt uses.",
        ),
    ] = None,
) -> None:
    """Export a metric version's scoring prompt for your own pipeline or prompt registry."""
    chosen = None if fields is None else [f for f in fields.split(",") if f.strip()]
    text = workspace(ctx).reviews.export_prompt(ref, fmt, fields=chosen)
    if out is None:
        typer.echo(text, nl=False)
        return
    write_atomically(out, text)
    say(f"Wrote the {fmt.strip().lower()} prompt of {ref} to {out}.")


def write_atomically(path: Path, text: str) -> None:
    """Write beside the final name, then move into place: never a half-written file."""
    try:
        _write_atomically(path, text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInput(f"cannot write {path}: {reason}", field="out") from None


def _write_atomically(path: Path, text: str) -> None:
    folder = path.parent
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=folder, prefix=f".{path.name}.", suffix=".partial", delete=False
    ) as handle:
        partial = Path(handle.name)
        try:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
    try:
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
