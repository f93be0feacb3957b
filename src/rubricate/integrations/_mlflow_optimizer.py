"""rubricate as MLflow's alignment optimizer::

    from rubricate.integrations.mlflow import RubricateOptimizer

    traces = mlflow.search_traces(locations=[experiment_id], return_type="list")
    aligned = judge.align(traces, optimizer=RubricateOptimizer(
        reflection_lm="openai:gpt-4.1", judge_model="openai:gpt-4.1-mini"))

``align`` imports the traces into a workspace (an evaluation of their rows, the reviewers'
feedback named after the judge as annotations, resolved; the judge's own feedback as judge
results, or, when the traces carry none, scores of ``judge_model``), with the judge's
instructions as the metric's active version; runs rubricate's engine (verified on
held-out rows when a judge model is given); accepts the run into a new version when it
is verified, or when no judge model was given (then it warns that the guidelines are
unverified); and returns the judge with the accepted guidelines after its instructions.
The run stays in the workspace: ``optimizer.last_run_id`` opens it in rubricate's UI.

MLflow is imported with this module, never by ``import rubricate``."""

from __future__ import annotations

import logging
import re
import warnings
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlflow.genai.judges import make_judge
from mlflow.genai.judges.base import AlignmentOptimizer, Judge

from rubricate.domain.acceptance import nothing_to_accept, unverified_reason
from rubricate.domain.alignment_runs import AlignmentRun, Budget
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.metrics import check_metric_name
from rubricate.domain.names import check_evaluation_name
from rubricate.integrations._import_write import existing_scale, known_rows, write_plan
from rubricate.integrations._mlflow_align_write import ACTOR, JudgeFiller, JudgePlan
from rubricate.integrations._mlflow_judge import (
    fits,
    judge_scale,
    rubricate_model,
    rubricate_prompt,
    split_guidelines,
    with_guidelines,
)
from rubricate.integrations._mlflow_read import (
    HUMAN,
    JUDGES,
    NAMES_LISTED,
    MlflowRequest,
    Read,
    fill_plan,
    read_given,
)
from rubricate.integrations._mlflow_write import MlflowImportReport
from rubricate.limits import NAME_MAX_CHARS
from rubricate.service.metrics import check_template

if TYPE_CHECKING:
    from mlflow.entities import Trace

    from rubricate.domain.scale import Scale
    from rubricate.service.workspace import Rubricate

__all__ = ["AlignmentWarning", "RubricateOptimizer"]

log = logging.getLogger(__name__)
EXPECTATION = "expected_response"  # the expectation MLflow's own scorers read
UNREACHABLE = re.compile(r"[/\\\x00-\x1f\x7f]")  # what an evaluation name cannot hold


class AlignmentWarning(UserWarning):
    """The judge came back with unverified guidelines, or without new ones."""


