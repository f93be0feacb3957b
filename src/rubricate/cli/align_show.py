"""Printing an alignment run: counts, guidelines with the user's row ids, the proposed
guidelines verification dropped (and why), and the verification figures as estimates for
the whole evaluation with the paired difference."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from rubricate.cli._output import counted, listing, print_json, say, show, when
from rubricate.models.cost import format_cost

if TYPE_CHECKING:
    from rubricate.domain.alignment import AgreementFigures, AlignmentResult, Verification
    from rubricate.domain.alignment_runs import AlignmentRun
    from rubricate.domain.row_refs import RowRef
    from rubricate.service.workspace import Rubricate

DESIGNS = {
    "stratified": "a stratified sample of disagreeing and agreeing rows, weighted back",
    "random": "a simple random sample",
}


def rows_of(rb: Rubricate, run: AlignmentRun) -> dict[int, RowRef]:
    """The user's ids of the rows the run's result names, read in one go."""
    from rubricate.service.run_rows import result_rows

    return result_rows(rb.db, run.result)


def report_run(rb: Rubricate, run: AlignmentRun, *, json_output: bool) -> None:
    """A run as JSON for scripts, or for people with the user's ids of its rows."""
    if json_output:
        print_json(run)
    else:
        show_run(run, rows_of(rb, run))


def show_run(run: AlignmentRun, rows: Mapping[int, RowRef] | None = None) -> None:
    """``rows``: the user's ids of the rows the result names (service/run_rows.py)."""
    head = Text.assemble((f"Run {run.id}", "bold"), f" of {run.metric}: {run.status.label}")
    if run.phase is not None and not run.status.finished:
        head.append(f", {run.phase.label} ({run.progress_done}/{run.progress_total})")
    say(head)
    say(f"Source evaluations: {', '.join(run.evaluations)}; created {when(run.created_at)}.")
    if run.error:
        say(f"Error: {run.error}", "red")
    if run.result is not None:
        show_result(run.result, rows or {}, run.id)


def show_result(result: AlignmentResult, rows: Mapping[int, RowRef], run_id: str) -> None:
    from rubricate.domain.acceptance import dropped_guidelines
    from rubricate.domain.row_refs import several_sources, shown

    alpha = "n/a" if result.reviewer_alpha is None else f"{result.reviewer_alpha:.3f}"
    say(
        f"{counted(result.disagreements, 'disagreement')} found, "
        f"{counted(result.agreeing_skipped, 'agreeing row')} skipped, "
        f"{counted(result.missing_judge + result.missing_human, 'row')} skipped for missing data; "
        f"reviewer agreement (alpha) {alpha}."
    )
    if result.low_confidence:
        say("Low confidence: fewer than 10 disagreements.", "yellow")
    qualified = several_sources(rows.values())
    guidelines = result.effective_guidelines()
    unchecked = set(result.verification.unchecked)
    checked = result.verification.status == "verified"
    say(Text(f"Guidelines ({result.engine}):", style="bold"))
    for g in guidelines:
        # the offline engine's text says its direction already
        label = g.direction.label if g.direction else ""
        direction = f" [{label}]" if label and label not in g.text else ""
        flag = " (unchecked: the budget ran out before it was tried)" if g.id in unchecked else ""
        if checked and not g.verified and not g.existing and g.id not in unchecked:
            flag = f" (not verified: edited since; rubricate align verify {run_id})"
        support = ""
        if g.row_ids:
            support = f" — rows {shown(g.row_ids, rows).text(qualified=qualified)}"
        say(f"  {g.id}. {g.text}{direction}{flag}{support}")
    if not guidelines:
        say("  none put forward" if result.proposed else "  none")
    dropped = dropped_guidelines(result)
    if dropped:
        say(Text(f"Dropped by verification ({len(dropped)}):", style="bold"))
        for d in dropped:
            say(f"  {d.id}. {d.text} — {d.reason}")
    for note in result.notes:
        say(f"  note: {note}", "dim")
    show_verification(result.verification)
    if result.review.unverified:
        say(f"Accepted unverified, confirmed knowing that {result.review.unverified}.", "yellow")
    u = result.usage
    say(
        f"Model calls: {u.reflection_calls} reflection, {u.judge_calls} judge "
        f"({u.cache_hits} cached, {u.reused_judge_results} stored results reused); "
        f"{u.input_tokens:,} + {u.output_tokens:,} tokens; cost {format_cost(u.cost_usd)}."
    )


def show_verification(v: Verification) -> None:
    from rubricate.domain.acceptance import format_difference

    say(Text.assemble(("Verification: ", "bold"), v.status, f". {v.message}"))
    if v.warning:
        say(v.warning, "yellow")
    if v.before is None or v.after is None:
        return
    design = DESIGNS.get(v.test_design or "", "a sample")
    say(
        f"Estimates for the whole evaluation from {counted(v.test_rows, 'held-out test row')} "
        f"({design}); 95% intervals bootstrapped over input groups."
    )
    show(figures_table(v.before, v.after))
    verdict = (
        "raised agreement"
        if v.raised
        else "lowered agreement"
        if v.test_drop
        else "no clear change (the interval includes 0)"
    )
    say(f"Paired difference: {format_difference(v.difference)}: {verdict}.")


def figures_table(before: AgreementFigures, after: AgreementFigures) -> Table:
    figures = (
        ("exact", "Exact agreement"),
        ("within_delta", "Within delta"),
        ("mae", "MAE"),
        ("kappa", "Weighted kappa"),
        ("spearman", "Spearman"),
    )
    rows = [
        (label, _figure(getattr(before, name)), _figure(getattr(after, name)))
        for name, label in figures
    ]
    title = f"Whole-evaluation estimates from held-out test rows ({after.rows})"
    return listing(title, ("Figure", "Before", "After"), rows)


def _figure(figure: object) -> str:
    value, low, high = (getattr(figure, k) for k in ("value", "low", "high"))
    if value is None:
        return "n/a"
    interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    return f"{value:.3f}{interval}"
