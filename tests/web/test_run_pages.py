"""The Start Alignment dialog and alignment runs' pages in a TestClient: the dialog's
sources and preview, start (idempotent, queued), a run's page in every status, the review
(strike, restore, edit), accept (admins only; custom: next version, built-in: a fork; a
stale base refused unless merged), reject, cancel, retry, and escaping.

Runs are carried out in this process (``rb.alignment_runs.run``, the offline engine) or
given the result a worker would have stored; the queue records what it was handed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import SignIn, csrf_of

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
from rubricate.domain.metrics import VersionOrigin
from rubricate.domain.resolution import Policy
from rubricate.store.runs import store_result
from rubricate.store.tables import AlignmentRunRecord, utcnow
from rubricate.web.app import create_server_app
from rubricate.web.plots_agreement import agreement_chart

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
    app = create_server_app(demo, single_user=True, run_queue=queue)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        client.headers["X-CSRF-Token"] = csrf_of(client)
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


def ended(
    rb: Rubricate,
    run_id: str,
    status: RunStatus,
    result: AlignmentResult | None = None,
    **fields: object,
) -> None:
    """Give a run the status (and result) a worker would have stored."""
    with rb.db.write() as session:
        record = session.get(AlignmentRunRecord, run_id)
        assert record is not None
        record.status = status.value
        if result is not None:
            store_result(record, result)
        for name, value in fields.items():
            setattr(record, name, value)
        if status.finished:
            record.finished_at = utcnow()


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


# -- the dialog ------------------------------------------------------------------------------


def test_dialog_lists_only_usable_evaluations(
    web: TestClient, demo: Rubricate, tmp_path: Path
) -> None:
    import_builtin(demo, tmp_path)  # judged and resolved for helpfulness only
    html = web.get(f"/metrics/{CUSTOM}/align").text
    assert 'value="support-bot-demo"' in html
    assert BUILTIN_EVALUATION not in html
    assert "1 other evaluation not listed" in html
    assert re.search(r'name="run_id" value="[0-9a-f]{32}"', html)
    assert "builtin:offline" in html and "offline engine" in html
    for label in ("Source evaluations", "Reflection LM", "Judge model", "Delta threshold"):
        assert label in html
    other = web.get(f"/metrics/{BUILTIN}/align").text
    assert f'value="{BUILTIN_EVALUATION}"' in other and 'value="support-bot-demo"' not in other
    assert web.get("/metrics/nope/align").status_code == 404


def test_dialog_without_usable_evaluations_cannot_start(web: TestClient) -> None:
    html = web.get(f"/metrics/{BUILTIN}/align").text
    assert "No evaluation can be used yet" in html
    assert re.search(r'<button type="submit" class="primary"\s+disabled', html)


def test_preview_follows_the_fields(web: TestClient) -> None:
    def preview(**changes: object) -> str:
        response = web.post(
            f"/metrics/{CUSTOM}/align/preview", data={**START, **changes}, headers=HX
        )
        assert response.status_code == 200
        return text_of(response.text)

    at_one = preview()
    assert "23 disagreements at this threshold" in at_one
    assert "0.888 reviewer agreement" in at_one
    assert "$0 estimated cost" in at_one and "Low confidence" not in at_one
    assert "will not be verified" in at_one
    at_four = preview(delta="4")
    assert "3 disagreements at this threshold" in at_four and "Low confidence" in at_four
    assert "Choose at least one source evaluation" in preview(evaluations=[])
    assert "must be a number" in preview(delta="lots")
    assert "at most 4" in preview(delta="9")
    assert "OPENAI_API_KEY" in preview(reflection_lm="openai:gpt-4.1")
    assert "cannot judge rows" in preview(judge_model="builtin:offline")


def test_start_queues_one_run_per_dialog(
    web: TestClient, demo: Rubricate, queue: RecordingQueue
) -> None:
    first = web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "r1"}, headers=HX)
    assert first.status_code == 200
    assert first.headers["HX-Trigger"] == "close-dialog, runs-changed"
    assert "no worker is alive" in first.text
    again = web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "r1"}, headers=HX)
    assert again.status_code == 200
    assert [r.id for r in demo.alignment_runs.list(CUSTOM)] == ["r1"]
    assert queue.enqueued[0] == ("alignment", "r1", "")
    run = demo.alignment_runs.get("r1")
    assert run.status is RunStatus.PENDING and run.params.reflection_lm == "builtin:offline"
    # without htmx: to the run's page
    plain = web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "r2", "delta": "2"})
    assert plain.status_code == 303 and plain.headers["location"] == "/alignment-runs/r2"


def test_a_refused_start_stays_in_the_dialog(web: TestClient, demo: Rubricate) -> None:
    for changes, said in (
        ({"evaluations": []}, "at least one source evaluation"),
        ({"delta": "0"}, "must be above 0"),
        ({"judge_model": "openai:gpt-4.1-mini"}, "OPENAI_API_KEY"),
    ):
        refused = web.post(
            f"/metrics/{CUSTOM}/align", data={**START, "run_id": "x1", **changes}, headers=HX
        )
        assert refused.status_code == 422
        assert refused.headers["HX-Retarget"] == "#align-problem"
        assert said in refused.text
    assert demo.alignment_runs.list(CUSTOM) == []


def test_start_without_csrf_token_changes_nothing(web: TestClient, demo: Rubricate) -> None:
    del web.headers["X-CSRF-Token"]
    refused = web.post(f"/metrics/{CUSTOM}/align", data={**START, "run_id": "r1"})
    assert refused.status_code == 403
    wrong = web.post(
        f"/metrics/{CUSTOM}/align", data={**START, "run_id": "r1", "csrf_token": "forged"}
    )
    assert wrong.status_code == 403
    assert demo.alignment_runs.list(CUSTOM) == []


def test_a_run_that_cannot_be_queued_says_so(demo: Rubricate) -> None:
    class Broken(RecordingQueue):
        def enqueue(self, kind: str, run_id: str, *, attempt: str = "") -> None:
            raise RuntimeError("the queue is down")

    app = create_server_app(demo, single_user=True, run_queue=Broken(demo))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.headers["X-CSRF-Token"] = csrf_of(client)
        refused = client.post(
            f"/metrics/{CUSTOM}/align", data={**START, "run_id": "q1"}, headers=HX
        )
    assert refused.status_code == 422 and "the queue is down" in refused.text
    assert demo.alignment_runs.get("q1").status is RunStatus.CANCELLED


# -- a run in flight ----------------------------------------------------------------------------


def test_a_pending_run_polls_and_can_be_cancelled(
    web: TestClient, demo: Rubricate, queue: RecordingQueue
) -> None:
    run_id = started(web)
    page = web.get(f"/alignment-runs/{run_id}")
    assert page.status_code == 200
    html = page.text
    assert "Pending" in html and 'hx-trigger="every 1s"' in html
    for phase in (
        "Loading annotations",
        "Building disagreement traces",
        "Distilling guidelines",
        "Finalizing",
    ):
        assert phase in html
    assert "Verifying guidelines" not in html  # no judge model
    assert "No worker is alive" in html
    panel = web.get(f"/alignment-runs/{run_id}/panel", headers=HX)
    assert panel.status_code == 200 and "<html" not in panel.text
    cancelled = web.post(f"/alignment-runs/{run_id}/cancel", headers=HX)
    assert cancelled.status_code == 200 and "runs-changed" in cancelled.headers["HX-Trigger"]
    assert "Cancelled" in cancelled.text and "every 1s" not in cancelled.text
    assert queue.cancelled == [run_id]
    again = web.post(f"/alignment-runs/{run_id}/cancel", headers=HX)
    assert again.status_code == 200 and queue.cancelled == [run_id]  # idempotent
    assert demo.alignment_runs.get(run_id).status is RunStatus.CANCELLED


def test_a_running_run_shows_its_phase_and_progress(web: TestClient, demo: Rubricate) -> None:
    run_id = started(web, judge_model="")
    ended(demo, run_id, RunStatus.RUNNING, phase="distilling", progress_done=0, progress_total=1)
    html = web.get(f"/alignment-runs/{run_id}").text
    assert 'class="current" aria-current="step">Distilling guidelines' in html
    assert html.count('class="done"') == 2
    assert "0 / 1 · Distilling guidelines" in text_of(html)
    history = web.get(f"/metrics/{CUSTOM}/runs").text
    assert "every 1s" in history and "Distilling guidelines" in history


def test_a_cancelled_run_shows_what_it_had_counted(web: TestClient, demo: Rubricate) -> None:
    run_id = started(web)
    ended(
        demo,
        run_id,
        RunStatus.CANCELLED,
        phase="distilling",
        disagreements=23,
        agreeing_skipped=23,
        progress_done=0,
        progress_total=1,
    )
    shown = text_of(web.get(f"/alignment-runs/{run_id}").text)
    assert "Cancelled during distilling guidelines" in shown
    assert "23 disagreements found" in shown and "23 agreeing rows skipped" in shown


def test_an_error_run_shows_its_detail_and_retries(
    web: TestClient, demo: Rubricate, queue: RecordingQueue
) -> None:
    run_id = started(web)
    ended(
        demo,
        run_id,
        RunStatus.ERROR,
        phase="distilling",
        error="openai:gpt-4.1: <api.openai.com> refused the key (HTTP 401)",
    )
    html = web.get(f"/alignment-runs/{run_id}").text
    assert "refused the key" in html and "&lt;api.openai.com&gt;" in html
    assert ">Retry</button>" in html
    retried = web.post(f"/alignment-runs/{run_id}/retry", headers=HX)
    assert retried.status_code == 200 and "Pending" in retried.text
    assert queue.enqueued[-1][:2] == ("alignment", run_id) and queue.enqueued[-1][2]
    assert demo.alignment_runs.get(run_id).status is RunStatus.PENDING
    assert web.post(f"/alignment-runs/{run_id}/retry", headers=HX).status_code == 409


def test_unknown_runs_are_404(web: TestClient) -> None:
    assert web.get("/alignment-runs/nope").status_code == 404
    assert "Not found" in web.get("/alignment-runs/nope").text
    assert web.get("/alignment-runs/nope/panel").status_code == 404
    for action in ("cancel", "retry", "accept", "reject", "guidelines/1/strike"):
        missing = web.post(f"/alignment-runs/nope/{action}", headers=HX)
        assert missing.status_code == 404, action
        assert missing.headers["HX-Retarget"] == "#messages"


# -- reviewing and accepting ----------------------------------------------------------------


def test_an_aligned_run_is_reviewed_and_accepted_as_the_next_version(
    web: TestClient, demo: Rubricate
) -> None:
    run_id = started(web)
    carried_out(demo, run_id)  # the offline engine, here
    html = web.get(f"/alignment-runs/{run_id}").text
    shown = text_of(html)
    assert "Aligned" in shown and "23 disagreements found" in shown
    assert "23 agreeing rows skipped" in shown
    assert "Not verified: no judge model was given" in shown
    assert "Accept makes these 3 guidelines version 2 of answer_helpfulness" in shown
    struck = web.post(f"/alignment-runs/{run_id}/guidelines/2/strike", headers=HX)
    assert struck.status_code == 200 and "<del>" in struck.text
    assert "these 2 guidelines" in text_of(struck.text)
    restored = web.post(f"/alignment-runs/{run_id}/guidelines/2/restore", headers=HX)
    assert "<del>" not in restored.text
    edited = web.post(
        f"/alignment-runs/{run_id}/guidelines/1/edit",
        data={"text": "Score answers that break policy 1 or 2."},
        headers=HX,
    )
    assert edited.status_code == 200 and "Score answers that break policy 1 or 2." in edited.text
    assert ">edited<" in edited.text
    accepted = web.post(f"/alignment-runs/{run_id}/accept", data=CONFIRM, headers=HX)
    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["HX-Trigger"] == "runs-changed, metric-changed"
    assert "answer_helpfulness</b> version 2" in accepted.text
    version = demo.metrics.version(CUSTOM)
    assert (version.number, version.origin, version.source_run_id) == (
        2,
        VersionOrigin.ALIGNMENT,
        run_id,
    )
    assert "- Score answers that break policy 1 or 2." in version.guidelines
    again = web.post(f"/alignment-runs/{run_id}/accept", data=CONFIRM, headers=HX)
    assert again.status_code == 200 and len(demo.metrics.versions(CUSTOM)) == 2
    assert ">Accept</button>" not in again.text  # accepted: no more decisions
    page = web.get(f"/metrics/{CUSTOM}").text
    assert f'href="/alignment-runs/{run_id}"' in page and "accepted from" in page


def test_accepting_on_a_builtin_metric_forks_it(
    web: TestClient, demo: Rubricate, tmp_path: Path
) -> None:
    import_builtin(demo, tmp_path)
    run_id = aligned_with(demo, "Do not reward refunds against policy.", metric=BUILTIN)
    shown = text_of(web.get(f"/alignment-runs/{run_id}").text)
    assert "creates a new custom metric, helpfulness-aligned" in shown
    assert "The built-in helpfulness stays unchanged" in shown
    accepted = web.post(f"/alignment-runs/{run_id}/accept", data=CONFIRM)  # a plain form post
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/alignment-runs/{run_id}"
    fork = demo.metrics.get("helpfulness-aligned")
    assert not fork.is_builtin and demo.metrics.version("helpfulness-aligned").number == 1
    assert "helpfulness-aligned</b> version 1" in web.get(f"/alignment-runs/{run_id}").text
    page = web.get("/metrics/helpfulness-aligned").text
    assert "Forked from" in page and "forked from" in page
    assert len(demo.metrics.versions(BUILTIN)) == 1


def test_a_stale_base_is_refused_and_offers_a_merge(web: TestClient, demo: Rubricate) -> None:
    first = aligned_with(demo, "Penalise refunds against policy.")
    second = aligned_with(demo, "Reward short answers.")
    assert web.post(f"/alignment-runs/{first}/accept", data=CONFIRM, headers=HX).status_code == 200
    page = text_of(web.get(f"/alignment-runs/{second}").text)
    assert "version 2 is active now" in page and "Accept and merge" in page
    refused = web.post(f"/alignment-runs/{second}/accept", data=CONFIRM, headers=HX)
    assert refused.status_code == 409
    assert "another run was accepted or a version was added meanwhile" in refused.text
    assert ">Accept and merge</button>" in refused.text
    assert len(demo.metrics.versions(CUSTOM)) == 2
    merged = web.post(
        f"/alignment-runs/{second}/accept", data={**CONFIRM, "merge": "1"}, headers=HX
    )
    assert merged.status_code == 200 and "merged with the version that was active" in merged.text
    newest = demo.metrics.version(CUSTOM)
    assert newest.number == 3
    assert "Penalise refunds" in newest.guidelines and "Reward short answers" in newest.guidelines


def test_a_reviewer_reviews_but_cannot_accept_or_reject(
    sign_in: SignIn, accounts: Rubricate
) -> None:
    run_id = aligned_with(accounts, "Penalise refunds against policy.")
    rex = sign_in("rex")
    token = csrf_of(rex)
    html = rex.get(f"/alignment-runs/{run_id}").text
    assert "Only an admin can accept or reject" in html
    assert ">Accept</button>" not in html and ">Reject</button>" not in html
    for action in ("accept", "reject"):
        refused = rex.post(f"/alignment-runs/{run_id}/{action}", data={"csrf_token": token})
        assert refused.status_code == 403, action
        assert "only an admin" in refused.text
    run = accounts.alignment_runs.get(run_id)
    assert run.result is not None and run.result.review.decision is None
    assert len(accounts.metrics.versions(CUSTOM)) == 1
    struck = rex.post(f"/alignment-runs/{run_id}/guidelines/1/strike", data={"csrf_token": token})
    assert struck.status_code == 303  # reviewers may strike and edit
    ada = sign_in("ada")
    rejected = ada.post(
        f"/alignment-runs/{run_id}/reject", data={"csrf_token": csrf_of(ada)}, headers=HX
    )
    assert rejected.status_code == 200 and "Rejected by ada" in rejected.text


def test_review_without_csrf_token_changes_nothing(web: TestClient, demo: Rubricate) -> None:
    run_id = aligned_with(demo, "Penalise refunds against policy.")
    del web.headers["X-CSRF-Token"]
    for action in ("accept", "reject", "guidelines/1/strike", "cancel"):
        assert web.post(f"/alignment-runs/{run_id}/{action}").status_code == 403, action
    run = demo.alignment_runs.get(run_id)
    assert run.result is not None and run.result.review.decision is None
    assert run.result.review.edits == []


def test_reject_then_accept_is_refused(web: TestClient, demo: Rubricate) -> None:
    run_id = aligned_with(demo, "Penalise refunds against policy.")
    rejected = web.post(f"/alignment-runs/{run_id}/reject", headers=HX)
    assert rejected.status_code == 200 and "Rejected by local" in rejected.text
    refused = web.post(f"/alignment-runs/{run_id}/accept", data=CONFIRM, headers=HX)
    assert refused.status_code == 409 and "was rejected" in refused.text
    assert len(demo.metrics.versions(CUSTOM)) == 1


def test_a_bad_edit_is_refused(web: TestClient, demo: Rubricate) -> None:
    run_id = aligned_with(demo, "Penalise refunds against policy.")
    empty = web.post(f"/alignment-runs/{run_id}/guidelines/1/edit", data={"text": " "}, headers=HX)
    assert empty.status_code == 422 and "must not be empty" in empty.text
    unknown = web.post(f"/alignment-runs/{run_id}/guidelines/9/strike", headers=HX)
    assert unknown.status_code == 422 and "has no guideline 9" in unknown.text


def test_guidelines_and_errors_are_escaped(web: TestClient, demo: Rubricate) -> None:
    attack = "<script>alert('x')</script> & <b>bold</b>"
    run_id = aligned_with(demo, attack)
    for url in (f"/alignment-runs/{run_id}", f"/metrics/{CUSTOM}/runs?open={run_id}"):
        html = web.get(url).text
        assert "<script>alert" not in html and "<b>bold</b>" not in html
        assert (
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
        )
    edited = web.post(
        f"/alignment-runs/{run_id}/guidelines/1/edit",
        data={"text": "<img src=x onerror=alert(1)>"},
        headers=HX,
    )
    assert "<img src=x" not in edited.text and "&lt;img src=x onerror=alert(1)&gt;" in edited.text


def test_verification_figures_chart_and_changed_verdicts(web: TestClient, demo: Rubricate) -> None:
    run_id = verified(demo)
    html = web.get(f"/alignment-runs/{run_id}").text
    shown = text_of(html)
    assert "Checked on 40 held-out test rows" in shown
    assert "Exact agreement 0.450 [0.330 – 0.550] 0.720 [0.600 – 0.820] +0.270" in shown
    assert "Mean absolute error (lower is better) 1.150" in shown
    assert '<svg class="plot"' in html and html.count("<circle") >= 10
    assert "Verdicts the guidelines changed: 4 of 5 test rows" in shown
    assert "sb-001 1 4 1 closer to reviewers" in shown
    assert "sb-004" not in shown  # unchanged verdicts are not listed


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("unverified: too few rows", "Only 12 test rows (at least 30 are needed)"),
        ("nothing beat the current prompt", "No proposal agreed with the reviewers better"),
    ],
)
def test_unverified_results_are_said_plainly(
    web: TestClient, demo: Rubricate, status: str, message: str
) -> None:
    check = Verification.model_validate({"status": status, "message": message})
    run_id = aligned_with(demo, "Penalise refunds.", verification=check)
    shown = text_of(web.get(f"/alignment-runs/{run_id}").text)
    assert f"{status.capitalize()}. {message}" in shown


def test_low_confidence_is_flagged(web: TestClient, demo: Rubricate) -> None:
    run_id = aligned_with(demo, "Penalise refunds.")
    with demo.db.write() as session:
        record = session.get(AlignmentRunRecord, run_id)
        assert record is not None
        record.disagreements = 4
        record.result = {**record.result, "low_confidence": True, "disagreements": 4}
    shown = text_of(web.get(f"/alignment-runs/{run_id}").text)
    assert "Low confidence: fewer than 10 disagreements" in shown
    history = text_of(web.get(f"/metrics/{CUSTOM}/runs").text)
    assert "low confidence" in history


def test_the_chart_axis_reaches_below_zero_for_a_negative_kappa() -> None:
    chart = agreement_chart(figures(0.3, -0.4), figures(0.6, 0.2))
    assert chart.ticks[0].text == "-0.75" and chart.ticks[-1].text == "1"
    assert chart.zero is not None and chart.left < chart.zero < chart.right
    kappa = next(row for row in chart.rows if row.label == "Weighted kappa")
    assert kappa.before.x is not None and kappa.before.x < chart.zero < (kappa.after.x or 0)
