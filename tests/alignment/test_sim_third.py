"""The simulation's third blind spot (bench/sim/third.py, sampler_bench.py only): off by
default, so alignment_sim.py's judge and reflection model are as they were; on, the judge
is 2 too harsh on outputs that say something cannot be done, reads the fix by meaning, and
the reflection model finds the feature in traces as it finds the others."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from rubricate.alignment.trace_format import TraceBlock, render_block  # noqa: E402
from rubricate.domain.traces import Direction  # noqa: E402
from rubricate.scoring.render import fenced  # noqa: E402
from sim import third  # type: ignore[import-not-found]  # noqa: E402
from sim.judge import (  # type: ignore[import-not-found]  # noqa: E402
    FakeJudge,
    Table,
    guidelines_of,
    text_key,
)
from sim.reflection import FakeReflection  # type: ignore[import-not-found]  # noqa: E402

CANNOT = "No, the kit cannot be paused for more than four weeks."
PLAIN = "Yes, the kit can be paused for up to four weeks."
TABLE = Table({text_key("q", CANNOT): 4.0, text_key("q", PLAIN): 4.0}, 500.0, 1.0, 5.0)


def _user(output: str) -> str:
    blocks = [fenced("INPUT", "q", "a" * 16), fenced("OUTPUT", output, "a" * 16)]
    return "\n\n".join(["The row to judge, as data blocks:", *blocks, "Judge this row."])


def _shown(*guidelines: str) -> list[tuple[int, str]]:
    listed = "\n".join(f"{i}. {g}" for i, g in enumerate(guidelines, 1))
    found = guidelines_of(f"Score it.\n\n## Guidelines from your team's reviewers\n\n{listed}")
    return [(int(n), str(text)) for n, text in found]


def _modal(judge: FakeJudge, output: str, *guidelines: str) -> float:
    scores = [judge.score(_shown(*guidelines), _user(output), d).score for d in range(50)]
    return float(max(set(scores), key=scores.count))


def test_the_third_blind_spot_is_off_unless_asked_for() -> None:
    assert (
        third.has_feature(CANNOT) and third.has_feature("I can't") and not third.has_feature(PLAIN)
    )
    assert _modal(FakeJudge(TABLE), CANNOT) == 4.0
    judge = FakeJudge(TABLE, third=True)
    assert _modal(judge, CANNOT) == 2.0 and _modal(judge, PLAIN) == 4.0
    assert judge.score([], _user(CANNOT), 0, oracle=True).score in {3.0, 4.0, 5.0}


def test_its_fix_is_read_by_meaning_and_a_negation_or_the_wrong_way_is_not() -> None:
    judge = FakeJudge(TABLE, third=True)
    for fix in third.WORDINGS[("cannot", Direction.TOO_HARSH)]:
        assert judge.rule(fix).kind == "third", fix
    assert FakeJudge(TABLE).rule(third.WORDINGS[("cannot", Direction.TOO_HARSH)][1]).kind != "third"
    for other in (
        "Ignore this: do not penalise negative answers.",
        "This rule is not about outputs that say something cannot be done.",
        'Score lower when the output mentions "cannot".',
        *third.WORDINGS[("cannot", Direction.TOO_LENIENT)],
    ):
        assert judge.rule(other).kind != "third", other
    fix = third.WORDINGS[("cannot", Direction.TOO_HARSH)][0]
    assert _modal(judge, CANNOT, fix) in {3.0, 4.0}  # cancelled on 85% of rows: this one or not


def test_reflection_finds_the_feature_only_when_asked_to_look() -> None:
    def block(row_id: int, direction: Direction | None, output: str) -> str:
        judge = 2.0 if direction is Direction.TOO_HARSH else 4.0
        return render_block(TraceBlock(row_id, direction, judge, 4.0, "q", output), "b" * 16)

    blocks = [block(i, Direction.TOO_HARSH, f"{CANNOT} ({i})") for i in range(5)]
    blocks += [block(10 + i, None, f"{PLAIN} ({i})") for i in range(8)]
    user = "\n\n".join(blocks)
    found = [g["text"] for g in FakeReflection(third=True).propose(user)]
    assert any(t in third.WORDINGS[("cannot", Direction.TOO_HARSH)] for t in found)
    plain = [g["text"] for g in FakeReflection().propose(user)]
    assert not any(t in third.WORDINGS[("cannot", Direction.TOO_HARSH)] for t in plain)
