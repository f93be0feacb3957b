"""The MLflow tracking store the MLflow benchmark reads: a real store (SQLite backend) in a
temporary folder, filled through MLflow's own API, once per run and not timed."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _common import _WORDS, text_maker
from rubricate.testing.mlflow_answers import (
    log_answer,
    source,
)

# no telemetry (no network), traces written before the call returns
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"

FULL_TRACES, QUICK_TRACES = 10_000, 1_000
OVERHEAD_TARGET = 0.20
IMPORT_EXPERIMENT, ALIGN_EXPERIMENT = "bench-import", "bench-align"
TONE, CLARITY = "tone", "clarity"
ALIGN_TRACES = 200
COMMENTS = ("Clear.", "A bit vague.", "Rambles.", "Misses the point.", "Good tone.")


# --- the store --------------------------------------------------------------------------------


@dataclass
class Store:
    uri: str
    experiments: dict[str, str] = field(default_factory=dict)  # name -> id
    expected: Counter[str] = field(default_factory=Counter)  # traces, annotations, judged


def _experiment(store: Store, name: str, folder: Path) -> None:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=store.uri)
    found = client.create_experiment(name, artifact_location=(folder / name).as_uri())
    store.experiments[name] = found
    mlflow.set_experiment(experiment_id=found)


def fill_import(store: Store, folder: Path, traces: int) -> None:
    """``traces`` traces with reviewers' and a judge's `tone` feedback (seeded)."""
    import mlflow

    _experiment(store, IMPORT_EXPERIMENT, folder)
    rng = random.Random(14)
    text = text_maker(rng, _WORDS)
    for i in range(traces):
        with mlflow.start_span(name="support_answer") as span:
            question = text(100, 400)
            span.set_inputs({"question": question})
            if i % 5 == 0:
                with mlflow.start_span(name="search_help", span_type="RETRIEVER") as child:
                    child.set_inputs({"query": question})
                    child.set_outputs([{"page_content": text(100, 300), "metadata": {}}])
            span.set_outputs(text(200, 800))
        trace_id = mlflow.get_last_active_trace_id()
        truth = rng.randint(1, 5)
        reviewers = ("ana", "ben") if i % 2 == 0 else ("ana",)
        for who in reviewers:
            mlflow.log_feedback(trace_id=trace_id, name=TONE, value=truth,
                                rationale=rng.choice(COMMENTS) if rng.random() < 0.3 else None,
                                source=source("HUMAN", who))  # fmt: skip
        mlflow.log_feedback(trace_id=trace_id, name=TONE, value=min(5, truth + rng.randint(0, 1)),
                            rationale=f"The judge's reason {i}.",
                            source=source("LLM_JUDGE", "openai:/gpt-4o-mini"))  # fmt: skip
        store.expected.update(traces=1, annotations=len(reviewers), judged=1)


def fill_align(store: Store, folder: Path) -> None:
    """200 answers with a reviewer's `clarity` feedback (naming the padding) and the judge's."""
    _experiment(store, ALIGN_EXPERIMENT, folder)
    for i in range(ALIGN_TRACES):
        log_answer(i, CLARITY)


def build_store(folder: Path, traces: int, align: bool = True) -> Store:
    import mlflow

    store = Store(f"sqlite:///{folder / 'mlflow.db'}")
    os.environ["MLFLOW_TRACKING_URI"] = store.uri  # as users set it; the connector reads it
    began = time.perf_counter()
    fill_import(store, folder, traces)
    if align:
        fill_align(store, folder)
    mlflow.set_experiment(experiment_id=store.experiments[IMPORT_EXPERIMENT])
    print(f"filled the MLflow store: {traces:,} + {ALIGN_TRACES if align else 0} traces in "
          f"{time.perf_counter() - began:.1f} s (not timed)")  # fmt: skip
    return store
