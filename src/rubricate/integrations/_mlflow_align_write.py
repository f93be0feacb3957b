"""What ``judge.align`` writes before the engine runs, in the import's one transaction
(integrations/_import_write.py: all or nothing): the traces' rows and feedback, and the
judge's instructions as the metric's active version (a new metric, or a new version when
the active one says otherwise), with the judge's own feedback pinned to that version, the
prompt that produced it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from rubricate.domain.audit import AuditAction
from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import MetricKind, VersionOrigin, active_version
from rubricate.integrations._import_write import SourcePlace
from rubricate.integrations._mlflow_judge import same_guidelines
from rubricate.integrations._mlflow_read import MlflowPlan
from rubricate.integrations._mlflow_write import Filler, MlflowImportReport
from rubricate.service.import_batches import Target
from rubricate.service.importing import ImportReport
from rubricate.service.metrics import add_version, load_versions
from rubricate.store.audit import record_event
from rubricate.store.mapping import to_metric
from rubricate.store.metrics import metric_named
from rubricate.store.tables import MetricRecord

ACTOR = "mlflow-align"  # who the audit log says made the metric or version


@dataclass
class JudgePlan(MlflowPlan):
    """An import's plan with the judge's instructions as a metric version."""

    prompt: str = ""
    guidelines: str = ""  # "- " lines, from an earlier alignment's section
    judge_model: str | None = None  # a new metric's judge model


class JudgeFiller(Filler):
    """The import of the judge's traces, its metric version first."""

    def _target(self, report: ImportReport) -> Target:
        plan = self.plan
        assert isinstance(plan, JudgePlan) and isinstance(report, MlflowImportReport)
        number = judge_version(self.session, self.metric, plan, report)
        plan.judged = [
            (item, record.model_copy(update={"metric_version": number}))
            for item, record in plan.judged
        ]
        return self.importer.metric(SourcePlace(self.source, 0), self.metric)


def judge_version(session: Session, name: str, plan: JudgePlan, report: ImportReport) -> int:
    """The number of the metric's version holding the judge's instructions: the active one
    when it holds them already, else a new active one (the metric made when it is new)."""
    record = metric_named(session, name)
    if record is None:
        record = MetricRecord(name=name, description=plan.description, kind=MetricKind.CUSTOM,
                              judge_model=plan.judge_model)  # fmt: skip
        session.add(record)
        session.flush()
        record_event(session, ACTOR, AuditAction.METRIC_CREATED, f"metric {name}")
        report.metrics_created.append(name)
        return _add(session, record, plan, None)
    if record.kind == MetricKind.BUILTIN:  # the caller picks another name; a guard
        raise InvalidInput(f"{name!r} is a built-in metric", field="metric")
    active = active_version(to_metric(record), load_versions(session, record.id))
    if active.prompt == plan.prompt and same_guidelines(active.guidelines, plan.guidelines):
        return active.number
    record.pinned_version = None  # the judge as given is the one to align
    return _add(session, record, plan, active.id)


def _add(session: Session, record: MetricRecord, plan: JudgePlan, parent: int | None) -> int:
    version = add_version(
        session, record, prompt=plan.prompt, scale=plan.scale, origin=VersionOrigin.IMPORT,
        guidelines=plan.guidelines, parent_version_id=parent,
    )  # fmt: skip
    record_event(session, ACTOR, AuditAction.VERSION_ADDED, f"metric {record.name}",
                 version=version.number)  # fmt: skip
    return version.number
