"""A metric version's prompt for other tools: text (the template as the judge sees it),
json, a Langfuse chat prompt, or a promptfoo prompt file."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rubricate.domain.errors import InvalidInput

# Jinja2, the scoring templates and the alignment models load when a prompt is exported:
# the CLI imports this module at start-up for EXPORT_FORMATS.
if TYPE_CHECKING:
    from rubricate.domain.metrics import Metric, MetricVersion

EXPORT_FORMATS = ("text", "json", "langfuse", "promptfoo")


def export_prompt(
    metric: Metric, version: MetricVersion, fmt: str, *, fields: Sequence[str] | None = None
) -> str:
    chosen = (fmt or "").strip().lower()
    if chosen not in EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}",
            field="format",
        )
    given = _optional_fields(fields)
    if chosen == "text":
        from rubricate.scoring.filled import filled_template

        return filled_template(version)
    if chosen == "json":
        return _dumps(_json_export(metric, version))
    if chosen == "langfuse":
        return _dumps(_langfuse_export(metric, version, given))
    return _dumps(_promptfoo_export(version, given))


def _parse_items(text: str) -> list[str]:
    from rubricate.domain.alignment import parse_guidelines_text

    return [item for item in parse_guidelines_text(text) if item.strip()]


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _json_export(metric: Metric, version: MetricVersion) -> dict[str, Any]:
    return {
        "name": metric.name,
        "description": metric.description,
        "version": version.number,
        "origin": version.origin.value,
        "scale": version.scale.to_json(),
        "judge_model": metric.judge_model,
        "prompt": version.prompt,
        "guidelines": _parse_items(version.guidelines),
        "created_at": version.created_at.isoformat(),
        "source_run_id": version.source_run_id,
    }


@dataclass(frozen=True, slots=True)
class _ChatPrompt:
    system: str
    user: str
    variables: tuple[str, ...]


OPTIONAL_FIELDS = ("context", "expected", "metadata")


def _optional_fields(fields: Sequence[str] | None) -> frozenset[str] | None:
    if fields is None:
        return None
    chosen = frozenset(f.strip().lower() for f in fields if f.strip())
    unknown = sorted(chosen - set(OPTIONAL_FIELDS))
    if unknown:
        raise InvalidInput(
            f"unknown row field {unknown[0]!r}: the optional fields are "
            f"{', '.join(OPTIONAL_FIELDS)} (input and output are always given)",
            field="fields",
        )
    return chosen


def _chat_prompt(version: MetricVersion, fields: frozenset[str] | None) -> _ChatPrompt:
    """The judge's two messages with ``{{name}}`` where a row's data goes, for rows that
    have the optional ``fields`` (None: all the template uses); tests on them, such as
    ``{% if context %}``, are decided that way."""
    from rubricate.scoring.render import render_prompt
    from rubricate.scoring.template import compile_template

    used = compile_template(version.prompt).names
    names = used if fields is None else used & fields
    optional = [name for name in OPTIONAL_FIELDS if name in names]
    metadata: dict[str, str] | None = None
    if "metadata" in names:
        metadata = dict.fromkeys(_metadata_keys(version.prompt), "x") or {"x": "x"}
    rendered = render_prompt(
        version.prompt,
        input="{{input}}",
        output="{{output}}",
        context="{{context}}" if "context" in names else None,
        expected="{{expected}}" if "expected" in names else None,
        metadata=metadata,
        guidelines=version.guidelines,
        scale=version.scale,
    )
    user = rendered.user
    if metadata is not None:
        fence = re.escape(rendered.fence)
        user = re.sub(
            rf"(<<<BEGIN METADATA {fence}>>>\n).*?(\n<<<END METADATA {fence}>>>)",
            lambda m: f"{m.group(1)}{{{{metadata}}}}{m.group(2)}",
            user,
            count=1,
            flags=re.DOTALL,
        )
    return _ChatPrompt(rendered.system, user, ("input", "output", *optional))


def _metadata_keys(source: str) -> list[str]:
    """The metadata keys a template names (``metadata.key``, ``metadata['key']``)."""
    from jinja2 import Environment, nodes

    ast = Environment().parse(source)
    keys: list[str] = []
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        key: object = None
        if isinstance(node, nodes.Getattr):
            target, key = node.node, node.attr
        elif isinstance(node, nodes.Getitem):
            target = node.node
            key = node.arg.value if isinstance(node.arg, nodes.Const) else None
        else:
            continue
        if not (isinstance(target, nodes.Name) and target.name == "metadata"):
            continue
        if isinstance(key, str) and key not in keys:
            keys.append(key)
    return keys


def _langfuse_export(
    metric: Metric, version: MetricVersion, fields: frozenset[str] | None
) -> dict[str, Any]:
    """The body of Langfuse's create-prompt call for a chat prompt; row fields are
    Langfuse variables (``{{input}}``)."""
    chat = _chat_prompt(version, fields)
    config: dict[str, Any] = {"temperature": 0}
    if metric.judge_model:
        config["model"] = metric.judge_model
    config["rubricate"] = {
        "metric": metric.name,
        "version": version.number,
        "origin": version.origin.value,
        "scale": version.scale.to_json(),
        "variables": list(chat.variables),
        "source_run_id": version.source_run_id,
        "answer": {"score": "number", "rationale": "string"},
    }
    origin = version.origin.value
    if version.source_run_id:
        origin += f", accepted from alignment run {version.source_run_id}"
    return {
        "name": metric.name,
        "type": "chat",
        "prompt": [
            {"role": "system", "content": chat.system},
            {"role": "user", "content": chat.user},
        ],
        "config": config,
        "labels": [f"rubricate-v{version.number}"],
        "tags": ["rubricate"],
        "commitMessage": (f"rubricate: {metric.name} version {version.number} ({origin})")[:500],
    }


def _promptfoo_export(
    version: MetricVersion, fields: frozenset[str] | None
) -> list[dict[str, str]]:
    """A promptfoo prompt file in its JSON chat layout. promptfoo renders prompts with
    Nunjucks, so literal text that could open a tag is escaped."""
    from rubricate.scoring.filled import escape_jinja

    chat = _chat_prompt(version, fields)
    variables = [f"{{{{{name}}}}}" for name in chat.variables]
    pattern = re.compile("|".join(re.escape(v) for v in variables))

    def escaped(text: str) -> str:
        parts: list[str] = []
        position = 0
        for match in pattern.finditer(text):
            parts.append(escape_jinja(text[position : match.start()]))
            parts.append(match.group(0))
            position = match.end()
        parts.append(escape_jinja(text[position:]))
        return "".join(parts)

    return [
        {"role": "system", "content": escaped(chat.system)},
        {"role": "user", "content": escaped(chat.user)},
    ]
