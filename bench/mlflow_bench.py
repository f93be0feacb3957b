"""MLflow connector benchmark (issue 14): import throughput over MLflow's own read, and
RubricateOptimizer beside MLflow's MemAlign on the same traces and the same fake server.

    python bench/mlflow_bench.py [--quick] [--traces N] [--repeat K] [--profile FILE]
                                 [--only import|optimizers] [--dspy-path DIR]

1. Import. A real MLflow tracking store (SQLite backend) in a temporary folder is filled
   through MLflow's own API (mlflow.start_span, mlflow.log_feedback), once per run and not
   timed: N traces (10,000; 1,000 with --quick), each a root span with a question and an
   answer (a retriever span with documents on every fifth), a reviewer's `tone` feedback
   (a second reviewer's on every other trace) and a judge's (LLM_JUDGE) with a rationale.
   Timed, in this process, after a warm-up page: MLflow's paged read alone
   (MlflowClient.search_traces, 100 a page, oldest first, as the connector calls it), then
   the whole import through the connector (rubricate.integrations.mlflow.import_mlflow,
   what `rubricate import mlflow` calls) into a fresh SQLite workspace (opening and
   migrating it is not timed). Best of K each. Printed: seconds, traces/s, and the
   overhead (import - read) / read. Target: overhead under 20 %; every trace, annotation
   and judge result imported.

2. Optimizers. 200 traces of the same store (another experiment): answers, a reviewer's
   `clarity` feedback and the judge's, which is two points too lenient on long answers.
   A fake OpenAI-compatible server (rubricate.testing.fake_openai, on 127.0.0.1, in this
   process) answers every model: `fake-reflect` proposes "do not reward length" for the
   rows it is shown too leniently judged (rubricate's reflection and MemAlign's
   distillation); `fake-judge` scores like the stored judge unless its instructions hold
   that guideline. `judge.align(traces, optimizer=...)` runs with RubricateOptimizer
   without a judge model (the offline comparison), with one (for the held-out figures
   only rubricate gives), and with MemAlignOptimizer when it can run. Printed per
   optimizer: model calls and prompt tokens the server received (its estimate, four
   characters a token, as it reports usage), wall time, and the run's held-out figures.
   Targets: rubricate without a judge model makes at most 10 model calls and sends no
   more prompt tokens than MemAlign (measured when MemAlign ran; else against the lower
   bound of MemAlign's distillation prompts, rendered with its own template over the same
   traces).

Exit 1 when a target is missed. Without MLflow (the rubricate[mlflow] extra) one line says
so and the bench exits 0.
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import random
import re
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import _WORDS, Targets, bench_parser, load_line, print_columns, text_maker, verdict
from rubricate.testing.mlflow_answers import (
    GUIDELINE,
    human_score,
    judge_score,
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
MAX_OFFLINE_CALLS = 10
REFLECT, JUDGE = "fake-reflect", "fake-judge"
INSTRUCTIONS = (
    "Rate how clear and to the point the answer in {{ outputs }} is for the question in "
    "{{ inputs }}, from 1 (muddled) to 5 (crisp)."
)
ANSWER = re.compile(r"Answer (\d+)\.")
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


# --- 1. import over MLflow's read -------------------------------------------------------------


def mlflow_read(client: Any, experiment_id: str, pages: int | None = None,
                spans: bool = False) -> int:  # fmt: skip
    """MLflow's paged read alone, as the connector calls it; the traces read. With
    ``spans``, each trace's root span's inputs and outputs are read too (MLflow parses
    spans lazily, on first use: the least any reader of the traces pays)."""
    token, read, page_number = None, 0, 0
    while True:
        page = client.search_traces(
            locations=[experiment_id], filter_string=None, max_results=100,
            order_by=["timestamp_ms ASC"], page_token=token,
        )  # fmt: skip
        read += len(page)
        if spans:
            for trace in page:
                root = next(s for s in trace.data.spans if s.parent_id is None)
                _ = (root.inputs, root.outputs)
        token, page_number = page.token, page_number + 1
        if not token or (pages is not None and page_number >= pages):
            return read


def timed(step: Any) -> tuple[float, float, Any]:
    """Wall and CPU seconds of ``step()`` (CPU: this process's, all its threads), and its
    result; garbage collected first, so that no step pays for another's."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def one_import(store: Store, folder: Path, n: int, profile: str | None) -> tuple[float, float, Any]:
    """Wall and CPU seconds of one import into a fresh workspace (opened and migrated
    before the clock starts), and its report."""
    from rubricate import Rubricate, Settings
    from rubricate.integrations.mlflow import import_mlflow

    url = f"sqlite:///{folder / f'workspace-{n}.db'}"
    with Rubricate(Settings(database_url=url, response_cache=False)) as rb:
        profiler = cProfile.Profile() if profile else None

        def step() -> Any:
            if profiler:
                profiler.enable()
            try:
                return import_mlflow(rb, experiment=IMPORT_EXPERIMENT, judge=TONE,
                                     tracking_uri=store.uri)  # fmt: skip
            finally:
                if profiler:
                    profiler.disable()

        wall, cpu, report = timed(step)
        if profiler and profile:
            profiler.dump_stats(profile)
    return wall, cpu, report


def bench_import(store: Store, folder: Path, repeat: int, profile: str | None,
                 check: Targets) -> None:  # fmt: skip
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=store.uri)
    experiment_id = store.experiments[IMPORT_EXPERIMENT]
    mlflow_read(client, experiment_id, pages=1, spans=True)  # warm-up: engine, caches
    runs: dict[str, list[tuple[float, float]]] = {"read": [], "spans": [], "import": []}
    count, report = 0, None
    for n in range(repeat):
        wall, cpu, count = timed(lambda: mlflow_read(client, experiment_id))
        runs["read"].append((wall, cpu))
        wall, cpu, _ = timed(lambda: mlflow_read(client, experiment_id, spans=True))
        runs["spans"].append((wall, cpu))
        wall, cpu, report = one_import(store, folder, n, profile if n == repeat - 1 else None)
        runs["import"].append((wall, cpu))
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
    traces = store.expected["traces"]
    names = {"read": "MLflow search_traces alone", "spans": "  + root spans' inputs, outputs",
             "import": "rubricate import mlflow"}  # fmt: skip
    lines = [["step", "wall s", "CPU s", "traces/s", "wall s of each run"]]
    for key, (wall, cpu) in best.items():
        each = " ".join(f"{w:.2f}" for w, _ in runs[key])
        lines.append([names[key], f"{wall:.2f}", f"{cpu:.2f}", f"{traces / wall:,.0f}", each])
    print(f"\nimport of {traces:,} traces, best of {repeat}:")
    print_columns(lines)
    (read_s, read_cpu), (import_s, import_cpu) = best["read"], best["import"]
    overhead, cpu_overhead = (import_s - read_s) / read_s, (import_cpu - read_cpu) / read_cpu
    over_spans = (import_s - best["spans"][0]) / best["spans"][0]
    print(
        f"rubricate adds {import_s - read_s:.2f} s over MLflow's read: {overhead:.1%} "
        f"(CPU: {cpu_overhead:.1%}; over the read with root spans: {over_spans:.1%})"
    )
    assert report is not None
    check(count == traces, f"MLflow's read returns every trace ({count:,} of {traces:,})")
    check(overhead < OVERHEAD_TARGET,
          f"import overhead over search_traces {overhead:.1%} < {OVERHEAD_TARGET:.0%}")  # fmt: skip
    got = (report.rows_added, report.annotations_added, report.judge_results_added)
    want = (traces, store.expected["annotations"], store.expected["judged"])
    check(got == want, f"rows, annotations, judge results imported {got} = {want}")


