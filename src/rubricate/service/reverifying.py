"""Verify again: the one use case behind `rubricate align verify`, POST
/api/v1/alignment-runs/{id}/verify and the run page's button. ``request`` checks that the
run can be verified again (the caller then hands it to a worker, or carries it out here
with ``run``); the work itself is in rubricate.alignment.reverify."""

from __future__ import annotations

from rubricate.alignment.reverify import checked_result, verify_again
from rubricate.domain.alignment_runs import AlignmentRun
from rubricate.domain.errors import InvalidInput
from rubricate.service.base import ConfiguredService
from rubricate.store.runs import find_run, load_run


class VerifyService(ConfiguredService):
    def request(self, run_id: str) -> AlignmentRun:
        """The run, when it can be verified again: Aligned, neither accepted nor rejected,
        with guidelines left and a judge model to check them; else why not."""
        with self._db.read() as session:
            record = find_run(session, run_id)
            run = load_run(session, record)
            checked_result(run_id, record.status, record.result)
        if run.params.judge_model is None:
            raise InvalidInput(
                f"run {run_id!r} was started without a judge model, so it cannot be "
                "verified: start a run with a judge model",
                field="judge_model",
            )
        return run

    def run(self, run_id: str) -> AlignmentRun:
        """Verify the run's current guidelines again, here, and store the result."""
        self.request(run_id)
        return verify_again(self._db, self._settings, run_id)
