"""An MLflow import's plan written through the import every layout uses
(integrations/_import_write.py: one transaction, all or nothing, a dry run rolled back). An
assessment stored by an earlier import that MLflow now gives with another value or
rationale is reported and left as it is, never overwritten."""

from __future__ import annotations

from dataclasses import dataclass, field

from rubricate.integrations._import_write import Change, PlanFiller
from rubricate.integrations._mlflow_read import Assessment, assessment_place
from rubricate.service.importing import ImportReport

SOURCE = "MLflow"  # the "file" of the rows' error messages


@dataclass(frozen=True)
class ChangedAssessment:
    """Feedback stored by an earlier import that MLflow now gives otherwise."""

    assessment_id: str
    trace_id: str
    kind: str  # annotation or judge result
    by: str  # the reviewer, or the judge ("" when none is known)
    stored: float | None
    mlflow: float | None  # on the metric's scale
    comment_changed: bool


@dataclass
class MlflowImportReport(ImportReport):
    tracking_uri: str = ""
    experiment: str = ""
    traces_read: int = 0
    assessments_changed: list[ChangedAssessment] = field(default_factory=list)
    traces_skipped: dict[str, int] = field(default_factory=dict)  # reason -> how many
    assessments_skipped: dict[str, int] = field(default_factory=dict)  # reason -> how many


class Filler(PlanFiller[Assessment, MlflowImportReport]):
    source = SOURCE

    def place(self, item: Assessment) -> str:
        return assessment_place(item)

    def changed(self, item: Assessment, change: Change) -> None:
        self.report.assessments_changed.append(ChangedAssessment(item.id, item.trace_id, *change))