# --- 2. RubricateOptimizer beside MemAlign ----------------------------------------------------


def responder(request: Any) -> Any:
    """`fake-reflect` proposes the length guideline for the rows shown too leniently judged
    (rubricate's reflection or MemAlign's distillation); `fake-judge` scores like the
    stored judge unless its instructions hold the guideline."""
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
        found = ANSWER.search(user)
        i = int(found.group(1)) if found else 0
        system = " ".join(m["content"] for m in request.messages if m["role"] != "user")
        score = human_score(i) if GUIDELINE in system + user else judge_score(i)
        answer = {"score": score, "result": score, "rationale": "fake"}
    if request.tool_names and not request.wants_json:
        return FakeReply(tool_args=answer)
    return FakeReply(text=json.dumps(answer))


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
    outcome.note = f"guideline {'kept' if kept else 'not kept'}; run {run.id[:8]}"
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


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = bench_parser(__doc__ or "", f"{QUICK_TRACES:,} traces to import, best of 5")
    parser.add_argument("--traces", type=int, help=f"traces to import (default {FULL_TRACES:,})")
    parser.add_argument(
        "--repeat",
        type=int,
        help="reads and imports, the fastest counts (default 3; 5 with --quick)",
    )
    parser.add_argument("--latency", type=float, default=0.2,
                        help="the fake server's seconds a call (default 0.2)")  # fmt: skip
    parser.add_argument("--profile", help="cProfile statistics of the last import to this file")
    parser.add_argument("--workdir", help="where the store and workspaces go (default: temp)")
    parser.add_argument("--dspy-path", help="a folder holding dspy for MemAlign (pip install "
                        "--target DIR dspy), put after rubricate's own packages")  # fmt: skip
    parser.add_argument("--only", choices=("import", "optimizers"), help="run one part alone")
    args = parser.parse_args()
    if args.dspy_path:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch at import
        sys.path.append(args.dspy_path)
    try:
        import mlflow  # noqa: F401
    except ImportError:
        print("mlflow_bench: skipped: MLflow is not installed (pip install 'rubricate[mlflow]')")
        return 0
    traces = args.traces or (QUICK_TRACES if args.quick else FULL_TRACES)
    repeat = args.repeat or (5 if args.quick else 3)  # small reads vary more
    if traces < 1 or repeat < 1:
        parser.error("--traces and --repeat must be at least 1")
    print(load_line("before"))
    check = Targets()
    with tempfile.TemporaryDirectory(prefix="mlflow-bench-", dir=args.workdir) as tmp:
        folder = Path(tmp)
        store = build_store(folder, 0 if args.only == "optimizers" else traces,
                            align=args.only != "import")  # fmt: skip
        if args.only != "optimizers":
            bench_import(store, folder, repeat, args.profile, check)
        if args.only != "import":
            bench_optimizers(store, folder, args.latency, check)
    print(load_line("after"))
    return verdict(check.missed)


if __name__ == "__main__":
    sys.exit(main())
