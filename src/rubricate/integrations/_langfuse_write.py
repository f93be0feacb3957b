"""A Langfuse import's plan written through the import every layout uses
(integrations/_import_write.py: one transaction, all or nothing, a dry run rolled back):
rows for the new traces, then annotations and judge results. A score stored before with
another value or comment (changed in Langfuse since) is reported and left as it is, never
overwritten."""

from __future__ import annotations

from dataclasses import dataclass, field

from rubricate.integrations import _import_write
from rubricate.integrations._import_write import Change, PlanFiller, known_rows
from rubricate.integrations._langfuse_models import LfScore
from rubricate.integrations._langfuse_plan import ImportRequest, Plan, score_place
from rubricate.service.importing import ImportReport
from rubricate.store.database import Database

__all__ = ["ChangedScore", "LangfuseImportReport", "known_rows", "write_plan"]

SOURCE = "Langfuse"  # the "file" of the rows' error messages


@dataclass(frozen=True)
class ChangedScore:
    """A score stored by an earlier import that Langfuse now gives otherwise."""

    score_id: str
    trace_id: str
    kind: str  # annotation or judge result
    by: str  # the reviewer, or the judge's model ("" when none is known)
    stored: float | None
    langfuse: float | None  # on the metric's scale
    comment_changed: bool


@dataclass
class LangfuseImportReport(ImportReport):
    host: str = ""
    scores_read: int = 0
    traces_fetched: int = 0
    scores_changed: list[ChangedScore] = field(default_factory=list)
    scores_skipped: dict[str, int] = field(default_factory=dict)  # reason -> how many


class _Filler(PlanFiller[LfScore, LangfuseImportReport]):
    source = SOURCE

    def place(self, item: LfScore) -> str:
        return score_place(item)

    def changed(self, item: LfScore, change: Change) -> None:
        self.report.scores_changed.append(ChangedScore(item.id, item.trace_id or "", *change))


def write_plan(
    db: Database,
    request: ImportRequest,
    plan: Plan,
    report: LangfuseImportReport,
    *,
    description: str,
    dry_run: bool,
) -> LangfuseImportReport:
    return _import_write.write_plan(
        db, _Filler, request.evaluation, request.metric, plan, report,
        description=description, dry_run=dry_run,
    )  # fmt: skip
