"""Schemathesis against the app's own OpenAPI document, in process: every response is
declared (status code and body), and nothing is a server error. Stateless, a few
examples per operation, on the demo workspace: once with generated path parameters
(mostly names that do not exist), once with the names of things that do (the demo's
evaluation and metric, a run of each kind), so that the handlers behind a 404 are
exercised too.

The operations are walked here with Hypothesis directly rather than through
schemathesis' pytest plugin, whose fixture loader does not work with this pytest."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tests.api.api_support import EVALUATION, HELPFUL, TOKEN
from tests.run_support import ended, offline_result

from rubricate import Rubricate
from rubricate.api import create_app
from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.queues import QueueRequest
from rubricate.domain.users import LOCAL
from rubricate.models import fake

# Every check but one: "positive data acceptance" expects any schema-valid request to
# succeed, but rules the schema cannot say (a template that compiles, a delta that fits the
# metric's scale, an evaluation with resolved annotations) answer 422 by design.
EXCLUDED: list[Any] = [positive_data_acceptance]
EXAMPLES = 15  # per operation and pass: about 33 operations x 3 passes in under a minute
ALIGNMENT_RUN = "known-alignment"
EVALUATION_RUN = "known-evaluation"
QUEUE = "known-queue"  # reviewed by the token's user, so that next, review and skip answer
QUEUE_ROW = "sb-001"


def _known_runs(rb: Rubricate) -> None:
    """An Aligned alignment run with two guidelines and a Pending evaluation run."""
    rb.alignment_runs.start(metric=HELPFUL, evaluations=[EVALUATION], delta=1, run_id=ALIGNMENT_RUN)
    ended(rb, ALIGNMENT_RUN, RunStatus.ALIGNED, offline_result(["Be strict.", "Be fair."]))
    rb.evaluation_runs.start(
        metric=HELPFUL, evaluation=EVALUATION, model="fake:judge", run_id=EVALUATION_RUN
    )
    request = QueueRequest(QUEUE, EVALUATION, HELPFUL, ("schemathesis",), blind=True)
    rb.queues.create(request, by=LOCAL)


def _known_path(path: str, names: list[str]) -> dict[str, Any]:
    by_area = {"/api/v1/metrics": HELPFUL, "/api/v1/queues": QUEUE}
    values: dict[str, Any] = {
        "name": next((v for a, v in by_area.items() if path.startswith(a)), EVALUATION),
        "evaluation": EVALUATION,
        "metric": HELPFUL,
        "run_id": EVALUATION_RUN if path.startswith("/api/v1/evaluation-runs") else ALIGNMENT_RUN,
        "number": 1,
        "guideline_id": 1,
        "row_id": QUEUE_ROW,
    }
    return {name: values[name] for name in names}


def test_api_conforms_to_its_schema(demo: Rubricate) -> None:
    with fake.registered("judge", lambda _: AssertionError("no model is called")) as judge:
        _known_runs(demo)
        failures, operations = _walk(demo)
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
    assert not judge.calls


def _walk(rb: Rubricate) -> tuple[list[str], int]:
    app = create_app(rb, tokens={TOKEN: "schemathesis"})
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    passes: list[tuple[Any, GenerationMode, bool]] = [
        (operation, mode, known)
        for operation in operations
        for mode, known in (
            (GenerationMode.POSITIVE, False),
            (GenerationMode.NEGATIVE, False),
            (GenerationMode.POSITIVE, True),
        )
    ]
    for operation, mode, known in passes:
        names = [p.name for p in operation.path_parameters]
        if known and not names:
            continue
        fixed = _known_path(operation.path, names) if known else None

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
        def conforms(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"}, excluded_checks=EXCLUDED
            )

        try:
            conforms()
        except Exception as error:  # collect every operation's failure, then report
            label = f"{operation.label} ({mode.value}{', known names' if known else ''})"
            failures.append(f"{label}: {error}")
    return failures, len(operations)