class RubricateOptimizer(AlignmentOptimizer):
    """Align an MLflow judge with rubricate's engine.

    ``reflection_lm``: the model that proposes guidelines (rubricate's ``provider:model``
    names; MLflow's ``provider:/model`` is taken too); None: RUBRICATE_REFLECTION_LM, else
    the built-in offline engine, which needs no model. ``judge_model``: the model that
    verifies the guidelines on held-out rows, and scores the traces when they carry none of
    the judge's feedback; None: no verification. ``delta``: how far apart the judge's and
    the reviewers' scores disagree (default: one step of the scale). ``database_url``: the
    workspace (default: RUBRICATE_DATABASE_URL, else rubricate's default database, the one
    ``rubricate serve`` opens). ``evaluation``: where the traces go (default
    ``mlflow-align-JUDGE-TIMESTAMP``; an existing one takes the traces it lacks).
    ``metric``: the metric the judge becomes (default: the judge's name, or
    ``NAME-mlflow`` for a name a built-in metric has)."""

    def __init__(
        self,
        reflection_lm: str | None = None,
        judge_model: str | None = None,
        delta: float | None = None,
        *,
        database_url: str | None = None,
        evaluation: str | None = None,
        metric: str | None = None,
        budget: Budget | None = None,
        seed: int = 0,
    ) -> None:
        self.reflection_lm = rubricate_model(reflection_lm)
        self.judge_model = rubricate_model(judge_model)
        self.delta = delta
        self.database_url = database_url
        self.evaluation = evaluation
        self.metric = metric
        self.budget = budget
        self.seed = seed
        self.last_run_id: str | None = None  # the latest run, to open in rubricate's UI
        self.last_evaluation: str | None = None

    def align(self, judge: Judge, traces: list[Trace]) -> Judge:
        instructions = getattr(judge, "instructions", None)
        if not isinstance(instructions, str) or not instructions.strip():
            raise InvalidInput(
                f"the judge {judge.name!r} has no instructions: RubricateOptimizer aligns "
                "judges made with mlflow.genai.judges.make_judge",
                field="judge",
            )
        base, guidelines = split_guidelines(instructions)
        prompt = rubricate_prompt(base)
        with self._workspace() as rb:
            run = self._run(rb, judge, list(traces), prompt, guidelines)
            kept = self._accept(rb, run)
        return _remade(judge, with_guidelines(base, guidelines if kept is None else kept))

    def _workspace(self) -> Rubricate:
        from rubricate.service.workspace import Rubricate

        return Rubricate(database_url=self.database_url)

    def _run(
        self, rb: Rubricate, judge: Judge, traces: list[Any], prompt: str, guidelines: str
    ) -> AlignmentRun:
        metric = self.metric or _metric_name(rb, judge.name)
        evaluation = self.evaluation or _evaluation_name(judge.name)
        check_evaluation_name(evaluation)
        request = MlflowRequest(evaluation, "", "", judge.name, metric, EXPECTATION, None)
        read = read_given(traces, request)
        judged = _check_feedback(read, request, self.judge_model)
        scale = _scale(rb, metric, judge.feedback_value_type, read, request)
        check_template(prompt, scale=scale)
        self._preflight(rb, scale)
        plan = JudgePlan(
            scale=scale, create_metric=False, prompt=prompt, guidelines=guidelines,
            description=judge.description or f"The MLflow judge {judge.name!r}.",
            judge_model=self.judge_model,
        )  # fmt: skip
        fill_plan(plan, read, request, known_rows(rb.db, evaluation, list(read.rows)))
        what = f"Traces given to the MLflow judge {judge.name!r}'s align()."
        report = MlflowImportReport(evaluation, experiment="judge.align")
        write_plan(rb.db, JudgeFiller, evaluation, metric, plan, report, description=what,
                   dry_run=False)  # fmt: skip
        rb.annotations.resolve(
            evaluation, metric, "majority" if scale.type == "labels" else "median"
        )
        if not judged:  # the judge's scores come from judge_model (checked: given)
            rb.evaluate(metric=metric, evaluation=evaluation, model=self.judge_model)
        run = rb.alignment_runs.align(
            metric=metric, evaluations=[evaluation], delta=self.delta or scale.step,
            reflection_lm=self.reflection_lm, judge_model=self.judge_model, budget=self.budget,
            seed=self.seed,
        )  # fmt: skip
        self.last_run_id, self.last_evaluation = run.id, evaluation
        log.info("rubricate alignment run %s of %s on %s", run.id, metric, evaluation)
        return run

    def _preflight(self, rb: Rubricate, scale: Scale) -> None:
        """What the run's start would refuse (delta, budget, a model or its key), refused
        before the traces are written."""
        from rubricate.models.names import OFFLINE_ENGINE
        from rubricate.models.providers import resolve_model
        from rubricate.service.alignment_runs import check_budget, check_delta

        check_delta(self.delta or scale.step, scale)
        if self.budget is not None:
            check_budget(self.budget)
        reflection = self.reflection_lm or rb.alignment_runs.default_reflection_lm()
        for name, field in ((reflection, "reflection_lm"), (self.judge_model, "judge_model")):
            if name is not None and name != OFFLINE_ENGINE:
                resolve_model(name, rb.settings, field=field)  # a missing key fails here

    def _accept(self, rb: Rubricate, run: AlignmentRun) -> str | None:
        """The guidelines of the version the run became, or None (the judge unchanged)."""
        result = run.result
        assert result is not None  # the engine raises when a run does not finish
        where = f"run {run.id} of {run.metric!r} in rubricate"
        nothing = nothing_to_accept(run.id, result)
        if nothing is not None:
            _warn(f"the judge comes back unchanged, {nothing} ({where})")
            return None
        reason = unverified_reason(result)
        if reason is not None and self.judge_model is not None:
            _warn(
                f"the judge comes back unchanged: the guidelines were not verified ({reason}); "
                f"review {where} and accept it there, or align without judge_model to take "
                "them unverified"
            )
            return None
        if reason is not None:
            _warn(
                f"the judge comes back with unverified guidelines ({reason}); they were "
                f"accepted as {where}: give judge_model to check them on held-out rows"
            )
        accepted = rb.reviews.accept(run.id, confirm_unverified=reason is not None, by=ACTOR)
        return accepted.version.guidelines


