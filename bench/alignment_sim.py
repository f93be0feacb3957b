"""Alignment simulation: does the engine recover a judge's blind spots from real reviewers'
scores at the default budget, keep out guidelines that hurt, and report its gain honestly?

    python bench/alignment_sim.py [--quick] [--seeds N] [--sets feedbackqa,writingprompts]

Real rows of ../shared/data (RUBRICATE_SHARED_DATA overrides; feedbackqa, criterion
`answer_quality`; writingprompts, `relevant`), median-resolved, with fake models that see
only the request text (bench/sim: the judge, its vocabulary, the reflection model, the
ground truth; their fixed rules are quoted in each module). The data set is imported into
a fresh SQLite workspace and scored by `fake:judge` through `rb.evaluate` (the stored
results); then, per seed, `rb.alignment_runs.align(reflection_lm="fake:reflect",
judge_model="fake:judge", delta=1, budget=Budget(), seed=seed, cache=False)`.

Ground truth (fake calls are free): every row is scored with the base prompt, the final
prompt, the oracle (both blind spots cancelled, nothing else) and the final prompt without
each kept guideline, at the same noise draws, averaged over several draws.

Exit 1 unless: no run keeps a wrong guideline (true marginal effect < -0.005); no run
lowers the true whole-evaluation kappa by more than 0.005; on each data set the mean true
gain is at least 70% of the oracle's; on each data set the mean |reported gain - true gain|
is at most 0.05 (a run without test figures reports a gain of 0); at most 1,000 judge
calls a run. Without the shared data the bench says why in one line and exits 0, unless
RUBRICATE_REQUIRE_SHARED_DATA=1 (then exit 1).
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
    SimData,
    import_and_resolve,
    load,
    result_of,
    timed_alignment,
    verified_kappas,
    write_folder,
)
from _common import Targets, shared_data, verdict, without_shared_data
from sim.judge import FakeJudge, Table, text_key
from sim.reflection import FakeReflection
from sim.truth import WRONG, Row, TrueFigures, Truth, measure

SEEDS, QUICK_SEEDS = 5, 2
QUICK_ROWS = {"feedbackqa": 600, "writingprompts": 400}
DRAWS, QUICK_DRAWS = 5, 3
DELTA = 1.0
MAX_JUDGE_CALLS = 1000
MAX_DROP = 0.005
MIN_SHARE = 0.7
MAX_REPORT_ERROR = 0.05


@dataclass(frozen=True)
class Outcome:
    data_set: str
    seed: int
    status: str
    test_rows: int
    reported_before: float | None
    reported_after: float | None
    true: TrueFigures
    kept: list[tuple[int, str]]
    proposed: int
    judge_calls: int
    reflection_calls: int
    seconds: float

    @property
    def reported_gain(self) -> float | None:
        if self.reported_before is None or self.reported_after is None:
            return None
        return self.reported_after - self.reported_before

    @property
    def report_error(self) -> float:
        return abs((self.reported_gain or 0.0) - self.true.gain)


def missing_data(names: list[str]) -> str | None:
    """Why the data sets cannot be read, in one line; None when they can."""
    root = shared_data()
    absent = [n for n in names if not (root / n / "rows.jsonl").is_file()]
    if absent:
        return f"no {', '.join(absent)} under {root} (set RUBRICATE_SHARED_DATA)"
    return None


def table_of(data: SimData) -> Table:
    medians = {text_key(r.input, r.output): r.human for r in data.rows if r.human is not None}
    return Table(medians, data.median_length, data.low, data.high)


class Bench:
    """One data set in a fresh workspace: imported, resolved and scored once; then one
    alignment run per seed, each measured against the ground truth."""

    def __init__(self, data: SimData, workdir: Path, draws: int, strip: bool = False) -> None:
        from rubricate import Rubricate
        from rubricate.models import fake

        self.data = data
        self.table = table_of(data)
        self.strip = strip
        self.rb = Rubricate(database_url=f"sqlite:///{workdir / f'{data.name}.db'}")
        folder = write_folder(data, workdir / data.name, None)
        import_and_resolve(self.rb, data, folder, data.name)
        with fake.registered("judge", FakeJudge(self.table)):
            self.rb.evaluate(
                metric=data.metric, evaluation=data.name, model="fake:judge", cache=False
            )
        self.version = self.rb.metrics.version(data.metric)
        rows = [Row(r.input, r.output, r.human) for r in data.rows if r.human is not None]
        self.truth = Truth(FakeJudge(self.table), self.version, rows, draws)

    def close(self) -> None:
        self.rb.close()

    def run(self, seed: int) -> Outcome:
        from rubricate import Budget
        from rubricate.models import fake

        judge = FakeJudge(self.table, first_draw=1)  # the stored results took draw 0
        reflection = FakeReflection()
        reflect = reflection if not self.strip else _stripping(reflection)
        with fake.registered("judge", judge), fake.registered("reflect", reflect):
            run, seconds = timed_alignment(
                self.rb,
                self.data,
                delta=DELTA,
                reflection_lm="fake:reflect",
                judge_model="fake:judge",
                budget=Budget(),
                seed=seed,
            )
        result = result_of(run, f"{self.data.name} seed {seed}")
        check = result.verification
        reported_before, reported_after = verified_kappas(check)
        existing = [i for i in result.proposed if i.existing]
        true = measure(self.truth, existing, result.guidelines)
        return Outcome(
            data_set=self.data.name,
            seed=seed,
            status=check.status,
            test_rows=check.test_rows,
            reported_before=reported_before,
            reported_after=reported_after,
            true=true,
            kept=[(g.id, g.text) for g in result.guidelines if not g.existing],
            proposed=len(result.proposed),
            judge_calls=result.usage.judge_calls,
            reflection_calls=result.usage.reflection_calls,
            seconds=seconds,
        )


def _stripping(reflection: FakeReflection) -> FakeReflection:
    """The reflection model sent traces whose texts are placeholders (the honesty check)."""
    from rubricate.models.fake import FakeCall
    from sim.stripped import strip_request

    class Stripped(FakeReflection):
        def __call__(self, call: FakeCall) -> dict[str, object]:
            return reflection(FakeCall(call.system, strip_request(call.user), (), {}))

    return Stripped()


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


HEADER = (
    f"{'data set':<15}{'seed':>4} {'status':<12}{'test':>5} {'true before':>11} "
    f"{'true after':>10} {'oracle':>7} {'true gain':>9} {'reported':>9} {'judge':>6} "
    f"{'refl':>5} {'sec':>6}"
)


def show(o: Outcome) -> str:
    line = (
        f"{o.data_set:<15}{o.seed:>4} {o.status[:12]:<12}{o.test_rows:>5} "
        f"{_fmt(o.true.before):>11} {_fmt(o.true.after):>10} {_fmt(o.true.oracle):>7} "
        f"{_fmt(o.true.gain, True):>9} {_fmt(o.reported_gain, True):>9} {o.judge_calls:>6} "
        f"{o.reflection_calls:>5} {o.seconds:>6.1f}"
    )
    kept = [
        f"      kept {gid}: {o.true.marginal.get(gid, 0.0):+.4f}"
        f"{' WRONG' if o.true.marginal.get(gid, 0.0) < WRONG else ''}  {text[:90]}"
        for gid, text in o.kept
    ]
    return "\n".join([line, *kept] if kept else [line, "      kept nothing"])


def check(outcomes: list[Outcome]) -> list[str]:
    """The missed targets, each in a line (and a line per target printed)."""
    target = Targets(gap=" ")

    wrong = [(o, g) for o in outcomes for g in o.true.wrong()]
    target(
        not wrong,
        "no run keeps a wrong guideline"
        + "".join(f"; {o.data_set} seed {o.seed} keeps {g}" for o, g in wrong),
    )
    dropped = [o for o in outcomes if o.true.gain < -MAX_DROP]
    target(
        not dropped,
        f"no run lowers the true kappa by more than {MAX_DROP}"
        + "".join(f"; {o.data_set} seed {o.seed}: {o.true.gain:+.4f}" for o in dropped),
    )
    for name in dict.fromkeys(o.data_set for o in outcomes):
        mine = [o for o in outcomes if o.data_set == name]
        gain = statistics.fmean(o.true.gain for o in mine)
        oracle = statistics.fmean(o.true.oracle_gain for o in mine)
        share = gain / oracle if oracle > 0 else 0.0
        target(
            share >= MIN_SHARE,
            f"{name}: mean true gain {gain:+.4f} is {share:.0%} of the oracle's "
            f"{oracle:+.4f} (≥ {MIN_SHARE:.0%})",
        )
        error = statistics.fmean(o.report_error for o in mine)
        target(
            error <= MAX_REPORT_ERROR,
            f"{name}: mean |reported gain - true gain| {error:.4f} (≤ {MAX_REPORT_ERROR})",
        )
    heavy = [o for o in outcomes if o.judge_calls > MAX_JUDGE_CALLS]
    target(
        not heavy,
        f"at most {MAX_JUDGE_CALLS:,} judge calls a run (most: "
        f"{max((o.judge_calls for o in outcomes), default=0):,})",
    )
    return target.missed


def describe(data: SimData, table: Table) -> str:
    long = sum(len(r.output) > table.median_length for r in data.rows)
    from sim.judge import YOU

    you = sum(YOU.search(r.output) is not None for r in data.rows)
    return (
        f"{data.name}: {len(data.rows):,} rows (criterion {data.metric}, "
        f"{data.low:g}–{data.high:g}; {data.dropped_duplicates} repeated input+output left "
        f"out), median output {table.median_length:g} characters; long {long:,}, "
        f'"you" {you:,}'
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI: 2 seeds, fewer rows, 3 draws")
    parser.add_argument("--seeds", type=int, help=f"seeds 0..N-1 (default {SEEDS})")
    parser.add_argument("--sets", default="feedbackqa,writingprompts", help="data sets")
    parser.add_argument("--rows", type=int, help="the first N rows of each data set")
    parser.add_argument("--draws", type=int, help=f"noise draws of the truth ({DRAWS})")
    parser.add_argument("--workdir", type=Path, help="where the temporary workspace goes")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in CRITERIA]
    if unknown:
        parser.error(f"unknown data sets {unknown}: choose from {', '.join(CRITERIA)}")
    if (reason := missing_data(names)) is not None:
        return without_shared_data("alignment_sim", reason)
    seeds = list(range(args.seeds or (QUICK_SEEDS if args.quick else SEEDS)))
    draws = args.draws or (QUICK_DRAWS if args.quick else DRAWS)
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="rubricate-sim-", dir=args.workdir) as tmp:
        for name in names:
            limit = args.rows or (QUICK_ROWS[name] if args.quick else None)
            data = load(name, limit=limit, root=shared_data())
            bench = Bench(data, Path(tmp), draws)
            try:
                print(describe(data, bench.table))
                print(HEADER)
                for seed in seeds:
                    outcomes.append(bench.run(seed))
                    print(show(outcomes[-1]), flush=True)
                print()
            finally:
                bench.close()
    print(
        "true: weighted (quadratic) kappa of the fake judge against the reviewers' median on "
        f"every row, mean of {draws} noise draws; reported: the engine's test-part gain; "
        "kept: each kept guideline's true marginal effect"
    )
    print(f"total {time.perf_counter() - started:.0f}s\n\ntargets:")
    return verdict(check(outcomes))


if __name__ == "__main__":
    sys.exit(main())
