"""Part 2 of the MLflow benchmark (mlflow_bench.py): RubricateOptimizer beside MLflow's
MemAlign on the same 200 traces and the same fake OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import Targets, print_columns
from mlflow_store import ALIGN_EXPERIMENT, ALIGN_TRACES, CLARITY, Store
from rubricate.testing.mlflow_answers import (
    GUIDELINE,
    human_score,
    is_long,
)
from sim.judge import CANCEL, NOISE, fraction
from sim.vocabulary import classify

MAX_OFFLINE_CALLS = 10
REFLECT, JUDGE = "fake-reflect", "fake-judge"
INSTRUCTIONS = (
    "Rate how clear and to the point the answer in {{ outputs }} is for the question in "
    "{{ inputs }}, from 1 (muddled) to 5 (crisp)."
)
ANSWER = re.compile(r"Answer (\d+)\.")


# --- 2. RubricateOptimizer beside MemAlign ----------------------------------------------------


def responder(request: Any) -> Any:
    """`fake-reflect` proposes the length guideline for the rows shown too leniently judged
    (rubricate's reflection or MemAlign's distillation); `fake-judge` scores like the
    stored judge unless its instructions state a length guideline (see judged)."""
    from rubricate.alignment.trace_format import Direction, parse_blocks
    from rubricate.testing.fake_openai import FakeReply

    user = request.last_user_message
    if request.model == REFLECT:
        if "distill a list of guidelines" in user:  # MemAlign's distillation prompt
            records = [c.partition(",") for c in user.split('"id": ')[1:]]
            ids = [int(n) for n, _, rest in records if n.isdigit() and "filler" in rest]
            answer: dict[str, Any] = {
                "guidelines": [{"guideline_text": GUIDELINE, "source_trace_ids": ids}]
            }
        else:
            rows = [b.row_id for b in parse_blocks(user) if b.direction is Direction.TOO_LENIENT]
            answer = {"guidelines": [{"text": GUIDELINE, "direction": "too_lenient",
                                      "row_ids": rows}]}  # fmt: skip
    else:
        system = " ".join(m["content"] for m in request.messages if m["role"] != "user")
        score = judged(system + "\n" + user, user)
        answer = {"score": score, "result": score, "rationale": "fake"}
    if request.tool_names and not request.wants_json:
        return FakeReply(tool_args=answer)
    return FakeReply(text=json.dumps(answer))


def judged(instructions: str, user: str) -> int:
    """The fake judge's score of the answer in ``user``: the reviewers' score, two points too
    many on a long (padded) answer, unless a line of ``instructions`` states a length
    guideline. It reads that by meaning, as the simulation's judge does
    (sim/vocabulary.classify), applies it to 85% of long answers, and is one point off on
    10% of answers (both seeded by the request text)."""
    found = ANSWER.search(user)
    truth = human_score(int(found.group(1))) if found else 3
    long = "filler" in user
    stated = any(
        classify(line).kind in ("length", "both")
        for line in instructions.splitlines()
        if not ANSWER.search(line) and "Topic " not in line  # the answer's own text
    )
    applied = stated and fraction("cancel-length", user) < CANCEL
    score = truth + (2 if long and not applied else 0)
    if fraction("noise", user) < NOISE:
        score += 1 if fraction("noise-sign", user) < 0.5 else -1
    return min(5, max(1, score))


def true_kappa(instructions: str) -> float:
    """The fake judge's weighted kappa with the reviewers on every aligned trace under
    ``instructions``: what a team would get on all its rows, beside what the run reports
    from its held-out part (noise is drawn from each answer's own text here)."""
    from rubricate.stats import weighted_kappa

    rows = range(ALIGN_TRACES)
    answers = [f"Answer {i}." + (" Some filler." if is_long(i) else "") for i in rows]
    scores = [float(judged(instructions, answer)) for answer in answers]
    return weighted_kappa([float(human_score(i)) for i in rows], scores, [1, 2, 3, 4, 5])


@dataclass
class Outcome:
    name: str
    calls: int = 0
    prompt_tokens: int = 0
    wall: float = 0.0
    held_out: str = "-"
    note: str = ""


def counted(fake: Any, outcome: Outcome) -> Outcome:
    from rubricate.testing._fake_wire import estimate_tokens

    received = fake.requests
    outcome.calls = len(received)
    outcome.prompt_tokens = sum(
        estimate_tokens("".join(m["content"] for m in r.messages)) for r in received
    )
    return outcome


def clarity_judge() -> Any:
    from mlflow.genai.judges import make_judge

    return make_judge(name=CLARITY, instructions=INSTRUCTIONS, model=f"openai:/{JUDGE}",
                      feedback_value_type=int)  # fmt: skip


def align_traces(store: Store) -> list[Any]:
    import mlflow

    return list(mlflow.search_traces(locations=[store.experiments[ALIGN_EXPERIMENT]],
                                     return_type="list", max_results=1000))  # fmt: skip


def run_rubricate(fake: Any, traces: list[Any], folder: Path, judge_model: str | None) -> Outcome:
    from rubricate import Rubricate, Settings
    from rubricate.integrations.mlflow import RubricateOptimizer

    name = "rubricate, judge model" if judge_model else "rubricate, no judge model"
    url = f"sqlite:///{folder / f'align-{bool(judge_model)}.db'}"
    optimizer = RubricateOptimizer(reflection_lm=f"openai-chat:{REFLECT}",
                                   judge_model=judge_model, delta=1, database_url=url)  # fmt: skip
    fake.reset()
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # AlignmentWarning: unverified, expected offline
        aligned = clarity_judge().align(traces, optimizer=optimizer)
    outcome = counted(fake, Outcome(name, wall=time.perf_counter() - began))
    with Rubricate(Settings(database_url=url, response_cache=False)) as rb:
        run = rb.alignment_runs.get(optimizer.last_run_id)
    result = run.result
    assert result is not None
    check = result.verification
    kept = GUIDELINE in aligned.instructions
    before, after = true_kappa(INSTRUCTIONS), true_kappa(aligned.instructions)
    outcome.note = (
        f"guideline {'kept' if kept else 'not kept'}; true on all {ALIGN_TRACES} rows: kappa"
        f" {before:.2f} -> {after:.2f} ({after - before:+.2f}); run {run.id[:8]}"
    )
    if check.status != "not run" and check.before and check.after:
        diff = check.difference.value if check.difference else None
        outcome.held_out = (
            f"{check.status}: {check.test_rows} test rows, kappa {check.before.kappa.value:.2f}"
            f" -> {check.after.kappa.value:.2f} (diff {diff:+.2f})"
            if diff is not None and check.before.kappa.value is not None
            and check.after.kappa.value is not None else check.status
        )  # fmt: skip
    else:
        outcome.held_out = f"{check.status} (no judge model)"
    return outcome


def memalign_bound(traces: list[Any]) -> Outcome:
    """The prompt tokens MemAlign's distillation sends at least: its own template rendered
    over the reviewers' feedback of ``traces`` in its batches of 50 (no embeddings)."""
    import runpy

    import mlflow
    from jinja2 import Template

    from rubricate.testing._fake_wire import estimate_tokens

    # its own module, read as a file: the package's __init__ imports dspy
    prompts = Path(mlflow.__file__).parent / "genai/judges/optimizers/memalign/prompts.py"
    template = Template(runpy.run_path(str(prompts))["DISTILLATION_PROMPT_TEMPLATE"])

    records = []
    for trace in traces:
        root = next(s for s in trace.data.spans if s.parent_id is None)
        human = next(a for a in trace.info.assessments if a.source.source_type == "HUMAN")
        records.append({"inputs": json.dumps(root.inputs), "outputs": root.outputs,
                        "result": human.feedback.value, "rationale": human.rationale})  # fmt: skip
    tokens, calls = 0, 0
    for start in range(0, len(records), 50):
        batch = records[start : start + 50]
        prompt = template.render(judge_instructions=INSTRUCTIONS, feedback_records=batch,
                                 ids=list(range(start, start + len(batch))),
                                 existing_guidelines=[], zip=zip, len=len)  # fmt: skip
        tokens, calls = tokens + estimate_tokens(prompt), calls + 1
    return Outcome("MemAlign, lower bound (not run)", calls=calls, prompt_tokens=tokens,
                   held_out="none (MemAlign has no held-out check)",
                   note="its distillation prompts only; plus 1 embeddings call")  # fmt: skip


def hashed_embedder() -> Any:
    """A dspy.Embedder computed here (words hashed into 64 buckets): the fake server serves
    no /v1/embeddings, and MemAlign's episodic memory needs one."""
    import hashlib

    import dspy
    import numpy as np

    def embed(texts: list[str]) -> Any:
        found = np.zeros((len(texts), 64))
        for i, text in enumerate(texts):
            for word in text.lower().split():
                found[i, hashlib.blake2b(word.encode(), digest_size=2).digest()[0] % 64] += 1
        norms = np.linalg.norm(found, axis=1, keepdims=True)
        return found / np.where(norms == 0, 1, norms)

    return dspy.Embedder(embed, batch_size=200)


def run_memalign(fake: Any, traces: list[Any]) -> Outcome | str:
    """MemAlign against the fake server (its embeddings computed here), or why it cannot
    run (one line)."""
    try:
        import dspy
    except ImportError:
        return ("MemAlign cannot run here: MLflow's MemAlignOptimizer needs dspy (not installed; "
                "it is no dependency of rubricate[mlflow]; --dspy-path DIR names a folder that "
                "has it) and an embedding model (openai:/text-embedding-3-small by default, "
                "POST /v1/embeddings, which the fake OpenAI server does not serve)")  # fmt: skip
    from mlflow.genai.judges.optimizers import MemAlignOptimizer
    from mlflow.genai.judges.optimizers.memalign import optimizer as memalign

    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)  # every call sent
    memalign._build_embedder = lambda model, dimensions: hashed_embedder()
    fake.reset()
    began = time.perf_counter()
    try:
        chosen = MemAlignOptimizer(reflection_lm=f"openai:/{REFLECT}")
        aligned = clarity_judge().align(traces, optimizer=chosen)
    except Exception as exc:  # one line: what MemAlign said
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else repr(exc)
        return f"MemAlign failed against the fake server: {type(exc).__name__}: {first}"
    outcome = counted(fake, Outcome("MemAlign", wall=time.perf_counter() - began))
    kept = [g.guideline_text for g in aligned._semantic_memory]
    length = "kept" if GUIDELINE in kept else "not kept"
    outcome.note = f"{len(kept)} guideline(s), the length one {length}; embeddings made here"
    outcome.held_out = "none (MemAlign has no held-out check)"
    return outcome


