"""Answers traced into MLflow with a reviewer's and a judge's feedback, for the MLflow tests
and benchmark: the judge is two points too lenient on long (padded) answers, and the
reviewers' comments name the padding. Needs MLflow (``rubricate[mlflow]``); it is imported
when an answer is logged."""

from __future__ import annotations

from typing import Any

GUIDELINE = "Do not reward length: a long answer is not better for being long."


def is_long(i: int) -> bool:
    return i % 2 == 0


def human_score(i: int) -> int:
    return 1 + i % 3


def judge_score(i: int) -> int:
    """Two points too many on long answers: the blind spot."""
    return human_score(i) + 2 if is_long(i) else human_score(i)


def source(kind: str, who: str) -> Any:
    """An MLflow assessment source: ``kind`` HUMAN or LLM_JUDGE, ``who`` its id."""
    from mlflow.entities import AssessmentSource

    return AssessmentSource(source_type=kind, source_id=who)


def log_answer(i: int, name: str, *, human: bool = True, judged: bool = True) -> str:
    """Answer ``i`` traced in the active experiment, with the reviewer's and the judge's
    feedback named ``name``; its trace id."""
    import mlflow

    filler = " It keeps going with filler sentences." * 30 if is_long(i) else " Short."
    with mlflow.start_span(name="support_answer") as span:
        span.set_inputs({"question": f"Topic {i}: how does item {i} work?"})
        span.set_outputs(f"Answer {i}.{filler}")
    trace_id = mlflow.get_last_active_trace_id()
    if trace_id is None:
        raise RuntimeError("MLflow's tracer is a no-op (a warning turned error?)")
    comment = "rambles and pads the answer" if is_long(i) else "clear enough"
    if human:
        mlflow.log_feedback(trace_id=trace_id, name=name, value=human_score(i),
                            rationale=comment, source=source("HUMAN", f"rev{i % 3}"))  # fmt: skip
    if judged:
        mlflow.log_feedback(trace_id=trace_id, name=name, value=judge_score(i),
                            source=source("LLM_JUDGE", "openai:/gpt-4o-mini"))  # fmt: skip
    return str(trace_id)
