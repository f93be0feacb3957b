"""Exporting a version's prompt: as text (the template as the judge sees it), JSON,
Langfuse and promptfoo chat prompts, optional row fields, and refusals (an unknown format,
a bad ref). Runs are made by hand (reviewing_support.make_run)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.service.reviewing_support import BUILTIN, CUSTOM, G1, make_run
from tests.service.reviewing_support import demo as demo  # the fixtures, as pytest finds them
from tests.service.reviewing_support import judged as judged

from rubricate import Rubricate
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.scoring import render_prompt
from rubricate.scoring.template import compile_template

# -- export ------------------------------------------------------------------------------


@pytest.fixture
def accepted_fork(rb: Rubricate, judged: str) -> str:
    run_id = make_run(rb, BUILTIN, judged, [G1, "Never reward {{ braces }} or {% tags %}."])
    return rb.reviews.accept(run_id, confirm_unverified=True).metric


def test_export_text_is_the_template_as_the_judge_sees_it(
    rb: Rubricate, accepted_fork: str
) -> None:
    version = rb.metrics.version(accepted_fork)
    text = rb.reviews.export_prompt(accepted_fork, "text")
    assert f"1. {G1}" in text
    assert "Guidelines from your team's reviewers" in text
    assert "{{ input }}" in text and "{{ output }}" in text  # row variables kept
    assert "guidelines" not in compile_template(text).names  # filled in
    for context in (None, "some context"):
        kwargs: dict[str, Any] = {"input": "q", "output": "a", "context": context}
        judge = render_prompt(
            version.prompt, guidelines=version.guidelines, scale=version.scale, **kwargs
        )
        exported = render_prompt(text, guidelines="", scale=version.scale, **kwargs)
        assert exported.system == judge.system
    assert "Never reward {{ braces }} or {% tags %}." in judge.system


def test_export_text_appends_the_section_a_template_lacks(rb: Rubricate, demo: str) -> None:
    base = rb.metrics.version(CUSTOM)
    prompt = "Judge {{ output }} for {{ input }} on {{ scale.description }}."
    rb.metrics.add_version(CUSTOM, prompt=prompt, guidelines=f"- {G1}")
    text = rb.reviews.export_prompt(f"{CUSTOM}@2", "text")
    assert text.startswith("Judge {{ output }} for {{ input }} on 1–5.\n\n## Guidelines")
    assert text.rstrip().endswith(f"1. {G1}")
    plain = rb.reviews.export_prompt(f"{CUSTOM}@1", "text")
    assert G1 not in plain
    assert "{{ input }}" in plain and "{{ output }}" in plain
    assert base.prompt.strip().splitlines()[0] in plain


def test_export_json(rb: Rubricate, accepted_fork: str) -> None:
    version = rb.metrics.version(accepted_fork)
    data = json.loads(rb.reviews.export_prompt(f"{accepted_fork}@1", "json"))
    assert data["name"] == accepted_fork
    assert data["version"] == 1
    assert data["origin"] == "fork"
    assert data["scale"] == version.scale.to_json()
    assert data["prompt"] == version.prompt
    assert data["guidelines"] == [G1, "Never reward {{ braces }} or {% tags %}."]
    assert data["source_run_id"] == version.source_run_id is not None
    assert data["created_at"] == version.created_at.isoformat()


def test_export_langfuse(rb: Rubricate, accepted_fork: str) -> None:
    data = json.loads(rb.reviews.export_prompt(accepted_fork, "langfuse"))
    assert data["name"] == accepted_fork
    assert data["type"] == "chat"
    assert [m["role"] for m in data["prompt"]] == ["system", "user"]
    system, user = (m["content"] for m in data["prompt"])
    assert f"1. {G1}" in system
    assert "[OUTPUT]" in system and "Answer format" in system
    assert "{{input}}" in user and "{{output}}" in user
    assert "{{input}}" not in system
    assert data["labels"] == ["rubricate-v1"]
    assert all(label == label.lower() and len(label) <= 36 for label in data["labels"])
    config = data["config"]
    assert config["rubricate"]["version"] == 1
    # helpfulness refers to context and expected: by default the prompt has them
    assert config["rubricate"]["variables"] == ["input", "output", "context", "expected"]
    assert "{{context}}" in user and "{{expected}}" in user
    assert config["rubricate"]["scale"]["max"] == 5
    assert config["rubricate"]["source_run_id"] is not None
    assert config["temperature"] == 0
    assert "model" not in config  # the built-in names no judge model


def test_export_a_chat_prompt_for_rows_without_optional_fields(
    rb: Rubricate, accepted_fork: str
) -> None:
    data = json.loads(rb.reviews.export_prompt(accepted_fork, "langfuse", fields=[]))
    system, user = (m["content"] for m in data["prompt"])
    assert data["config"]["rubricate"]["variables"] == ["input", "output"]
    assert "{{context}}" not in user and "[CONTEXT]" not in system
    messages = json.loads(rb.reviews.export_prompt(accepted_fork, "promptfoo", fields=["Context"]))
    assert "{{context}}" in messages[1]["content"]
    assert "{{expected}}" not in messages[1]["content"]
    with pytest.raises(InvalidInput, match="unknown row field 'input'") as refused:
        rb.reviews.export_prompt(accepted_fork, "langfuse", fields=["input"])
    assert refused.value.field == "fields"


def test_export_promptfoo(rb: Rubricate, accepted_fork: str) -> None:
    messages = json.loads(rb.reviews.export_prompt(accepted_fork, "promptfoo"))
    assert [m["role"] for m in messages] == ["system", "user"]
    assert all(set(m) == {"role", "content"} for m in messages)
    system, user = (m["content"] for m in messages)
    assert f"1. {G1}" in system
    # promptfoo renders with Nunjucks: literal braces are escaped, variables are not
    assert 'Never reward {{ "{" }}{ braces }} or {{ "{" }}% tags %}.' in system
    assert "{{input}}" in user and "{{output}}" in user


def test_export_of_a_template_with_optional_fields(rb: Rubricate, demo: str) -> None:
    prompt = (
        "Judge {{ output }} for {{ input }}.\n{% if context %}Use {{ context }}.{% endif %}\n"
        "{% if metadata %}Language: {{ metadata['lang'] }}.{% endif %}"
    )
    rb.metrics.add_version(CUSTOM, prompt=prompt, guidelines=f"- {G1}")
    data = json.loads(rb.reviews.export_prompt(CUSTOM, "langfuse"))
    system, user = (m["content"] for m in data["prompt"])
    assert "Use [CONTEXT]." in system and "[METADATA: lang]" in system
    for name in ("input", "output", "context", "metadata"):
        assert f"\n{{{{{name}}}}}\n" in user
    assert data["config"]["rubricate"]["variables"] == ["input", "output", "context", "metadata"]
    text = rb.reviews.export_prompt(CUSTOM, "text")
    assert "{% if context %}Use {{ context }}.{% endif %}" in text


def test_export_with_an_unknown_format(rb: Rubricate) -> None:
    with pytest.raises(InvalidInput, match="text, json, langfuse, promptfoo") as refused:
        rb.reviews.export_prompt(BUILTIN, "yaml")
    assert refused.value.field == "format"
    assert rb.reviews.export_prompt(BUILTIN, " JSON ").startswith("{")


@pytest.mark.parametrize(
    ("ref", "error", "expected"),
    [
        ("nope", NotFound, "no metric named 'nope'"),
        ("helpfulness@9", NotFound, "has no version 9"),
        ("helpfulness@0", InvalidInput, "NAME@NUMBER"),
        ("helpfulness@x", InvalidInput, "NAME@NUMBER"),
        ("@1", NotFound, "no metric named ''"),
    ],
)
def test_export_with_a_bad_ref(
    rb: Rubricate, ref: str, error: type[Exception], expected: str
) -> None:
    with pytest.raises(error, match=expected):
        rb.reviews.export_prompt(ref, "text")
