"""Label-efficient sampling (issue 15, item 4): does alignment from the sampler's first N
reviewed rows reach what N random rows, or more, give?

    python bench/sampler_bench.py [--quick] [--seeds N] [--sets feedbackqa,writingprompts]

alignment_sim.py's simulation (bench/sim: fakes that see only the request text) with a
third blind spot (sim/third.py: the judge is 2 too harsh on outputs saying something
"cannot" be done, 10% of the rows), so that a few random rows cannot reveal everything.
Per data set and seed, two workspaces' evaluations hold every row with the judge's stored
scores (``fake:judge`` through ``rb.evaluate``) and no review. Rows are then reviewed in
rounds of ``ROUND``: their reviewers' scores are imported and resolved with the median, as
a team's reviews would come in. One arm reviews a seeded random order; the other creates
a review queue with the ``sampler`` selection for the next round each time and reviews its
rows, so it learns from the rows reviewed so far (half of each round drawn at random from
the audit slice; the queue is what tells alignment to verify on that slice only). After 200, 400
and 800 reviewed rows (capped at the data set's size: both arms then hold every row, one
run serves both), each arm is aligned as alignment_sim.py aligns (same fakes, default
budget, delta 1, the seed) and the true whole-evaluation kappa of the kept guidelines is
measured as alignment_sim.py's ground truth measures it (every row, ``DRAWS`` draws).

Exit 1 unless, on feedbackqa, the sampler's mean kappa at 200 or 400 rows reaches random's
mean at 800, and on each data set the sampler's mean is never below random's at the same
size by more than ``TOLERANCE``. Without the shared data the bench says why in one line
and exits 0, unless RUBRICATE_REQUIRE_SHARED_DATA=1 (then 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from _alignment_data import (
    CRITERIA,
    SimData,
    SimRow,
    load,
    result_of,
    timed_alignment,
    verified_kappas,
    write_folder,
)
from _common import Targets, print_columns, shared_data, verdict, without_shared_data
from alignment_sim import missing_data, table_of
from sim import third
from sim.judge import FakeJudge
from sim.reflection import FakeReflection
from sim.truth import Row, Truth

SEEDS, QUICK_SEEDS = 5, 2
SIZES = (200, 400, 800)
ROUND = 100  # rows reviewed between two proposals (a queue's worth)
DRAWS, QUICK_DRAWS = 5, 3
DELTA = 1.0
TOLERANCE = 0.01  # of kappa: the sampler's mean may trail random's by this much, no more
TARGET_SET = "feedbackqa"
ARMS = ("random", "sampler")


@dataclass
class Arm:
    """One arm of one seed: per size, the true kappa, the disagreements among the rows
    reviewed, how many of those rows have the third blind spot, and what was kept."""

    name: str
    seed: int
    kappa: dict[int, float] = field(default_factory=dict)
    disagreements: dict[int, int] = field(default_factory=dict)
    third: dict[int, int] = field(default_factory=dict)
    kept: dict[int, list[str]] = field(default_factory=dict)
    audit: dict[int, int] = field(default_factory=dict)  # rows reviewed in the audit slice
    status: dict[int, str] = field(default_factory=dict)  # the verification's
    error: dict[int, float | None] = field(default_factory=dict)  # reported - true gain


class Bench:
    """One data set in one workspace: a fresh evaluation per (arm, seed), every row judged
    once, reviewed round by round."""

    def __init__(self, data: SimData, workdir: Path, draws: int) -> None:
        from rubricate import Rubricate

        self.data = data
        self.workdir = workdir
        self.table = table_of(data)
        self.rows = data.resolved()
        self.by_id = {r.external_id: r for r in self.rows}
        self.rb = Rubricate(database_url=f"sqlite:///{workdir / f'{data.name}.db'}")
        bare = [dataclasses.replace(r, annotations=()) for r in self.rows]
        self.bare = write_folder(dataclasses.replace(data, rows=bare), workdir / "bare", None)
        self.stored: dict[str, float] = {}
        self.truth: Truth | None = None
        self.draws = draws

    def close(self) -> None:
        self.rb.close()

    def pool(self, label: str) -> None:
        """A new evaluation of every row, scored by the judge (its draw 0), unreviewed."""
        from rubricate.models import fake

        self.rb.import_path(self.bare, label)
        with fake.registered("judge", FakeJudge(self.table, third=True)):
            self.rb.evaluate(
                metric=self.data.metric, evaluation=label, model="fake:judge", cache=False
            )
        if self.truth is None:
            version = self.rb.metrics.version(self.data.metric)
            rows = [Row(r.input, r.output, r.human) for r in self.rows if r.human is not None]
            self.truth = Truth(FakeJudge(self.table, third=True), version, rows, self.draws)
            judge = FakeJudge(self.table, third=True)
            for row, user in zip(self.rows, self.truth.users, strict=True):
                self.stored[row.external_id] = judge.score([], user, 0).score

    def review(self, label: str, rows: Sequence[SimRow], tag: str) -> None:
        """The reviewers' scores of ``rows`` come in (imported) and are resolved."""
        chosen = dataclasses.replace(self.data, name=label, rows=list(rows))
        self.rb.import_path(write_folder(chosen, self.workdir / f"{label}-{tag}", None), label)
        self.rb.annotations.resolve(label, self.data.metric, "median")

    def proposed(self, label: str, count: int, seed: int, round_: int) -> list[SimRow]:
        """A queue with the ``sampler`` selection (what marks the rows as chosen, so that
        alignment verifies on the audit slice only), and its rows in its order."""
        from sqlalchemy import select

        from rubricate import QueueRequest, Selection
        from rubricate.domain.users import Role, User
        from rubricate.store.queue_tables import QueueItemRecord, ReviewQueueRecord
        from rubricate.store.tables import RowRecord

        name = f"{label}-round-{round_}"
        request = QueueRequest(
            name=name, evaluation=label, metric=self.data.metric, reviewers=("bench",),
            selection=Selection.SAMPLER, sample_size=count, delta=DELTA, seed=seed,
        )  # fmt: skip
        self.rb.queues.create(request, by=User("bench", Role.ADMIN))
        with self.rb.db.read() as session:
            ids = session.scalars(
                select(RowRecord.external_id)
                .join(QueueItemRecord, QueueItemRecord.row_id == RowRecord.id)
                .join(ReviewQueueRecord, ReviewQueueRecord.id == QueueItemRecord.queue_id)
                .where(ReviewQueueRecord.name == name)
                .order_by(QueueItemRecord.position)
            ).all()
        return [self.by_id[i] for i in ids]

    def align(self, label: str, seed: int) -> tuple[float, list[str], str, float | None]:
        """The true kappa of what the run kept, the kept guidelines, the verification's
        status and the gain its test part reported minus the true gain (None: no gain
        reported)."""
        from rubricate import Budget
        from rubricate.models import fake

        assert self.truth is not None
        judge = FakeJudge(self.table, first_draw=1, third=True)
        with (
            fake.registered("judge", judge),
            fake.registered("reflect", FakeReflection(third=True)),
        ):
            run, _ = timed_alignment(
                self.rb,
                dataclasses.replace(self.data, name=label),
                delta=DELTA,
                reflection_lm="fake:reflect",
                judge_model="fake:judge",
                budget=Budget(),
                seed=seed,
            )
        result = result_of(run, label)
        kept = [g.text for g in result.guidelines if not g.existing]
        before, after = verified_kappas(result.verification)
        kappa = self.truth.kappa(result.guidelines)
        true_gain = kappa - self.truth.kappa([])
        error = None if before is None or after is None else after - before - true_gain
        return kappa, kept, result.verification.status, error

    def arm(self, name: str, seed: int, sizes: Sequence[int]) -> Arm:
        from rubricate.alignment.split import group_key, in_audit_slice

        label = f"{name}-{seed}"
        self.pool(label)
        order = random.Random(f"random:{seed}").sample(self.rows, len(self.rows))
        reviewed: list[SimRow] = []
        arm = Arm(name, seed)
        for size in sizes:
            while len(reviewed) < size:
                count = min(ROUND, size - len(reviewed))
                if name != "sampler":  # random, or every row
                    batch = order[len(reviewed) : len(reviewed) + count]
                else:
                    batch = self.proposed(label, count, seed, len(reviewed) // ROUND)
                self.review(label, batch, str(len(reviewed)))
                reviewed += batch
            aligned = self.align(label, seed)
            arm.kappa[size], arm.kept[size], arm.status[size], arm.error[size] = aligned
            arm.disagreements[size] = sum(
                abs(self.stored[r.external_id] - (r.human or 0.0)) >= DELTA for r in reviewed
            )
            arm.third[size] = sum(third.has_feature(r.output) for r in reviewed)
            arm.audit[size] = sum(in_audit_slice(group_key(r.input)) for r in reviewed)
        return arm


def run_set(bench: Bench, seeds: Sequence[int]) -> list[Arm]:
    total = len(bench.rows)
    sizes = sorted({min(s, total) for s in SIZES})
    arms: list[Arm] = []
    for seed in seeds:
        started = time.perf_counter()
        pair = {name: bench.arm(name, seed, [s for s in sizes if s < total]) for name in ARMS}
        if total in sizes:  # every row: the arms hold the same rows, one run serves both
            whole = bench.arm("all", seed, [total])
            for arm in pair.values():
                tables = ("kappa", "disagreements", "third", "kept", "audit", "status", "error")
                for table in tables:
                    getattr(arm, table)[total] = getattr(whole, table)[total]
        arms += pair.values()
        show_seed(pair, sizes, time.perf_counter() - started)
    return arms


def show_seed(pair: dict[str, Arm], sizes: Sequence[int], seconds: float) -> None:
    for arm in pair.values():
        cells = [
            f"{arm.kappa[s]:.3f}{'*' if arm.status[s].startswith('unverified') else ' '}"
            f"({arm.disagreements[s]}, {arm.third[s]}, {len(arm.kept[s])}, {arm.audit[s]})"
            for s in sizes
        ]
        print(f"  seed {arm.seed}  {arm.name:<8}" + "".join(f"{c:>30}" for c in cells))
    print(f"  ({seconds:.0f} s)", flush=True)


def means(arms: Sequence[Arm], name: str, size: int) -> float:
    return statistics.fmean(a.kappa[size] for a in arms if a.name == name)


def summary(data_set: str, arms: Sequence[Arm]) -> None:
    sizes = sorted(arms[0].kappa)
    lines = [["mean true kappa", *(f"{s} rows" for s in sizes)]]
    for name in ARMS:
        lines.append([name, *(f"{means(arms, name, s):.3f}" for s in sizes)])
    lines.append(
        [
            "sampler - random",
            *(f"{means(arms, 'sampler', s) - means(arms, 'random', s):+.3f}" for s in sizes),
        ]
    )
    for name in ARMS:
        errors = [
            [e for a in arms if a.name == name and (e := a.error[s]) is not None] for s in sizes
        ]
        lines.append(
            [
                f"{name}: |reported - true gain|",
                *(f"{statistics.fmean(map(abs, e)):.3f} ({len(e)})" if e else "-" for e in errors),
            ]
        )
    print(f"{data_set}:")
    print_columns(lines)
    print()


def check(results: dict[str, list[Arm]]) -> list[str]:
    target = Targets(gap=" ")
    if TARGET_SET in results:
        arms = results[TARGET_SET]
        sizes = sorted(arms[0].kappa)
        goal = means(arms, "random", max(sizes))
        small = [s for s in sizes if s <= 400]
        best = max(small, key=lambda s: means(arms, "sampler", s))
        target(
            means(arms, "sampler", best) >= goal,
            f"{TARGET_SET}: the sampler's mean at {best} rows, "
            f"{means(arms, 'sampler', best):.3f}, reaches random's at {max(sizes)}, {goal:.3f}",
        )
    for data_set, arms in results.items():
        for size in sorted(arms[0].kappa):
            gap = means(arms, "sampler", size) - means(arms, "random", size)
            target(
                gap >= -TOLERANCE,
                f"{data_set} at {size} rows: sampler - random {gap:+.3f} (≥ -{TOLERANCE})",
            )
    return target.missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI: 2 seeds, feedbackqa, 3 draws")
    parser.add_argument("--seeds", type=int, help=f"seeds 0..N-1 (default {SEEDS})")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds from this one on")
    parser.add_argument("--sets", help="data sets (default feedbackqa,writingprompts)")
    parser.add_argument("--draws", type=int, help=f"noise draws of the truth ({DRAWS})")
    parser.add_argument("--workdir", type=Path, help="where the temporary workspace goes")
    args = parser.parse_args(argv)
    default_sets = TARGET_SET if args.quick else ",".join(CRITERIA)
    names = [n.strip() for n in (args.sets or default_sets).split(",") if n.strip()]
    unknown = [n for n in names if n not in CRITERIA]
    if unknown:
        parser.error(f"unknown data sets {unknown}: choose from {', '.join(CRITERIA)}")
    if (reason := missing_data(names)) is not None:
        return without_shared_data("sampler_bench", reason)
    count = args.seeds or (QUICK_SEEDS if args.quick else SEEDS)
    seeds = list(range(args.first_seed, args.first_seed + count))
    draws = args.draws or (QUICK_DRAWS if args.quick else DRAWS)
    started = time.perf_counter()
    results: dict[str, list[Arm]] = {}
    with tempfile.TemporaryDirectory(prefix="rubricate-sampler-", dir=args.workdir) as tmp:
        for name in names:
            data = load(name, root=shared_data())
            print(
                f"{name}: {len(data.resolved()):,} rows, third blind spot on "
                f"{sum(third.has_feature(r.output) for r in data.rows):,}; true kappa "
                "(disagreements among the rows reviewed, of them with the third blind "
                "spot, guidelines kept, rows reviewed in the audit slice; * unverified)"
            )
            folder = Path(tmp) / name
            folder.mkdir()
            bench = Bench(data, folder, draws)
            try:
                results[name] = run_set(bench, seeds)
                assert bench.truth is not None
                print(
                    f"  before {bench.truth.kappa([]):.3f}, oracle (all three blind spots "
                    f"cancelled) {bench.truth.kappa([], oracle=True):.3f}\n"
                )
            finally:
                bench.close()
    for name, arms in results.items():
        summary(name, arms)
    print(f"total {time.perf_counter() - started:.0f}s\n\ntargets:")
    return verdict(check(results))


if __name__ == "__main__":
    sys.exit(main())
