"""Alignment at any size: peak memory, model calls and tokens of one alignment run on
synthetic evaluations of 1k, 10k and 50k rows (issue 11, item 6).

    python bench/alignment_memory.py [--quick] [--sizes 1000,10000,50000] [--workdir DIR]

Per size, a synthetic evaluation (bench/_common.py: three reviewers a row, a judge result
on about half the rows, texts of 200–800 characters) is imported into a fresh SQLite
workspace and resolved with the median policy. Then, each in a process of its own (so
each peak is its own), one alignment run per mode at delta 1, the default budget, seed 0,
cache off:

- ``offline``: the built-in offline engine, no judge model;
- ``reflect``: a fake reflection LM (bench/sim's, which reads only the request text), no
  judge model: the case that grew with the disagreements (452 calls at 50k rows);
- ``verified``: the same reflection LM and a fake judge model (a score from a hash of the
  request), so verification runs.

Each child first asks for the dry run's estimate (``alignment_runs.preview``), then runs
the alignment; it reports its peak resident set size (``ru_maxrss``) beside the size it
had once rubricate and the models' libraries were loaded, the calls and tokens the run
counted, and the estimate's.

Exit 1 unless, for every mode: the peak at the largest size is within 20 MB of the
smallest's; every run ends aligned; its calls and tokens stay within the default budget
and within the dry run's estimate (an upper bound), and that estimate raises no budget
warning; reflection calls stay within what the sample's cap allows (its batches and
one consolidation call). ``--quick`` (CI) runs
1k and 10k rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import CRITERION, Targets, peak_rss_mb, verdict, write_dataset

SIZES = (1_000, 10_000, 50_000)
QUICK_SIZES = (1_000, 10_000)
MODES = ("offline", "reflect", "verified")
MAX_GROWTH_MB = 20.0
EVALUATION = "synthetic"
DELTA = 1.0


@dataclass(frozen=True)
class Measured:
    size: int
    mode: str
    status: str
    disagreements: int
    baseline_mb: float  # once the libraries were loaded
    peak_mb: float
    reflection_calls: int
    judge_calls: int
    input_tokens: int
    output_tokens: int
    estimated_calls: int
    estimated_tokens: int
    estimate_warnings: list[str]
    seconds: float

    @property
    def calls(self) -> int:
        return self.reflection_calls + self.judge_calls

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


# -- the children ---------------------------------------------------------------------------


def child_import(database: Path, folder: Path) -> None:
    from rubricate import Rubricate

    with Rubricate(database_url=f"sqlite:///{database}") as rb:
        rb.import_path(folder, EVALUATION)
        rb.annotations.resolve(EVALUATION, CRITERION, "median")


def _judge(call: Any) -> dict[str, Any]:
    """A score from a hash of the request: verification's calls, not its quality."""
    digest = hashlib.sha256(call.user.encode()).digest()
    return {"rationale": "Scored against the rubric.", "score": 1 + digest[0] % 5, "applied": []}


def child_run(database: Path, mode: str) -> dict[str, Any]:
    # Everything a run loads, loaded before the baseline is read.
    import pydantic_ai.models.function  # noqa: F401

    from rubricate import Budget, Rubricate
    from rubricate.models import fake
    from sim.reflection import FakeReflection

    reflection_lm = "builtin:offline" if mode == "offline" else "fake:reflect"
    judge_model = "fake:judge" if mode == "verified" else None
    with (
        Rubricate(database_url=f"sqlite:///{database}") as rb,
        fake.registered("reflect", FakeReflection()),
        fake.registered("judge", _judge),
    ):
        options: dict[str, Any] = {
            "metric": CRITERION,
            "evaluations": [EVALUATION],
            "delta": DELTA,
            "reflection_lm": reflection_lm,
            "judge_model": judge_model,
            "budget": Budget(),
            "seed": 0,
        }
        baseline = peak_rss_mb()
        started = time.perf_counter()
        preview = rb.alignment_runs.preview(**options)
        run = rb.alignment_runs.align(**options, cache=False)
        seconds = time.perf_counter() - started
        result = run.result
        usage = result.usage if result is not None else None
        return {
            "status": run.status.value,
            "disagreements": run.disagreements or 0,
            "baseline_mb": baseline,
            "peak_mb": peak_rss_mb(),
            "reflection_calls": usage.reflection_calls if usage else 0,
            "judge_calls": usage.judge_calls if usage else 0,
            "input_tokens": usage.input_tokens if usage else 0,
            "output_tokens": usage.output_tokens if usage else 0,
            "estimated_calls": preview.reflection_calls + preview.judge_calls,
            "estimated_tokens": preview.input_tokens + preview.output_tokens,
            "estimate_warnings": list(getattr(preview, "budget_warnings", ())),
            "seconds": seconds,
        }


