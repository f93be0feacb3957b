"""The workspace: one database and the use cases over it. Every interface (CLI, API, web)
goes through this class; none holds logic of its own."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from sqlalchemy.exc import OperationalError

from rubricate.domain.errors import Unavailable
from rubricate.service.base import LazyService
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.migrate import current_revision

# Each service loads on first use: a command imports only what it calls (the alignment
# engine and the model providers behind evaluation runs take a second or two to import).
if TYPE_CHECKING:
    from rubricate.domain.evaluation_runs import EvaluationRun
    from rubricate.domain.users import User
    from rubricate.service.alignment_runs import AlignmentRunService
    from rubricate.service.annotations import AnnotationService
    from rubricate.service.audit import AuditService
    from rubricate.service.calibration import CalibrationService
    from rubricate.service.evaluating import EvaluateOptions, EvaluationRunService
    from rubricate.service.evaluation_reads import EvaluationReadService
    from rubricate.service.evaluations import EvaluationService
    from rubricate.service.exporting import ExportReport
    from rubricate.service.gold import GoldService
    from rubricate.service.importing import ImportReport, Progress
    from rubricate.service.label_sampling import LabelSamplingService
    from rubricate.service.metrics import MetricService
    from rubricate.service.otel_export import OtelExportReport, Send
    from rubricate.service.otel_import import OtelImportReport
    from rubricate.service.queue_reviews import QueueReviewService
    from rubricate.service.queues import QueueService
    from rubricate.service.reverifying import VerifyService
    from rubricate.service.reviewing import ReviewService
    from rubricate.service.users import UserService
    from rubricate.service.version_comparison import VersionComparisonService


class Rubricate:
    """Open a workspace: ``Rubricate()`` uses the settings from the environment;
    ``Rubricate(database_url="sqlite:///x.db")`` picks a database."""

    def __init__(self, settings: Settings | None = None, *, database_url: str | None = None):
        self.settings = settings or Settings()
        if database_url is not None:
            self.settings = self.settings.model_copy(update={"database_url": database_url})
        self.db = Database(self.settings.database_url)
        try:
            if self.settings.auto_migrate:
                self.upgrade()
        except BaseException:
            self.db.dispose()  # never leave connections behind a workspace that failed to open
            raise

    metrics: LazyService[MetricService] = LazyService("metrics:MetricService")
    evaluations: LazyService[EvaluationService] = LazyService("evaluations:EvaluationService")
    evaluation_reads: LazyService[EvaluationReadService] = LazyService(
        "evaluation_reads:EvaluationReadService"
    )
    annotations: LazyService[AnnotationService] = LazyService("annotations:AnnotationService")
    calibration: LazyService[CalibrationService] = LazyService("calibration:CalibrationService")
    evaluation_runs: LazyService[EvaluationRunService] = LazyService(
        "evaluating:EvaluationRunService"
    )
    alignment_runs: LazyService[AlignmentRunService] = LazyService(
        "alignment_runs:AlignmentRunService"
    )
    reviews: LazyService[ReviewService] = LazyService("reviewing:ReviewService")
    verifying: LazyService[VerifyService] = LazyService("reverifying:VerifyService")
    #: The audit log: who changed what, and when (admins only).
    audit: LazyService[AuditService] = LazyService("audit:AuditService")
    #: Review queues, an admin's side: create, list, progress, conflicts.
    queues: LazyService[QueueService] = LazyService("queues:QueueService")
    #: Review queues, a reviewer's side: next row, submit, skip.
    queue_reviews: LazyService[QueueReviewService] = LazyService("queue_reviews:QueueReviewService")
    #: Gold rows: an admin's known right scores, mixed into review queues.
    gold: LazyService[GoldService] = LazyService("gold:GoldService")
    #: The rows whose review would teach an alignment most (a queue's ``sampler``).
    label_sampling: LazyService[LabelSamplingService] = LazyService(
        "label_sampling:LabelSamplingService"
    )
    users: LazyService[UserService] = LazyService("users:UserService")
    version_comparison: LazyService[VersionComparisonService] = LazyService(
        "version_comparison:VersionComparisonService"
    )

    def upgrade(self) -> tuple[str | None, str | None]:
        """Bring the schema up to date and store the built-in metrics; returns the schema
        revision before and after."""
        from rubricate.service.metrics import sync_builtins

        try:
            before = current_revision(self.db)
            self.db.migrate()
            sync_builtins(self.db)
            return before, current_revision(self.db)
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise Unavailable(f"cannot use {self.db.describe()}: {reason}") from None

    def import_path(
        self,
        path: str | Path,
        evaluation: str,
        *,
        kind: str | None = None,
        description: str | None = None,
        progress: Progress | None = None,
        dry_run: bool = False,
    ) -> ImportReport:
        """Import a dataset folder or flat JSONL/CSV files into ``evaluation``, whole or
        not at all; importing the same data again changes nothing. A dry run checks and
        counts what would come in, and keeps nothing."""
        from rubricate.service.importing import import_path

        return import_path(
            self.db,
            Path(path),
            evaluation,
            kind=kind,
            description=description,
            batch_size=self.settings.import_batch_size,
            progress=progress,
            dry_run=dry_run,
        )

    def import_otel(
        self,
        paths: str | Path | Sequence[str | Path],
        evaluation: str,
        *,
        metric: str | None = None,
        description: str | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> OtelImportReport:
        """Import OpenTelemetry files (OTLP JSON lines, or folders of them): GenAI spans
        become rows, ``gen_ai.evaluation.result`` events judge results or annotations;
        whole or not at all. ``metric`` stores every event under that metric; a dry run
        checks and counts, and keeps nothing."""
        from rubricate.service.otel_import import import_otel

        given = [paths] if isinstance(paths, str | Path) else list(paths)
        return import_otel(
            self.db,
            [Path(p) for p in given],
            evaluation,
            metric=metric,
            description=description,
            dry_run=dry_run,
            batch_size=self.settings.import_batch_size,
            progress=progress,
        )

    def export_otel(
        self,
        evaluation: str,
        out: str | Path | None = None,
        *,
        metric: str | None = None,
        send: Send | None = None,
    ) -> OtelExportReport:
        """Write ``evaluation``'s judge results as ``gen_ai.evaluation.result`` log records
        tied to their spans, to the OTLP JSON lines file ``out`` and/or through ``send``
        (service.otel_export.http_sender: POST to an OTLP/HTTP endpoint)."""
        from rubricate.service.otel_export import export_otel

        return export_otel(
            self.db, evaluation, None if out is None else Path(out), metric=metric, send=send
        )

    def export(
        self,
        evaluation: str,
        out: str | Path,
        *,
        layout: str = "dataset",
        viewer: User | None = None,
    ) -> ExportReport:
        """Write ``evaluation`` to the folder ``out``: ``dataset`` (dataset.json and
        rows.jsonl), ``jsonl`` or ``csv`` (rows, annotations, judge_results, resolutions);
        with ``viewer``, only what that person may see (blind review queues)."""
        from rubricate.service.exporting import export_evaluation

        name = viewer.name if viewer is not None else None
        return export_evaluation(self.db, evaluation, Path(out), layout=layout, viewer=name)

    def evaluate(
        self, *, metric: str, evaluation: str, **options: Unpack[EvaluateOptions]
    ) -> EvaluationRun:
        """Score every row of ``evaluation`` with ``metric`` (``NAME`` for its active
        version, ``NAME@N`` for another) and a judge model (default: the metric's, else
        ``RUBRICATE_JUDGE_MODEL``). Earlier results, of any version, are kept. ``options``:
        model, temperature, seed, run_id, concurrency, cache, progress."""
        return self.evaluation_runs.evaluate(metric=metric, evaluation=evaluation, **options)

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Rubricate:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
