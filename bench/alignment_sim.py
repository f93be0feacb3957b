"""Alignment simulation: does the engine recover a judge's blind spots from real reviewers'
scores, and does verification keep out a guideline that hurts?

    python bench/alignment_sim.py [--quick] [--seeds N] [--sets writingprompts,feedbackqa]

Real rows of ../shared/data (writingprompts, criterion `relevant`; feedbackqa,
`answer_quality`), median-resolved, with a fake judge and a fake reflection model whose
rules are fixed (bench/_alignment_data.py, bench/README.md "Alignment"): the judge is the
resolved human score except for two blind spots, +2 (clipped) on outputs longer than the
median and +1 on inputs that are questions; the reflection model proposes a blind spot's
guideline when at least 3 traces of its batch show it, and in 30% of batches a spurious
one; with guidelines, the judge drops a blind spot whose guideline it is given, and a
spurious guideline lowers a seeded 20% of rows by 1.

For each seed the alignment runs with verification (`fake:judge`, delta 1); the test
part's weighted kappa is printed before, after, and with the oracle guidelines (both blind
spots, nothing spurious). Exit 1 unless, on each data set, the mean over the seeds
recovers at least 80% of the oracle's kappa gain, and no seed keeps a proposal that lowers
test kappa.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _alignment_data import (
    CRITERIA,
    SHORT_NAMES,
    SimData,
    Simulation,
    import_and_resolve,
    load,
    oracle_score,
    unguided_score,
    write_folder,
)

SEEDS = 5
RECOVERY_TARGET = 0.8  # mean share of the oracle's kappa gain, per data set
DELTA = 1.0


@dataclass(frozen=True)
class SeedResult:
    data_set: str
    seed: int
    status: str
    test_rows: int
    before: float | None
    after: float | None
    oracle: float | None
    proposed: list[str]
    kept: list[str]
    judge_calls: int
    reflection_calls: int
    spurious_batches: int
    input_tokens: int
    seconds: float

    @property
    def recovery(self) -> float | None:
        """Share of the oracle's kappa gain that the chosen guidelines recovered; a run
        without test figures recovers nothing."""
        if self.before is None or self.oracle is None:
            return 0.0
        gain = self.oracle - self.before
        if gain <= 0:
            return None  # nothing to recover
        after = self.before if self.after is None else self.after
        return (after - self.before) / gain

    @property
    def lowered(self) -> bool:
        return self.before is not None and self.after is not None and self.after < self.before


def _short(text: str) -> str:
    return SHORT_NAMES.get(text, f"other: {text[:40]}")


def run_data_set(data: SimData, seeds: list[int], workdir: Path) -> list[SeedResult]:
    from rubricate import Rubricate, stats
    from rubricate.domain.runs import Budget
    from rubricate.models import fake

    folder = write_folder(
        data, workdir / data.name, lambda r: None if r.human is None else unguided_score(data, r)
    )
    results: list[SeedResult] = []
    with Rubricate(database_url=f"sqlite:///{workdir / f'{data.name}.db'}") as rb:
        ids = import_and_resolve(rb, data, folder, data.name)
        sim = Simulation(data, ids)
        # Unbounded: the simulation measures what the engine chooses, not the default cap.
        budget = Budget(max_calls=10**7, max_tokens=10**12, max_cost_usd=None)
        with (
            fake.registered("judge", lambda call: sim.judge(call.system, call.user)),
            fake.registered("reflect", lambda call: sim.reflect(call.user)),
        ):
            for seed in seeds:
                sim.seed, sim.spurious_batches = seed, 0
                started = time.perf_counter()
                run = rb.alignment_runs.align(
                    metric=data.metric,
                    evaluations=[data.name],
                    delta=DELTA,
                    reflection_lm="fake:reflect",
                    judge_model="fake:judge",
                    budget=budget,
                    seed=seed,
                    cache=False,
                )
                seconds = time.perf_counter() - started
                if run.result is None:
                    raise SystemExit(f"{data.name} seed {seed}: the run ended {run.status}")
                result = run.result
                check = result.verification
                verdicts = [v for v in check.rows if v.before is not None and v.after is not None]
                oracle = None
                if check.status == "verified" and verdicts:
                    humans = [v.human for v in verdicts]
                    oracle_scores = [oracle_score(data, ids[v.row_id]) for v in verdicts]
                    oracle = stats.weighted_kappa(oracle_scores, humans, categories=data.points)
                    # The engine's figures are the kappa of these very verdicts.
                    _same(check.before, [v.before for v in verdicts], humans, data)
                    _same(check.after, [v.after for v in verdicts], humans, data)
                results.append(
                    SeedResult(
                        data_set=data.name,
                        seed=seed,
                        status=check.status,
                        test_rows=len(verdicts),
                        before=check.before.kappa.value if check.before else None,
                        after=check.after.kappa.value if check.after else None,
                        oracle=None if oracle is None else round(oracle, 4),
                        proposed=[_short(g.text) for g in result.proposed],
                        kept=[_short(g.text) for g in result.guidelines],
                        judge_calls=result.usage.judge_calls,
                        reflection_calls=result.usage.reflection_calls,
                        spurious_batches=sim.spurious_batches,
                        input_tokens=result.usage.input_tokens,
                        seconds=seconds,
                    )
                )
                print(_row(results[-1]), flush=True)
    return results


def _same(figures: object, judge: list[float | None], human: list[float], data: SimData) -> None:
    from rubricate import stats

    value = getattr(getattr(figures, "kappa", None), "value", None)
    mine = stats.weighted_kappa([float(j or 0) for j in judge], human, categories=data.points)
    if value is not None and abs(value - mine) > 1e-3:
        raise SystemExit(f"{data.name}: the engine reports kappa {value}, its rows give {mine:.4f}")


HEADER = (
    f"{'data set':<15} {'seed':>4} {'status':<9} {'test':>5} {'before':>7} {'after':>7} "
    f"{'oracle':>7} {'recovered':>9}  {'proposed (kept*)':<34} {'judge':>6} {'refl':>5} "
    f"{'spur':>4} {'seconds':>7}"
)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _row(r: SeedResult) -> str:
    recovery = r.recovery
    shown = "n/a" if recovery is None else f"{recovery:.1%}"
    marks = ", ".join(f"{g}*" if g in r.kept else g for g in r.proposed) or "(none)"
    status = "verified" if r.status == "verified" else r.status[:9]
    return (
        f"{r.data_set:<15} {r.seed:>4} {status:<9} {r.test_rows:>5} {_fmt(r.before):>7} "
        f"{_fmt(r.after):>7} {_fmt(r.oracle):>7} {shown:>9}  {marks:<34} {r.judge_calls:>6} "
        f"{r.reflection_calls:>5} {r.spurious_batches:>4} {r.seconds:>7.1f}"
    )


def describe(data: SimData) -> str:
    usable = data.resolved()
    judged = [unguided_score(data, r) for r in usable]
    disagreeing = sum(1 for j, r in zip(judged, usable, strict=True) if j - (r.human or 0) >= DELTA)
    left_out = data.dropped_duplicates
    long, questions = sum(r.long for r in data.rows), sum(r.question for r in data.rows)
    return (
        f"{data.name}: {len(data.rows):,} rows (criterion {data.metric}, scale "
        f"{data.low:g}–{data.high:g}; {len(usable):,} median-resolved"
        + (f"; {left_out} repeated input+output left out" if left_out else "")
        + f"), median output {data.median_length:g} characters; long {long:,}, "
        f"question {questions:,}; the judge disagrees (≥ {DELTA:g}) on {disagreeing:,}"
    )


def check(results: list[SeedResult]) -> list[str]:
    missed: list[str] = []
    for name in dict.fromkeys(r.data_set for r in results):
        mine = [r for r in results if r.data_set == name]
        recoveries = [r.recovery for r in mine if r.recovery is not None]
        mean = statistics.fmean(recoveries) if recoveries else 0.0
        ok = mean >= RECOVERY_TARGET
        kappas = {
            label: statistics.fmean(values) if values else None
            for label, values in (
                ("before", [r.before for r in mine if r.before is not None]),
                ("after", [r.after for r in mine if r.after is not None]),
                ("oracle", [r.oracle for r in mine if r.oracle is not None]),
            )
        }
        print(
            f"  {'ok  ' if ok else 'MISS'} {name}: mean recovery {mean:.1%} over "
            f"{len(recoveries)} seeds (target ≥ {RECOVERY_TARGET:.0%})"
        )
        print(
            "       mean test kappa "
            + ", ".join(f"{label} {_fmt(value)}" for label, value in kappas.items())
        )
        if not ok:
            missed.append(f"{name}: mean recovery {mean:.1%} < {RECOVERY_TARGET:.0%}")
        unverified = [r.seed for r in mine if r.status != "verified"]
        if unverified:
            print(f"       seeds without test figures (count as 0%): {unverified}")
    lowered = [r for r in results if r.lowered]
    print(
        f"  {'ok  ' if not lowered else 'MISS'} no seed keeps a proposal that lowers test kappa"
        + ("" if not lowered else ": " + ", ".join(f"{r.data_set} seed {r.seed}" for r in lowered))
    )
    missed += [
        f"{r.data_set} seed {r.seed}: test kappa {r.before:.3f} -> {r.after:.3f}"
        for r in lowered
        if r.before is not None and r.after is not None
    ]
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="CI: the same run (it takes under a minute)"
    )
    parser.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds 0..N-1 (default {SEEDS})")
    parser.add_argument("--sets", default=",".join(CRITERIA), help="data sets, comma-separated")
    parser.add_argument("--rows", type=int, help="use the first N rows of each data set")
    parser.add_argument("--workdir", type=Path, help="where the temporary workspace goes")
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in CRITERIA]
    if unknown:
        parser.error(f"unknown data sets {unknown}: choose from {', '.join(CRITERIA)}")
    seeds = list(range(args.seeds))
    started = time.perf_counter()
    results: list[SeedResult] = []
    with tempfile.TemporaryDirectory(prefix="rubricate-sim-", dir=args.workdir) as tmp:
        for name in names:
            print(describe(load(name, limit=args.rows)))
        print()
        print(HEADER)
        for name in names:
            results += run_data_set(load(name, limit=args.rows), seeds, Path(tmp))

    print(
        "\nkappa: weighted (quadratic) kappa of judge vs resolved human score on the test "
        "part; recovered = (after - before) / (oracle - before); * = kept by verification"
    )
    print(f"\ntotal {time.perf_counter() - started:.1f}s\n\ntargets:")
    missed = check(results)
    if missed:
        print(f"\nmissed {len(missed)} target(s):", file=sys.stderr)
        for text in missed:
            print(f"  - {text}", file=sys.stderr)
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
