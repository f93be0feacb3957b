"""What the metric and run pages show about alignment, gathered from the use cases: the
evaluations a run may learn from, a run's phases, its guidelines as a reviewer left them,
what an accept would do, and the verification figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rubricate.domain.acceptance import nothing_to_accept, unverified_reason
from rubricate.domain.alignment import (
    AgreementFigures,
    AlignmentResult,
    RowVerdict,
    Verification,
)
from rubricate.domain.alignment_runs import AlignmentRun, Phase, RunStatus
from rubricate.domain.metrics import Metric, MetricVersion, active_version
from rubricate.domain.row_refs import RowRef
from rubricate.service.reviewing import FORK_SUFFIX
from rubricate.service.workspace import Rubricate
from rubricate.web.plots_agreement import Chart, agreement_chart
from rubricate.web.row_links import DroppedRow, RowList, dropped_rows, row_list

ORIGINS = {
    "builtin": "shipped with rubricate",
    "manual": "written by hand",
    "fork": "forked from a built-in metric",
    "alignment": "accepted from an alignment run",
    "import": "made by an import, for the judge scores it brought",
}


@dataclass(frozen=True, slots=True)
class Source:
    """An evaluation a run can learn from: completed, with resolved annotations and judge
    results for the metric (what the service checks when a run starts)."""

    name: str
    rows: int
    resolved_rows: int
    judged_rows: int
    reviewers: int


def alignment_sources(rb: Rubricate, metric: str) -> tuple[list[Source], int]:
    """The evaluations that may be chosen, and how many others were left out."""
    chosen: list[Source] = []
    left_out = 0
    for evaluation in rb.evaluations.list():
        coverage = next(
            (c for c in rb.evaluations.show(evaluation.name).metrics if c.metric == metric), None
        )
        usable = (
            evaluation.completed
            and coverage is not None
            and coverage.resolved_rows > 0
            and coverage.judged_rows > 0
        )
        if not usable or coverage is None:
            left_out += 1
            continue
        chosen.append(
            Source(
                evaluation.name,
                evaluation.row_count,
                coverage.resolved_rows,
                coverage.judged_rows,
                coverage.reviewers,
            )
        )
    return chosen, left_out


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    state: str  # "done", "current" or "todo"


def steps(run: AlignmentRun) -> list[Step]:
    """The phases a run goes through (verification only with a judge model), each done,
    current or still to come."""
    phases = [p for p in Phase if p is not Phase.VERIFYING or run.params.judge_model]
    if run.status is RunStatus.ALIGNED:
        return [Step(p.label, "done") for p in phases]
    current = run.phase
    if current is None:
        return [Step(p.label, "todo") for p in phases]
    order = list(Phase)
    shown = []
    for phase in phases:
        if order.index(phase) < order.index(current):
            shown.append(Step(phase.label, "done"))
        elif phase is current:
            shown.append(Step(phase.label, "current"))
        else:
            shown.append(Step(phase.label, "todo"))
    return shown


@dataclass(frozen=True, slots=True)
class GuidelineRow:
    id: int
    text: str
    original: str
    struck: bool
    edited: bool
    direction: str | None
    row_ids: list[int]
    evidence: str
    existing: bool
    rows: RowList
    counter_rows: RowList
    unchecked: bool = False  # the budget ran out before verification tried it
    verified: bool = False  # kept by verification and not edited since


def guideline_rows(
    result: AlignmentResult, refs: Mapping[int, RowRef] | None = None, metric: str = ""
) -> list[GuidelineRow]:
    """Every guideline of the run with the reviewer's edits: struck ones kept (marked), so
    that they can be restored. ``refs``: the user's ids of the rows the result names."""
    refs = refs or {}
    unchecked = set(result.verification.unchecked)
    effective = {g.id: g for g in result.effective_guidelines()}
    texts = {g.id: g.text for g in result.guidelines}
    for edit in result.review.edits:
        if edit.action == "edit" and edit.text is not None:
            texts[edit.guideline_id] = edit.text
    return [
        GuidelineRow(
            id=g.id,
            text=effective[g.id].text if g.id in effective else texts[g.id],
            original=g.text,
            struck=g.id not in effective,
            edited=texts[g.id] != g.text,
            direction=g.direction.label if g.direction else None,
            row_ids=list(g.row_ids),
            evidence=g.evidence,
            existing=g.existing,
            rows=row_list(g.row_ids, refs, metric),
            counter_rows=row_list(g.counter_row_ids, refs, metric),
            unchecked=g.id in unchecked,
            verified=effective[g.id].verified if g.id in effective else g.verified,
        )
        for g in result.guidelines
    ]