def _child(args: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"child {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


# -- the parent -------------------------------------------------------------------------------


def measure(size: int, workdir: Path | None) -> list[Measured]:
    with tempfile.TemporaryDirectory(prefix="rubricate-memory-", dir=workdir) as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        write_dataset(root / "data", size)
        _child(["import", str(root / "w.db"), str(root / "data")])
        print(f"{size:,} rows: written and imported in {time.perf_counter() - started:.1f}s")
        found = []
        for mode in MODES:
            figures = json.loads(_child(["run", str(root / "w.db"), mode]).splitlines()[-1])
            found.append(Measured(size=size, mode=mode, **figures))
            print("  " + show(found[-1]), flush=True)
        return found


def show(m: Measured) -> str:
    return (
        f"{m.mode:<9} {m.status:<8} {m.disagreements:>7,} disagreements  peak "
        f"{m.peak_mb:6.1f} MB ({m.peak_mb - m.baseline_mb:+6.1f} over {m.baseline_mb:.1f})  "
        f"calls {m.reflection_calls:>3} reflection + {m.judge_calls:>4} judge "
        f"(estimate {m.estimated_calls:>4})  tokens {m.tokens:>9,} (estimate "
        f"{m.estimated_tokens:>9,})  {m.seconds:6.1f}s"
    )


def check(results: list[Measured]) -> list[str]:
    from rubricate import Budget
    from rubricate.alignment.contrast import BATCH_ROWS
    from rubricate.limits import REFLECTION_MAX_DISAGREEMENTS

    budget = Budget()
    # Reflection reads a sample of at most this many disagreements, in batches of about
    # BATCH_ROWS, then makes one consolidation call.
    reflection_bound = math.ceil(REFLECTION_MAX_DISAGREEMENTS / BATCH_ROWS) + 1
    target = Targets(gap=" ")

    for mode in MODES:
        runs = sorted((m for m in results if m.mode == mode), key=lambda m: m.size)
        small, large = runs[0], runs[-1]
        growth = large.peak_mb - small.peak_mb
        target(
            growth <= MAX_GROWTH_MB,
            f"{mode}: peak {small.peak_mb:.1f} MB at {small.size:,} rows, {large.peak_mb:.1f} MB "
            f"at {large.size:,} ({growth:+.1f} MB; at most +{MAX_GROWTH_MB:g})",
        )
        for m in runs:
            where = f"{mode} at {m.size:,} rows"
            target(m.status == "aligned", f"{where}: the run ended {m.status}")
            target(
                m.calls <= budget.max_calls and m.tokens <= budget.max_tokens,
                f"{where}: {m.calls} calls, {m.tokens:,} tokens (budget {budget.max_calls:,} "
                f"calls, {budget.max_tokens:,} tokens)",
            )
            target(
                m.calls <= m.estimated_calls and m.tokens <= m.estimated_tokens,
                f"{where}: within the dry run's estimate ({m.estimated_calls} calls, "
                f"{m.estimated_tokens:,} tokens)",
            )
            target(
                not m.estimate_warnings,
                f"{where}: the dry run warns of no budget limit "
                f"({'; '.join(m.estimate_warnings) or 'none'})",
            )
        most = max(m.reflection_calls for m in runs)
        target(
            most <= reflection_bound,
            f"{mode}: at most {most} reflection calls at any size (the sample's cap allows "
            f"{reflection_bound})",
        )
    return target.missed


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "import":
            child_import(Path(rest[0]), Path(rest[1]))
        else:
            print(json.dumps(child_run(Path(rest[0]), rest[1])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI: 1k and 10k rows")
    parser.add_argument("--sizes", help="comma-separated row counts (default 1000,10000,50000)")
    parser.add_argument("--workdir", type=Path, help="where the temporary workspaces go")
    args = parser.parse_args(argv)
    sizes = (
        tuple(int(s) for s in args.sizes.split(","))
        if args.sizes
        else (QUICK_SIZES if args.quick else SIZES)
    )
    started = time.perf_counter()
    results = [m for size in sizes for m in measure(size, args.workdir)]
    print(f"\ntotal {time.perf_counter() - started:.1f}s\n\ntargets:")
    missed = check(results)
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
