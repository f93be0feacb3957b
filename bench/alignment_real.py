"""Alignment with real models: score real rows with your judge model, align the metric
with your reflection LM, and report what the simulation reports (test-part kappa before
and after, calls, tokens, cost, the guidelines). Not run in CI: it calls paid models.

    python bench/alignment_real.py --judge-model openai:gpt-4.1-mini \\
        --reflection-lm openai:gpt-4.1 [--set feedbackqa] [--rows 200] [--delta 1]

Defaults for the models come from RUBRICATE_JUDGE_MODEL and RUBRICATE_REFLECTION_LM; keys
and base URLs from the providers' usual variables (OPENAI_API_KEY or OPENAI_BASE_URL,
ANTHROPIC_API_KEY, ...) or an endpoint in rubricate's settings. Without them it refuses
before doing anything.

The shared data sets carry no judge scores, so the first N rows (median-resolved) are
scored with the judge model first (`rb.evaluate`), and the alignment then reuses those
scores as the current prompt's. Exit 1 when the run fails, or when the guidelines it keeps
lower test kappa (the simulation's second rule); 2 when models are not configured.
"""

from __future__ import annotations

import argparse
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
        f"selection rows, {check.test_rows} test rows"
    )
    print(f"  verification: {check.status}. {check.message}")
    if check.before is not None and check.after is not None:
        print(f"\n  {'test part':<14} {'before':>28} {'after':>28}")
        for label in ("kappa", "exact", "within_delta", "mae", "spearman"):
            before, after = getattr(check.before, label), getattr(check.after, label)
            print(f"  {label:<14} {_figure(before):>28} {_figure(after):>28}")
    if check.proposals:
        print("\n  proposals on the selection rows (kappa, exact):")
        for proposal in check.proposals:
            figures = proposal.selection
            kappa = _fmt(figures.kappa.value) if figures else "—"
            exact = _fmt(figures.exact.value) if figures else "—"
            ids = ", ".join(str(i) for i in proposal.guideline_ids) or "current prompt"
            note = f" ({proposal.note})" if proposal.note else ""
            print(f"    [{ids}]{note}: {kappa}, {exact}")
    kept = {g.id for g in result.guidelines}
    print("\n  guidelines proposed (* kept):")
    for g in result.proposed:
        mark = "*" if g.id in kept else " "
        print(f"   {mark}{g.id}. {g.text}  ({g.direction or 'existing'}, {len(g.row_ids)} rows)")
    if not result.proposed:
        print("    (none)")
    for note in result.notes:
        print(f"  note: {note}")
    usage = result.usage
    print(
        f"\n  model calls: {usage.reflection_calls} reflection, {usage.judge_calls} judge "
        f"({usage.reused_judge_results} stored judge results reused, {usage.cache_hits} "
        f"cache hits); tokens {usage.input_tokens:,} in / {usage.output_tokens:,} out; "
        f"cost {_cost(usage.cost_usd)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reflection-lm", default=os.environ.get("RUBRICATE_REFLECTION_LM"))
    parser.add_argument("--judge-model", default=os.environ.get("RUBRICATE_JUDGE_MODEL"))
    parser.add_argument("--set", default="feedbackqa", choices=sorted(CRITERIA))
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

    from rubricate import Rubricate
    from rubricate.domain.runs import Budget

    data = load(args.set, limit=args.rows)
    print(
        f"{data.name}: the first {len(data.rows)} rows (criterion {data.metric}, scale "
        f"{data.low:g}–{data.high:g}), median-resolved; judge {judge_model}, reflection "
        f"{reflection_lm}, delta {args.delta:g}, seed {args.seed}"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rubricate-real-", dir=args.workdir) as tmp:
        root = Path(tmp)
        folder = write_folder(data, root / "data", None)
        with Rubricate(database_url=f"sqlite:///{root / 'w.db'}") as rb:
            import_and_resolve(rb, data, folder, data.name)
            scoring_started = time.perf_counter()
            scored = rb.evaluate(
                metric=data.metric,
                evaluation=data.name,
                model=judge_model,
                concurrency=args.concurrency,
            )
            print(
                f"\nscoring ({time.perf_counter() - scoring_started:.1f}s): {scored.status.value}, "
                f"{scored.rows_scored} of {scored.rows_total} rows scored "
                f"({scored.rows_failed} failed); {scored.calls} calls, tokens "
                f"{scored.input_tokens:,} in / {scored.output_tokens:,} out; cost "
                f"{_cost(scored.cost_usd)}"
            )
            if scored.error:
                print(f"  error: {scored.error}", file=sys.stderr)
            if scored.rows_scored == 0:
                print("no row was scored: nothing to align", file=sys.stderr)
                return 1
            aligning_started = time.perf_counter()
            run = rb.alignment_runs.align(
                metric=data.metric,
                evaluations=[data.name],
                delta=args.delta,
                reflection_lm=reflection_lm,
                judge_model=judge_model,
                budget=Budget(max_calls=args.max_calls, max_cost_usd=args.max_cost),
                seed=args.seed,
            )
            seconds = time.perf_counter() - aligning_started
            if run.result is None or run.status.value != "aligned":
                print(f"\nthe alignment run ended {run.status.value}: {run.error}", file=sys.stderr)
                return 1
            report_alignment(run.result, seconds)
            check = run.result.verification
    print(f"\ntotal {time.perf_counter() - started:.1f}s")
    before = check.before.kappa.value if check.before else None
    after = check.after.kappa.value if check.after else None
    if before is not None and after is not None and after < before:
        print(
            f"\nthe kept guidelines lower test kappa: {before:.3f} -> {after:.3f}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