@dataclass(frozen=True, slots=True)
class FigureRow:
    label: str
    before: str
    before_interval: str
    after: str
    after_interval: str
    change: str
    better: bool | None  # None: no change or unknown


FIGURES = (
    ("exact", "Exact agreement", True),
    ("within_delta", "Within-delta agreement", True),
    ("mae", "Mean absolute error", False),
    ("kappa", "Weighted kappa", True),
    ("spearman", "Spearman", True),
)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def figure_rows(before: AgreementFigures, after: AgreementFigures) -> list[FigureRow]:
    rows = []
    for key, label, higher_is_better in FIGURES:
        old, new = getattr(before, key), getattr(after, key)
        change = "—"
        better: bool | None = None
        if old.value is not None and new.value is not None:
            diff = new.value - old.value
            change = f"{diff:+.3f}"
            if abs(diff) > 1e-9:
                better = (diff > 0) == higher_is_better
        rows.append(
            FigureRow(
                label=label,
                before=_fmt(old.value),
                before_interval=f"{_fmt(old.low)} – {_fmt(old.high)}",
                after=_fmt(new.value),
                after_interval=f"{_fmt(new.low)} – {_fmt(new.high)}",
                change=change,
                better=better,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """After minus before weighted kappa on the same test rows, with its interval."""

    value: str
    interval: str
    verdict: str  # "raised", "lowered" or "no clear change"
    design: str  # how the test rows were drawn


DESIGNS = {
    "stratified": "a stratified sample of disagreeing and agreeing rows, weighted back",
    "random": "a simple random sample",
}


def paired_difference(check: Verification) -> PairedDifference | None:
    d = check.difference
    if d is None or d.value is None:
        return None
    interval = "" if d.low is None or d.high is None else f"{d.low:+.3f} – {d.high:+.3f}"
    verdict = "raised" if check.raised else "lowered" if check.test_drop else "no clear change"
    design = DESIGNS.get(check.test_design or "", "a sample")
    return PairedDifference(f"{d.value:+.3f}", interval, verdict, design)


@dataclass(frozen=True, slots=True)
class VerdictRow:
    external_id: str
    human: float
    before: float | None
    after: float | None
    effect: str  # "closer", "further", "same gap", "unknown"


def verdict_rows(rows: list[RowVerdict]) -> list[VerdictRow]:
    shown = []
    for row in rows:
        if row.before is None or row.after is None:
            effect = "unknown"
        else:
            old, new = abs(row.before - row.human), abs(row.after - row.human)
            effect = "closer" if new < old else "further" if new > old else "same gap"
        shown.append(VerdictRow(row.external_id, row.human, row.before, row.after, effect))
    return shown


@dataclass
class RunView:
    """Everything a run's panel shows."""

    run: AlignmentRun
    metric: Metric
    base: MetricVersion | None
    active: MetricVersion
    steps: list[Step]
    fork_name: str
    next_number: int  # the version number an accept would make (1 for a fork)
    accepted: tuple[str, int] | None = None  # (metric, version number) an accept made
    guidelines: list[GuidelineRow] = field(default_factory=list)
    figures: list[FigureRow] = field(default_factory=list)
    paired: PairedDifference | None = None
    chart: Chart | None = None
    changed: list[VerdictRow] = field(default_factory=list)
    verdicts: list[VerdictRow] = field(default_factory=list)
    dropped: list[DroppedRow] = field(default_factory=list)
    nothing_to_accept: str | None = None  # why an accept would create nothing
    unverified: str | None = None  # why the run is not verified: an accept asks first
    verifying: bool = False  # a Verify again is queued or with a worker (the page asks it)
    verify_failure: str | None = None  # why the latest Verify again stored no check

    @property
    def in_flight(self) -> bool:
        return not self.run.status.finished

    @property
    def result(self) -> AlignmentResult | None:
        return self.run.result

    @property
    def open_for_review(self) -> bool:
        result = self.run.result
        return (
            self.run.status is RunStatus.ALIGNED
            and result is not None
            and result.review.decision is None
            and self.run.accepted_version_id is None
        )

    @property
    def verified_run(self) -> bool:
        result = self.run.result
        return result is not None and result.verification.status == "verified"

    def not_verified(self, guideline: GuidelineRow) -> bool:
        """The "not verified" mark: a kept guideline of a verified run that verification's
        figures do not cover (edited since; an unchecked one says so already)."""
        return (
            self.verified_run
            and not guideline.struck
            and not guideline.verified
            and not guideline.unchecked
        )

    @property
    def can_verify_again(self) -> bool:
        """Offer Verify again: open for review, a judge model to check with, guidelines
        left, and figures that do not cover them (edited since, or never verified)."""
        return (
            self.open_for_review
            and self.run.params.judge_model is not None
            and self.kept > 0
            and (not self.verified_run or any(self.not_verified(g) for g in self.guidelines))
        )

    @property
    def stale(self) -> bool:
        """Another version became active since the run started: a plain accept is refused."""
        return self.active.id != self.run.base_version_id

    @property
    def kept(self) -> int:
        return sum(not g.struck for g in self.guidelines)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fork_name(rb: Rubricate, metric: str) -> str:
    taken = {summary.metric.name for summary in rb.metrics.list()}
    name = metric + FORK_SUFFIX
    number = 1
    while name in taken:
        number += 1
        name = f"{metric}{FORK_SUFFIX}-{number}"
    return name


def run_view(rb: Rubricate, run: AlignmentRun) -> RunView:
    metric = rb.metrics.get(run.metric)
    versions = rb.metrics.versions(run.metric)
    view = RunView(
        run=run,
        metric=metric,
        base=next((v for v in versions if v.id == run.base_version_id), None),
        active=active_version(metric, versions),
        steps=steps(run),
        fork_name=_fork_name(rb, metric.name) if metric.is_builtin else metric.name,
        next_number=1 if metric.is_builtin else max(v.number for v in versions) + 1,
    )
    result = run.result
    if result is None:
        return view
    review = result.review
    if review.decision == "accepted" and review.metric and review.version_id is not None:
        own = versions if review.metric == metric.name else rb.metrics.versions(review.metric)
        number = next((v.number for v in own if v.id == review.version_id), None)
        if number is not None:
            view.accepted = (review.metric, number)
    refs = rb.alignment_runs.result_rows(result)
    view.guidelines = guideline_rows(result, refs, run.metric)
    view.dropped = dropped_rows(result, refs, run.metric)
    nothing = nothing_to_accept(run.id, result)
    unverified = unverified_reason(result)
    view.nothing_to_accept = nothing and _sentence(nothing.removeprefix("nothing to accept: "))
    view.unverified = unverified and _sentence(unverified)
    check = result.verification
    if check.before is not None and check.after is not None:
        view.figures = figure_rows(check.before, check.after)
        view.chart = agreement_chart(check.before, check.after)
    view.paired = paired_difference(check)
    view.verdicts = verdict_rows(check.rows)
    view.changed = [
        v for v, row in zip(view.verdicts, check.rows, strict=True) if row.before != row.after
    ]
    return view
