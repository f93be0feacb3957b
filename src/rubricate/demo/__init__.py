"""The demo workspace: a support bot's answers, three reviewers and a judge.

The data (``support_bot/``, the annotation dataset layout) was written for rubricate: a
fictional meal-kit company, Larkspur Meals, whose support bot answered 24 customer questions
twice. Reviewers scored each answer's helpfulness (1–5) and policy compliance (fail/pass)
and disagree now and then. The judge's scores (``demo:scripted-judge``) were written for the
demo too: lenient on answers that break policy or ramble, harsh on short ones, which is the
kind of blind spot alignment is for. Reviewers say so in their comments ("against policy",
"too long", "short but complete"), which is what the offline engine distills guidelines from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rubricate.alignment.engine import Progress as AlignmentProgress
from rubricate.domain.alignment_runs import AlignmentRun, RunStatus
from rubricate.domain.errors import Conflict
from rubricate.domain.resolution import Policy
from rubricate.models.names import OFFLINE_ENGINE
from rubricate.service.annotations import ResolveReport
from rubricate.service.importing import ImportReport, Progress
from rubricate.service.workspace import Rubricate

DATASET = Path(__file__).parent / "support_bot"
EVALUATION = "support-bot-demo"
POLICY = Policy.MAJORITY
# The demo's alignment run: its metric, threshold and engine, under a fixed run id (the
# idempotency key), so that running the demo again shows the same run instead of a new one.
ALIGNED_METRIC = "answer_helpfulness"
DELTA = 1.0
REFLECTION_LM = OFFLINE_ENGINE  # no model needed; without a judge model nothing is verified
RUN_ID = "support-bot-demo-alignment"


@dataclass(frozen=True, slots=True)
class DemoReport:
    evaluation: str
    imported: ImportReport
    resolved: dict[str, ResolveReport]  # metric name -> what the policy did


def metric_names() -> list[str]:
    """The demo's criteria, as its dataset.json names them."""
    manifest = json.loads((DATASET / "dataset.json").read_text(encoding="utf-8"))
    return [criterion["name"] for criterion in manifest["criteria"]]


def build_demo(rb: Rubricate, *, progress: Progress | None = None) -> DemoReport:
    """Import the demo data and resolve it with the majority policy; running it again
    changes nothing."""
    imported = rb.import_path(DATASET, EVALUATION, progress=progress)
    resolved = {name: rb.annotations.resolve(EVALUATION, name, POLICY) for name in metric_names()}
    return DemoReport(EVALUATION, imported, resolved)


def align_demo(rb: Rubricate, *, progress: AlignmentProgress | None = None) -> AlignmentRun:
    """Align the demo's helpfulness metric with its reviewers using the offline engine, in
    this process, under the fixed run id ``RUN_ID``: running it again returns the same run
    (carried on if it never finished, retried if it failed), never a second one. Build the
    demo first."""
    try:
        run = rb.alignment_runs.start(
            metric=ALIGNED_METRIC,
            evaluations=[EVALUATION],
            delta=DELTA,
            reflection_lm=REFLECTION_LM,
            run_id=RUN_ID,
        )
    except Conflict:  # the run exists with other parameters (an older release's defaults)
        run = rb.alignment_runs.get(RUN_ID)
    if run.status is RunStatus.ERROR:  # e.g. interrupted by Ctrl-C last time
        run = rb.alignment_runs.retry(run.id)
    if run.status.finished:
        return run
    return rb.alignment_runs.run(run.id, progress=progress)
