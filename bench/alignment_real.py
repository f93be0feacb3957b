"""Alignment with real models: score real rows with your judge model, align the metric
with your reflection LM, and report what the simulation reports: the current prompt's
test–retest flip rate, the paired difference in weighted kappa (after minus before) with
its interval, each guideline's decision, calls, tokens and cost. Not run in CI: it calls
paid models (tests/alignment/test_alignment_real.py runs it against the fake
OpenAI-compatible server so it cannot rot).

    python bench/alignment_real.py --judge-model openai:gpt-4.1-mini \\
        --reflection-lm openai:gpt-4.1 [--set feedbackqa | --folder DIR] [--rows 200]

Defaults for the models come from RUBRICATE_JUDGE_MODEL and RUBRICATE_REFLECTION_LM; keys
and base URLs from the providers' usual variables (OPENAI_API_KEY or OPENAI_BASE_URL,
ANTHROPIC_API_KEY, ...) or an endpoint in rubricate's settings. Without them it refuses
before doing anything.

The data: the first N rows of a shared data set (median-resolved), or your own dataset
folder (``--folder``, its first criterion unless ``--metric``). Every call is fresh (the
response cache is bypassed). The rows are scored twice with the current prompt: how often
the two scores differ is the judge's test–retest flip rate, the noise floor any reported
gain sits on. The second scoring is the current prompt's stored result the alignment run
starts from. Exit 1 when the run fails or its test rows show a drop; 2 when models are not
configured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _alignment_data import CRITERIA, import_and_resolve, load, write_folder

ROWS = 200
NOT_CONFIGURED = 2  # exit code


def refuse(message: str) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(NOT_CONFIGURED)


def _configured(name: str | None, what: str, variable: str) -> str:
    if not (name or "").strip():
        refuse(
            f"no {what}: pass --{what.replace(' ', '-')} or set {variable} "
            "(e.g. openai:gpt-4.1-mini); this benchmark calls real models"
        )
    return str(name).strip()


def check_models(reflection_lm: str, judge_model: str) -> None:
    """Refuse, with the reason, unless both models can be called (a key or base URL)."""
    from rubricate import RubricateError, Settings
    from rubricate.models.names import OFFLINE_ENGINE
    from rubricate.models.providers import resolve_model

    settings = Settings()
    for name, field in ((reflection_lm, "reflection_lm"), (judge_model, "judge_model")):
        if name == OFFLINE_ENGINE and field == "reflection_lm":
            continue
        if name.startswith("fake:"):
            refuse(f"{name}: the fake provider has no models outside tests")
        try:
            resolve_model(name, settings, field=field)
        except RubricateError as error:
            refuse(f"cannot use {name} as {field}: {error}")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _cost(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def _figure(figure: Any) -> str:
    if figure.value is None:
        return "—"
    if figure.low is None:
        return _fmt(figure.value)
    return f"{figure.value:.3f} [{_fmt(figure.low)}, {_fmt(figure.high)}]"


def report_alignment(result: Any, seconds: float) -> None:
    check = result.verification
    print(
        f"\nalignment ({seconds:.1f}s): {result.rows_used} rows used, {result.disagreements} "
        f"disagreements, {result.agreeing_skipped} agreeing skipped"
        + (" (low confidence)" if result.low_confidence else "")
    )
    if result.reviewer_alpha is not None:
        print(f"  reviewers' Krippendorff alpha: {result.reviewer_alpha:.3f}")
    print(
        f"  split: {check.distill_rows} distillation disagreements, {check.selection_rows} "
        f"selection rows ({check.selection_design or '—'}), {check.test_rows} test rows "
        f"({check.test_design or '—'})"
    )
    print(f"  verification: {check.status}. {check.message}")
    if check.warning:
        print(f"  warning: {check.warning}")
    if check.difference is not None:
        verdict = "raised" if check.raised else ("drop" if check.test_drop else "not raised")
        print(
            f"  paired difference in weighted kappa (after - before, test rows, whole-"
            f"evaluation estimate): {_figure(check.difference)} ({verdict})"
        )
    if check.before is not None and check.after is not None:
        print(f"\n  {'test part':<14} {'before':>28} {'after':>28}")
        for label in ("kappa", "exact", "within_delta", "mae", "spearman"):
            before, after = getattr(check.before, label), getattr(check.after, label)
            print(f"  {label:<14} {_figure(before):>28} {_figure(after):>28}")
    report_decisions(result)
    for note in result.notes:
        print(f"  note: {note}")
    usage = result.usage
    print(
        f"\n  model calls: {usage.reflection_calls} reflection, {usage.judge_calls} judge "
        f"(planned at most {check.planned_calls}; {usage.cache_hits} cache hits); tokens "
        f"{usage.input_tokens:,} in / {usage.output_tokens:,} out; cost {_cost(usage.cost_usd)}"
    )


def report_decisions(result: Any) -> None:
    """Each proposed guideline: kept or not, and the ablation's decision on the selection
    rows (rows it acted on, improved, regressed, p-values, reason)."""
    check = result.verification
    kept = {g.id for g in result.guidelines}
    decisions = {d.guideline_id: d for d in check.decisions}
    print("\n  guidelines proposed (* kept):")
    for g in result.proposed:
        mark = "*" if g.id in kept else " "
        print(f"   {mark}{g.id}. {g.text}  ({g.direction or 'existing'}, {len(g.row_ids)} rows)")
        decision = decisions.get(g.id)
        if decision is not None:
            print(
                f"       {decision.outcome}: {decision.rows} rows, {decision.improved} improved, "
                f"{decision.regressed} regressed, p {_fmt(decision.p_value)}, Holm "
                f"{_fmt(decision.adjusted_p)}" + (f"; {decision.reason}" if decision.reason else "")
            )
        elif g.dropped_reason:
            print(f"       dropped: {g.dropped_reason}")
        elif g.id in check.unchecked:
            print("       unchecked: the budget ran out before it was tried")
    if not result.proposed:
        print("    (none)")


def score_twice(rb: Any, metric: str, evaluation: str, model: str, concurrency: int | None) -> Any:
    """Score every row with the current prompt twice, fresh; print each scoring and the
    test-retest flip rate; return the second scoring."""
    runs = []
    for attempt in (1, 2):
        started = time.perf_counter()
        scored = rb.evaluate(
            metric=metric, evaluation=evaluation, model=model, concurrency=concurrency, cache=False
        )
        print(
            f"\nscoring {attempt} ({time.perf_counter() - started:.1f}s): {scored.status.value}, "
            f"{scored.rows_scored} of {scored.rows_total} rows scored ({scored.rows_failed} "
            f"failed); {scored.calls} calls, tokens {scored.input_tokens:,} in / "
            f"{scored.output_tokens:,} out; cost {_cost(scored.cost_usd)}"
        )
        if scored.error:
            print(f"  error: {scored.error}", file=sys.stderr)
        runs.append(scored)
    first, second = (run_scores(rb, run.id) for run in runs)
    both = [row for row in first if row in second]
    flips = [abs(first[row] - second[row]) for row in both]
    if both:
        print(
            f"\ntest-retest (current prompt, the same {len(both)} rows scored twice, fresh): "
            f"{sum(1 for d in flips if d > 0) / len(both):.1%} of scores differ, "
            f"{sum(1 for d in flips if d >= 1) / len(both):.1%} by 1 or more; mean |difference| "
            f"{sum(flips) / len(both):.3f}"
        )
    return runs[1]


def run_scores(rb: Any, run_id: str) -> dict[int, float]:
    """The scores an evaluation run stored, by row."""
    from sqlalchemy import select

    from rubricate.store.tables import JudgeResultRecord

    with rb.db.read() as session:
        found = session.execute(
            select(JudgeResultRecord.row_id, JudgeResultRecord.score).where(
                JudgeResultRecord.evaluation_run_id == run_id,
                JudgeResultRecord.score.is_not(None),
            )
        ).all()
    return {row_id: float(score) for row_id, score in found}


def prepare(rb: Any, args: argparse.Namespace, root: Path) -> tuple[str, str]:
    """Import and resolve the rows; return the metric and the evaluation's name."""
    if args.folder is not None:
        manifest = json.loads((args.folder / "dataset.json").read_text(encoding="utf-8"))
        metric = args.metric or manifest["criteria"][0]["name"]
        name = "real"
        rb.import_path(args.folder, name)
        rb.annotations.resolve(name, metric, "median")
        print(f"{args.folder}: criterion {metric}, median-resolved")
        return metric, name
    data = load(args.set, limit=args.rows)
    print(
        f"{data.name}: the first {len(data.rows)} rows (criterion {data.metric}, scale "
        f"{data.low:g}–{data.high:g}), median-resolved"
    )
    folder = write_folder(data, root / "data", None)
    import_and_resolve(rb, data, folder, data.name)
    return data.metric, data.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reflection-lm", default=os.environ.get("RUBRICATE_REFLECTION_LM"))
    parser.add_argument("--judge-model", default=os.environ.get("RUBRICATE_JUDGE_MODEL"))
    parser.add_argument("--set", default="feedbackqa", choices=sorted(CRITERIA))
    parser.add_argument("--folder", type=Path, help="your own dataset folder instead of --set")
    parser.add_argument("--metric", help="with --folder: the criterion (default: its first)")
    parser.add_argument("--rows", type=int, default=ROWS, help=f"first N rows (default {ROWS})")
    parser.add_argument("--delta", type=float, default=1.0, help="disagreement threshold")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-calls", type=int, default=2000, help="alignment budget: calls")
    parser.add_argument("--max-cost", type=float, default=10.0, help="alignment budget: USD")
    parser.add_argument("--concurrency", type=int, help="judge calls in flight when scoring")
    parser.add_argument("--workdir", type=Path, help="where the temporary workspace goes")
    args = parser.parse_args(argv)

    reflection_lm = _configured(args.reflection_lm, "reflection lm", "RUBRICATE_REFLECTION_LM")
    judge_model = _configured(args.judge_model, "judge model", "RUBRICATE_JUDGE_MODEL")
    check_models(reflection_lm, judge_model)

    from rubricate import Budget, Rubricate

    print(
        f"judge {judge_model}, reflection {reflection_lm}, delta {args.delta:g}, seed {args.seed}"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rubricate-real-", dir=args.workdir) as tmp:
        root = Path(tmp)
        with Rubricate(database_url=f"sqlite:///{root / 'w.db'}") as rb:
            metric, evaluation = prepare(rb, args, root)
            scored = score_twice(rb, metric, evaluation, judge_model, args.concurrency)
            if scored.rows_scored == 0:
                print("no row was scored: nothing to align", file=sys.stderr)
                return 1
            aligning_started = time.perf_counter()
            run = rb.alignment_runs.align(
                metric=metric,
                evaluations=[evaluation],
                delta=args.delta,
                reflection_lm=reflection_lm,
                judge_model=judge_model,
                budget=Budget(max_calls=args.max_calls, max_cost_usd=args.max_cost),
                seed=args.seed,
                cache=False,
            )
            seconds = time.perf_counter() - aligning_started
            if run.result is None or run.status.value != "aligned":
                print(f"\nthe alignment run ended {run.status.value}: {run.error}", file=sys.stderr)
                return 1
            report_alignment(run.result, seconds)
            check = run.result.verification
    print(f"\ntotal {time.perf_counter() - started:.1f}s")
    if check.test_drop:
        print(f"\nthe kept guidelines lower test kappa: {check.warning}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