def bench_optimizers(store: Store, folder: Path, latency: float, check: Targets) -> None:
    from rubricate.testing.fake_openai import FakeOpenAI, running

    traces = align_traces(store)
    assert len(traces) == ALIGN_TRACES, len(traces)
    fake = FakeOpenAI(latency=latency, responder=responder, models=(REFLECT, JUDGE))
    with running(fake) as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        os.environ["OPENAI_API_BASE"] = server.base_url  # litellm's older name
        os.environ["OPENAI_API_KEY"] = "sk-bench-fake"
        offline = run_rubricate(fake, traces, folder, None)
        verified = run_rubricate(fake, traces, folder, f"openai-chat:{JUDGE}")
        memalign = run_memalign(fake, traces)
        errors = fake.responder_errors
    bound = memalign_bound(traces)
    outcomes = [offline, verified]
    if isinstance(memalign, str):
        print(memalign)
        outcomes.append(bound)
    else:
        outcomes += [memalign, bound]
    print(f"\n{ALIGN_TRACES} traces, fake server at {latency:g} s a call:")
    lines = [["optimizer", "calls", "prompt tokens", "wall s"]]
    for o in outcomes:
        wall = f"{o.wall:.2f}" if o.wall else "-"
        lines.append([o.name, str(o.calls), f"{o.prompt_tokens:,}", wall])
    print_columns(lines)
    for o in outcomes:
        print(f"{o.name}: held-out {o.held_out}; {o.note}")
    check(not errors, f"the fake server answered every request ({errors[:1] or 'no error'})")
    check(offline.calls <= MAX_OFFLINE_CALLS,
          f"rubricate without a judge model: {offline.calls} model calls <= "
          f"{MAX_OFFLINE_CALLS}")  # fmt: skip
    other = bound if isinstance(memalign, str) else memalign
    check(offline.prompt_tokens <= other.prompt_tokens,
          f"rubricate without a judge model: {offline.prompt_tokens:,} prompt tokens <= "
          f"{other.name}'s {other.prompt_tokens:,}")  # fmt: skip
