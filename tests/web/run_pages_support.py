"""Helpers for the alignment runs' pages in a TestClient (test_run_pages.py and its
neighbours) and in the browser: a queue that records what it is handed (fixtures ``queue``
and ``web``, single-user), built-in rows to align, runs given the status and result a worker
would have stored (``ended``, ``aligned_with``, ``verified``) or carried out in this process
with the offline engine (``carried_out``), and the page's text without its tags."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.run_support import ended
from tests.web.conftest import single_user

from rubricate import Rubricate
from rubricate.api.queueing import RunQueue
from rubricate.demo import EVALUATION
from rubricate.domain.alignment import (
    AgreementFigures,
    AlignmentResult,
    Figure,
    GuidelineItem,
    RowVerdict,
    Verification,
)
from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.resolution import Policy

CUSTOM = "answer_helpfulness"  # the demo's custom metric, 1-5
BUILTIN = "helpfulness"
BUILTIN_EVALUATION = "builtin-judged"
HX = {"HX-Request": "true"}
CONFIRM = {"confirm_unverified": "1"}  # runs of the offline engine are not verified
START = {"evaluations": [EVALUATION], "delta": "1", "reflection_lm": "", "judge_model": ""}


class RecordingQueue(RunQueue):
    """Records what it is handed instead of queuing it for DBOS workers."""

    def __init__(self, rb: Rubricate) -> None:
        super().__init__(rb.settings, rb.db)
        self.enqueued: list[tuple[str, str, str]] = []
        self.cancelled: list[str] = []

    def enqueue(self, kind: str, run_id: str, *, attempt: str = "") -> None:
        self.enqueued.append((kind, run_id, attempt))

    def cancel(self, run_id: str) -> None:
        self.cancelled.append(run_id)

    def alive_workers(self) -> int:
        return 0


@pytest.fixture
def queue(demo: Rubricate) -> RecordingQueue:
    return RecordingQueue(demo)


@pytest.fixture
def web(demo: Rubricate, queue: RecordingQueue) -> Iterator[TestClient]:
    """Single-user (the local admin), with the CSRF header set as htmx sends it."""
    with single_user(demo, queue) as client:
        yield client


# -- helpers shared with the browser tests --------------------------------------------------


def builtin_rows(folder: Path) -> Path:
    """24 rows judged with the built-in helpfulness (version 1), annotated by a reviewer:
    the judge is lenient on answers that promise refunds and harsh on short ones."""
    folder.mkdir(parents=True)
    manifest = {
        "name": folder.name,
        "criteria": [{"name": BUILTIN, "scale": {"type": "ordinal", "min": 1, "max": 5}}],
    }
    (folder / "dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    kinds = {
        0: (5, 2, "promises a refund against policy", "Sure, full refund {i}!"),
        1: (2, 5, "short but complete", "Yes: Help > Orders {i}."),
        2: (4, 4, "fine", "Here is how to change your delivery day, step {i} ..."),
    }
    rows = []
    for i in range(24):
        judge, human, comment, output = kinds[i % 3]
        rows.append(
            {
                "id": f"b{i:02d}",
                "input": f"customer question {i}",
                "output": output.format(i=i),
                "annotations": {
                    BUILTIN: [{"annotator": "ana", "score": human, "comment": comment}]
                },
                "judge": {BUILTIN: {"score": judge, "metric_version": 1, "model": "fake:judge"}},
            }
        )
    text = "\n".join(json.dumps(row) for row in rows) + "\n"
    (folder / "rows.jsonl").write_text(text, encoding="utf-8")
    return folder


def import_builtin(rb: Rubricate, folder: Path) -> str:
    rb.import_path(builtin_rows(folder / BUILTIN_EVALUATION), BUILTIN_EVALUATION)
    rb.annotations.resolve(BUILTIN_EVALUATION, BUILTIN, Policy.MAJORITY)
    return BUILTIN_EVALUATION


def aligned_with(
    rb: Rubricate, *guidelines: str, metric: str = CUSTOM, verification: Verification | None = None
) -> str:
    """A run of ``metric`` that ended Aligned with these guidelines (ids 1, 2, ...)."""
    evaluation = EVALUATION if metric == CUSTOM else BUILTIN_EVALUATION
    run = rb.alignment_runs.start(metric=metric, evaluations=[evaluation], delta=1)
    items = [GuidelineItem(id=i, text=t, row_ids=[1, 2]) for i, t in enumerate(guidelines, 1)]
    result = AlignmentResult(
        engine="builtin:offline",
        guidelines=items,
        disagreements=23,
        agreeing_skipped=23,
        rows_used=46,
        reviewer_alpha=0.888,
        verification=verification or Verification(),
    )
    ended(rb, run.id, RunStatus.ALIGNED, result, disagreements=23, agreeing_skipped=23)
    return run.id


def figures(exact: float, kappa: float) -> AgreementFigures:
    return AgreementFigures(
        rows=40,
        exact=Figure(value=exact, low=exact - 0.12, high=exact + 0.1),
        within_delta=Figure(value=exact + 0.2, low=exact + 0.1, high=min(1, exact + 0.3)),
        mae=Figure(value=1.6 - exact, low=1.4 - exact, high=1.8 - exact),
        kappa=Figure(value=kappa, low=kappa - 0.15, high=kappa + 0.12),
        spearman=Figure(value=kappa + 0.05, low=kappa - 0.1, high=kappa + 0.15),
    )


def raised(**changes: object) -> Verification:
    """A verified run's check: on 120 test rows drawn stratified, the kept guidelines raised
    weighted kappa from 0.31 to 0.39, a paired difference of +0.081 [+0.012, +0.150];
    ``changes`` to it."""
    check = Verification(
        status="verified",
        test_rows=120,
        test_design="stratified",
        before=figures(0.45, 0.31),
        after=figures(0.52, 0.39),
        difference=Figure(value=0.081, low=0.012, high=0.15),
        raised=True,
    )
    return check.model_copy(update=changes)


def verified(rb: Rubricate) -> str:
    """An Aligned run with held-out verification figures and per-row verdicts (the demo has
    too few rows for figures of its own)."""
    verdicts = [
        RowVerdict(row_id=i, external_id=f"sb-{i:03d}", human=h, before=b, after=a)
        for i, (h, b, a) in enumerate([(1, 4, 1), (5, 3, 5), (3, 5, 3), (4, 4, 4), (2, 4, 3)], 1)
    ]
    check = Verification(
        status="verified",
        distill_rows=60,
        selection_rows=40,
        test_rows=40,
        before=figures(0.45, 0.31),
        after=figures(0.72, 0.66),
        rows=verdicts,
    )
    return aligned_with(
        rb,
        "Penalise answers that promise refunds the policy does not allow.",
        "Reward short answers that solve the problem.",
        verification=check,
    )


def carried_out(rb: Rubricate, run_id: str) -> None:
    """Carry the run out here, as a worker would, in a thread of its own: the engine runs
    its own event loop, and Playwright's tests leave one running in this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(rb.alignment_runs.run, run_id).result()


def started(web: TestClient, run_id: str = "run-1", **changes: object) -> str:
    response = web.post(
        f"/metrics/{CUSTOM}/align", data={**START, "run_id": run_id, **changes}, headers=HX
    )
    assert response.status_code == 200, response.text
    return run_id


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
