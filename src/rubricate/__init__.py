"""rubricate: align LLM-as-a-judge metrics with your human reviewers.

The public Python API: the workspace, its settings, and the types its methods take and
return (runs, results, budgets, metrics, errors); everything else may move.

Names load on first use (PEP 562): `import rubricate` and the CLI's start-up stay cheap,
since the workspace pulls in the database layer and its services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rubricate.domain.alignment import AlignmentResult, GuidelineItem, Verification
    from rubricate.domain.alignment_runs import AlignmentRun, Budget, Phase, RunStatus
    from rubricate.domain.audit import AuditAction, AuditEvent
    from rubricate.domain.errors import (
        Conflict,
        Forbidden,
        InvalidInput,
        NotFound,
        RubricateError,
    )
    from rubricate.domain.evaluation_runs import EvaluationRun, EvaluationRunStatus
    from rubricate.domain.metrics import Metric, MetricVersion
    from rubricate.domain.queues import (
        Assignment,
        GoldAccuracy,
        GoldScore,
        Queue,
        QueueRequest,
        Selection,
    )
    from rubricate.domain.resolution import Policy
    from rubricate.domain.scale import Scale
    from rubricate.domain.traces import Direction
    from rubricate.domain.users import Role, User
    from rubricate.service.exporting import ExportReport
    from rubricate.service.importing import ImportReport
    from rubricate.service.label_sampling import Proposal
    from rubricate.service.workspace import Rubricate
    from rubricate.settings import Settings

_WHERE = {
    "AlignmentResult": "rubricate.domain.alignment",
    "AlignmentRun": "rubricate.domain.alignment_runs",
    "Assignment": "rubricate.domain.queues",
    "AuditAction": "rubricate.domain.audit",
    "AuditEvent": "rubricate.domain.audit",
    "Budget": "rubricate.domain.alignment_runs",
    "Conflict": "rubricate.domain.errors",
    "Direction": "rubricate.domain.traces",
    "EvaluationRun": "rubricate.domain.evaluation_runs",
    "EvaluationRunStatus": "rubricate.domain.evaluation_runs",
    "ExportReport": "rubricate.service.exporting",
    "Forbidden": "rubricate.domain.errors",
    "GoldAccuracy": "rubricate.domain.queues",
    "GoldScore": "rubricate.domain.queues",
    "GuidelineItem": "rubricate.domain.alignment",
    "ImportReport": "rubricate.service.importing",
    "InvalidInput": "rubricate.domain.errors",
    "Metric": "rubricate.domain.metrics",
    "MetricVersion": "rubricate.domain.metrics",
    "NotFound": "rubricate.domain.errors",
    "Phase": "rubricate.domain.alignment_runs",
    "Policy": "rubricate.domain.resolution",
    "Proposal": "rubricate.service.label_sampling",
    "Queue": "rubricate.domain.queues",
    "QueueRequest": "rubricate.domain.queues",
    "Role": "rubricate.domain.users",
    "Rubricate": "rubricate.service.workspace",
    "RubricateError": "rubricate.domain.errors",
    "RunStatus": "rubricate.domain.alignment_runs",
    "Scale": "rubricate.domain.scale",
    "Selection": "rubricate.domain.queues",
    "Settings": "rubricate.settings",
    "User": "rubricate.domain.users",
    "Verification": "rubricate.domain.alignment",
}

__all__ = [
    "AlignmentResult",
    "AlignmentRun",
    "Assignment",
    "AuditAction",
    "AuditEvent",
    "Budget",
    "Conflict",
    "Direction",
    "EvaluationRun",
    "EvaluationRunStatus",
    "ExportReport",
    "Forbidden",
    "GoldAccuracy",
    "GoldScore",
    "GuidelineItem",
    "ImportReport",
    "InvalidInput",
    "Metric",
    "MetricVersion",
    "NotFound",
    "Phase",
    "Policy",
    "Proposal",
    "Queue",
    "QueueRequest",
    "Role",
    "Rubricate",
    "RubricateError",
    "RunStatus",
    "Scale",
    "Selection",
    "Settings",
    "User",
    "Verification",
]


def _lazy(
    package: str, where: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A package's ``__getattr__`` (PEP 562) for the names ``where`` places in modules;
    rubricate.models loads its names the same way."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value  # found once; later lookups skip this function
        return value

    return __getattr__


__getattr__ = _lazy(__name__, _WHERE, globals())


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
