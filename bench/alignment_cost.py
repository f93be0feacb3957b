"""Alignment cost: model calls, prompt tokens and wall time of one alignment run on 200
real rows, against a fake OpenAI-compatible server that answers after 0.2 s.

    python bench/alignment_cost.py [--quick] [--rows N] [--set feedbackqa] [--latency S]

The rows are the first 200 of a shared data set (../shared/data, feedbackqa by default),
median-resolved, with synthetic judge scores (the simulation's blind spots, see
bench/_alignment_data.py). The fake server runs in this process, in a background thread,
with the simulation's reflection model and judge as its responder; the models are reached
as `openai-chat:fake-reflect` and `openai-chat:fake-judge` through the real client path
(the OpenAI SDK, no retries of its own). Only the alignment call is timed.

Targets, from MLflow 3.17's optimizers measured on the same kind of setup:

- without a judge model: at most 8 model calls and fewer prompt tokens than MemAlign's
  ~88,000 (which reads every row; rubricate reads only disagreements), wall time within
  2 s;
- with a judge model: at most 610 judge calls (SIMBA spends 2,440), while reporting
  held-out figures (verification "verified", with test kappa before and after).

Exit 1 when one is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _alignment_data import (
    CRITERIA,
    SHORT_NAMES,
    SimData,
    Simulation,
    import_and_resolve,
    load,
    result_of,
    timed_alignment,
    unguided_score,
    verified_kappas,
    write_folder,
)
from _common import Targets, verdict

ROWS = 200
LATENCY = 0.2
MAX_CALLS = 8  # without a judge model
MAX_PROMPT_TOKENS = 88_000  # MemAlign's, reading every row
MAX_SECONDS = 2.0
MAX_JUDGE_CALLS = 610  # with a judge model (SIMBA: 2,440)
REFLECT, JUDGE = "fake-reflect", "fake-judge"


@dataclass(frozen=True)
class Measured:
    label: str
    status: str
    reflection_calls: int
    judge_calls: int
    server_requests: int
    input_tokens: int
    output_tokens: int
    seconds: float
    disagreements: int
    verification: str
    before: float | None
    after: float | None
    test_rows: int
    kept: list[str]


def _responder(sim: Simulation) -> Any:
    from rubricate.testing.fake_openai import FakeReply, FakeRequest

    def respond(request: FakeRequest) -> FakeReply:
        system = "\n".join(m["content"] for m in request.messages if m["role"] == "system")
        user = request.last_user_message
        if request.model == REFLECT:
            return FakeReply(tool_args=sim.reflect(user))
        if request.model == JUDGE:
            return FakeReply(tool_args=sim.judge(system, user))
        raise ValueError(f"no such fake model: {request.model}")

    return respond


def measure(rb: Any, fake: Any, data: SimData, *, judge: bool) -> Measured:
    fake.reset()
    run, seconds = timed_alignment(
        rb,
        data,
        delta=1.0,
        reflection_lm=f"openai-chat:{REFLECT}",
        judge_model=f"openai-chat:{JUDGE}" if judge else None,
        seed=0,
    )
    label = "with a judge model" if judge else "without a judge model"
    result = result_of(run, label)
    check = result.verification
    before, after = verified_kappas(check)
    return Measured(
        label=label,
        status=str(run.status.value),
        reflection_calls=result.usage.reflection_calls,
        judge_calls=result.usage.judge_calls,
        server_requests=fake.requests_total,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
        seconds=seconds,
        disagreements=result.disagreements,
        verification=check.status,
        before=before,
        after=after,
        test_rows=check.after.rows if check.after else 0,
        kept=[SHORT_NAMES.get(g.text, g.text[:30]) for g in result.guidelines],
    )


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def report(m: Measured) -> None:
    print(f"\n{m.label}: run {m.status}, {m.disagreements} disagreements")
    print(f"  model calls         {m.reflection_calls + m.judge_calls:>8,}")
    print(f"    reflection        {m.reflection_calls:>8,}")
    print(f"    judge             {m.judge_calls:>8,}")
    print(f"  server requests     {m.server_requests:>8,}")
    print(f"  prompt tokens       {m.input_tokens:>8,}")
    print(f"  output tokens       {m.output_tokens:>8,}")
    print(f"  wall time           {m.seconds:>8.2f} s")
    print(f"  verification        {m.verification}")
    if m.before is not None:
        print(f"  test kappa          {_fmt(m.before)} -> {_fmt(m.after)} on {m.test_rows} rows")
    print(f"  guidelines          {', '.join(m.kept) or '(none)'}")


def check(plain: Measured, judged: Measured) -> list[str]:
    target = Targets(gap=" ")

    calls = plain.reflection_calls + plain.judge_calls
    target(calls <= MAX_CALLS, f"without a judge model: {calls} model calls (≤ {MAX_CALLS})")
    target(
        plain.input_tokens < MAX_PROMPT_TOKENS,
        f"without a judge model: {plain.input_tokens:,} prompt tokens "
        f"(< {MAX_PROMPT_TOKENS:,}, MemAlign)",
    )
    target(
        plain.seconds <= MAX_SECONDS,
        f"without a judge model: {plain.seconds:.2f} s wall time (≤ {MAX_SECONDS:g} s)",
    )
    target(
        judged.judge_calls <= MAX_JUDGE_CALLS,
        f"with a judge model: {judged.judge_calls} judge calls (≤ {MAX_JUDGE_CALLS}; SIMBA 2,440)",
    )
    target(
        judged.verification == "verified" and judged.before is not None,
        f"with a judge model: held-out figures reported (verification {judged.verification!r})",
    )
    for m in (plain, judged):
        target(
            m.server_requests == m.reflection_calls + m.judge_calls,
            f"{m.label}: the server saw {m.server_requests} requests, the run counted "
            f"{m.reflection_calls + m.judge_calls} calls",
        )
    return target.missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI: the same size (already small)")
    parser.add_argument("--rows", type=int, default=ROWS, help=f"rows (default {ROWS})")
    parser.add_argument("--set", default="feedbackqa", choices=sorted(CRITERIA))
    parser.add_argument("--latency", type=float, default=LATENCY, help="seconds per reply")
    parser.add_argument("--workdir", type=Path, help="where the temporary workspace goes")
    args = parser.parse_args(argv)

    # Load the SDK modules the first call would import: process start-up, not alignment.
    import openai  # noqa: F401
    import pydantic_ai.models.openai  # noqa: F401

    from rubricate import Rubricate
    from rubricate.testing.fake_openai import FakeOpenAI, running

    data = load(args.set, limit=args.rows)
    print(
        f"{data.name}: the first {len(data.rows)} rows (criterion {data.metric}), "
        f"median-resolved, synthetic judge scores; fake server latency {args.latency:g} s"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rubricate-cost-", dir=args.workdir) as tmp:
        root = Path(tmp)
        folder = write_folder(
            data, root / "data", lambda r: None if r.human is None else unguided_score(data, r)
        )
        fake = FakeOpenAI(latency=args.latency, models=(REFLECT, JUDGE))
        with running(fake) as server, Rubricate(database_url=f"sqlite:///{root / 'w.db'}") as rb:
            os.environ["OPENAI_BASE_URL"] = server.base_url
            os.environ["OPENAI_API_KEY"] = "sk-fake"
            ids = import_and_resolve(rb, data, folder, data.name)
            sim = Simulation(data, ids)
            fake.responder = _responder(sim)
            plain = measure(rb, fake, data, judge=False)
            report(plain)
            judged = measure(rb, fake, data, judge=True)
            report(judged)
            if fake.responder_errors:
                print(f"\nresponder errors: {fake.responder_errors[:3]}", file=sys.stderr)
    print(f"\ntotal {time.perf_counter() - started:.1f}s\n\ntargets:")
    missed = check(plain, judged)
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
