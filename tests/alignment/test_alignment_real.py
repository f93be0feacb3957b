"""bench/alignment_real.py end to end against the fake OpenAI-compatible server, on a tiny
synthetic data set: the real-model benchmark is never run in CI (it needs a key), so this
keeps it from rotting. It must report what the simulation reports: the test-retest flip
rate, the paired difference with its interval and each guideline's decision."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rubricate.alignment.trace_format import data_blocks
from rubricate.models.fake import FakeCall
from rubricate.testing.fake_openai import FakeOpenAI, FakeReply, FakeRequest, running

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import alignment_real  # noqa: E402
from _common import CRITERION, write_dataset  # noqa: E402
from sim.reflection import FakeReflection  # noqa: E402


def _medians(folder: Path) -> dict[tuple[str, str], float]:
    """The reviewers' median of each row, by its texts (what the fake judge can see)."""
    found = {}
    for line in (folder / "rows.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        scores = sorted(a["score"] for a in row["annotations"][CRITERION])
        found[(row["input"], row["output"])] = float(scores[len(scores) // 2])
    return found


def _responder(reflection: FakeReflection, medians: dict[tuple[str, str], float]) -> object:
    """The reflection model of the simulation; a judge one point too lenient on every row
    unless told to be stricter (then it gives the reviewers' median)."""

    def respond(request: FakeRequest) -> FakeReply:
        system = "\n".join(m["content"] for m in request.messages if m["role"] == "system")
        user = request.last_user_message
        if request.model == "fake-reflect":
            call = FakeCall(system, user, tuple(request.tool_names), {})
            return FakeReply(tool_args=reflection(call))
        blocks = data_blocks(user)
        median = medians[(blocks["INPUT"], blocks["OUTPUT"])]
        strict = "strict" in system.lower() or "harsh" in system.lower()
        score = median if strict else min(5.0, median + 1)
        answer = {"rationale": "Read the answer.", "score": score, "applied": [1] if strict else []}
        return FakeReply(tool_args=answer)

    return respond


def test_the_real_model_bench_reports_what_the_simulation_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dataset(tmp_path / "data", 240, seed=3)
    fake = FakeOpenAI(models=("fake-reflect", "fake-judge"))
    fake.responder = _responder(FakeReflection(), _medians(tmp_path / "data"))  # type: ignore[assignment]
    with running(fake) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-fake")
        code = alignment_real.main(
            [
                "--judge-model",
                "openai-chat:fake-judge",
                "--reflection-lm",
                "openai-chat:fake-reflect",
                "--folder",
                str(tmp_path / "data"),
                "--workdir",
                str(tmp_path),
            ]
        )
    out = capsys.readouterr().out
    assert not fake.responder_errors, fake.responder_errors
    assert code == 0, out
    assert "scoring 1" in out and "scoring 2" in out
    # Every row was scored twice with the current prompt, fresh (no cache), alike.
    assert "test-retest (current prompt, the same 240 rows scored twice, fresh): 0.0%" in out
    assert "paired difference in weighted kappa" in out
    assert "guidelines proposed (* kept):" in out
    assert "       kept: " in out  # the stricter guideline, on the rows it changed
    assert "raised" in out
    assert "model calls:" in out and "0 cache hits" in out


def test_it_refuses_without_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUBRICATE_JUDGE_MODEL", raising=False)
    with pytest.raises(SystemExit) as stopped:
        alignment_real.main(["--reflection-lm", "builtin:offline"])
    assert stopped.value.code == alignment_real.NOT_CONFIGURED
