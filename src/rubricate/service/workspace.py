"""The workspace: one database and the use cases over it. Every interface (CLI, API, web)
goes through this class; none holds logic of its own."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import OperationalError

from rubricate.domain.errors import Unavailable
from rubricate.domain.evaluation_runs import EvaluationRun
from rubricate.service.alignment_runs import AlignmentRunService
from rubricate.service.annotations import AnnotationService
from rubricate.service.evaluating import EvaluationRunService
from rubricate.service.evaluating import Progress as ScoringProgress
from rubricate.service.evaluations import EvaluationService
from rubricate.service.exporting import ExportReport, export_evaluation
from rubricate.service.importing import ImportReport, Progress, import_path
from rubricate.service.metrics import MetricService, sync_builtins
from rubricate.service.reviewing import ReviewService
from rubricate.service.users import UserService
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.migrate import current_revision


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
        self.metrics = MetricService(self.db)
        self.evaluations = EvaluationService(self.db)
        self.annotations = AnnotationService(self.db)
        self.evaluation_runs = EvaluationRunService(self.db, self.settings)
        self.alignment_runs = AlignmentRunService(self.db, self.settings)
        self.reviews = ReviewService(self.db, self.settings)
        self.users = UserService(self.db)

    def upgrade(self) -> tuple[str | None, str | None]:
        """Bring the schema up to date and store the built-in metrics; returns the schema
        revision before and after."""
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
    ) -> ImportReport:
        """Import a dataset folder or flat JSONL/CSV files into ``evaluation``, whole or
        not at all; importing the same data again changes nothing."""
        return import_path(
            self.db,
            Path(path),
            evaluation,
            kind=kind,
            description=description,
            batch_size=self.settings.import_batch_size,
            progress=progress,
        )

    def export(self, evaluation: str, out: str | Path, *, layout: str = "dataset") -> ExportReport:
        """Write ``evaluation`` to the folder ``out``: ``dataset`` (dataset.json and
        rows.jsonl), ``jsonl`` or ``csv`` (rows, annotations, judge_results, resolutions)."""
        return export_evaluation(self.db, evaluation, Path(out), layout=layout)

    def evaluate(
        self,
        *,
        metric: str,
        evaluation: str,
        model: str | None = None,
        temperature: float | None = 0.0,
        seed: int | None = None,
        concurrency: int | None = None,
        cache: bool | None = None,
        run_id: str | None = None,
        progress: ScoringProgress | None = None,
    ) -> EvaluationRun:
        """Score every row of ``evaluation`` with ``metric`` (``NAME`` for its active
        version, ``NAME@N`` for another) and a judge model (default: the metric's, else
        ``RUBRICATE_JUDGE_MODEL``). Earlier results, of any version, are kept."""
        return self.evaluation_runs.evaluate(
            metric=metric,
            evaluation=evaluation,
            model=model,
            temperature=temperature,
            seed=seed,
            concurrency=concurrency,
            cache=cache,
            run_id=run_id,
            progress=progress,
        )

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Rubricate:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
