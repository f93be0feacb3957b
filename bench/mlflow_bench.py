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
   distillation); `fake-judge` scores like the stored judge unless its instructions state
   a length guideline, read by meaning and applied imperfectly (mlflow_optimizers.judged).
   `judge.align(traces, optimizer=...)` runs with RubricateOptimizer
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
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Targets, bench_parser, load_line, print_columns, verdict
from mlflow_optimizers import bench_optimizers
from mlflow_store import (
    FULL_TRACES,
    IMPORT_EXPERIMENT,
    OVERHEAD_TARGET,
    QUICK_TRACES,
    TONE,
    Store,
    build_store,
)

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