def _warn(message: str) -> None:
    warnings.warn(message, AlignmentWarning, stacklevel=4)


def _metric_name(rb: Rubricate, name: str) -> str:
    try:
        check_metric_name(name)
    except InvalidInput:
        raise InvalidInput(
            f"the judge's name {name!r} is not a valid metric name: name the metric to align "
            "with RubricateOptimizer(metric=...)",
            field="metric",
        ) from None
    try:
        builtin = rb.metrics.get(name).is_builtin
    except NotFound:
        return name
    return f"{name}-mlflow" if builtin else name


def _evaluation_name(judge: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = UNREACHABLE.sub("-", judge)[: NAME_MAX_CHARS - 40]
    return f"mlflow-align-{name}-{stamp}"


def _check_feedback(read: Read, request: MlflowRequest, judge_model: str | None) -> bool:
    """Refuse traces without the reviewers' feedback; whether they hold the judge's."""
    name = request.judge
    if name not in read.names:
        names = ", ".join(n for n, _ in sorted(read.names.items())[:NAMES_LISTED]) or "none"
        raise InvalidInput(
            f"none of the {read.traces} traces has feedback named {name!r}, the judge's name: "
            f"the feedback names they have are {names}; names are case-sensitive",
            field="traces",
        )
    usable = [a for a, reason in read.feedback if not reason and a.trace_id in read.rows]
    if not any(a.source_type == HUMAN for a in usable):
        raise InvalidInput(
            f"none of the {read.traces} traces has a reviewer's feedback named {name!r} "
            "(source HUMAN, on the whole trace, with an input and an output) to align the "
            "judge with: log it with mlflow.log_feedback(trace_id=..., name="
            f"{name!r}, value=..., source=AssessmentSource(source_type='HUMAN', "
            "source_id=REVIEWER))",
            field="traces",
        )
    judged = any(a.source_type in JUDGES for a in usable)
    if not judged and judge_model is None:
        raise InvalidInput(
            f"the traces hold none of the judge's own feedback named {name!r} (source "
            "LLM_JUDGE), which alignment compares with the reviewers': run the judge on them "
            "first (mlflow.genai.evaluate), or give RubricateOptimizer(judge_model=...) to "
            "score them with it",
            field="traces",
        )
    return judged


def _scale(
    rb: Rubricate, metric: str, value_type: Any, read: Read, request: MlflowRequest
) -> Scale:
    """The judge's scale; an existing metric's own when the feedback fits it."""
    found = judge_scale(value_type, read, request)
    existing = existing_scale(rb, metric)
    if existing is None:
        return found
    if existing.type == found.type and fits(existing, read):
        return existing
    raise InvalidInput(
        f"the metric {metric!r} in the workspace has the scale {existing.describe()} and the "
        f"judge's feedback is on {found.describe()}: align it as another metric with "
        "RubricateOptimizer(metric=...)",
        field="metric",
    )


def _remade(judge: Judge, instructions: str) -> Judge:
    """The judge with other instructions, everything else as it was (as MLflow's own
    optimizers remake a judge)."""
    from mlflow.genai.judges import ModelAPI

    return make_judge(
        name=judge.name,
        instructions=instructions,
        model=getattr(judge, "model", None),
        description=judge.description,
        feedback_value_type=judge.feedback_value_type,
        inference_params=getattr(judge, "inference_params", None),
        base_url=getattr(judge, "_base_url", None),
        extra_headers=getattr(judge, "_extra_headers", None),
        generate_rationale_first=getattr(judge, "_generate_rationale_first", False),
        model_api=getattr(judge, "model_api", ModelAPI.DEFAULT),
    )
