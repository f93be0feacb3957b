"""Back to MLflow: a metric version as a judge's instructions, registered in MLflow's
prompt registry (``mlflow.genai.register_prompt``) with MLflow's judge template variables,
so ``make_judge(name=..., instructions=prompt.template, model=...)`` takes it as it is.

The judge's prompt is the langfuse layout of `rubricate align export-prompt` (one text,
rows' fields as ``{{name}}``) with rubricate's variables renamed to MLflow's: input to
``{{ inputs }}``, output to ``{{ outputs }}``, expected to ``{{ expectations }}``. MLflow's
judges have no variable for a row's context or metadata, so the prompt is written for rows
without them. Registering again creates nothing while the latest version holds the same
text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from rubricate.domain.errors import InvalidInput

if TYPE_CHECKING:
    from rubricate.service.workspace import Rubricate

VARIABLES = {"input": "inputs", "output": "outputs", "expected": "expectations"}
FIELDS = ["expected"]  # the optional row fields an MLflow judge can be given


@dataclass(frozen=True)
class MlflowPromptReport:
    tracking_uri: str
    metric: str
    version: int  # the metric's version in rubricate
    prompt_name: str
    prompt_version: int  # the prompt's version in MLflow's registry
    created: bool  # False: the latest version held this prompt already
    variables: list[str]  # MLflow's template variables the prompt uses
    alias: str | None


def judge_instructions(rb: Rubricate, ref: str) -> tuple[str, dict[str, str], int]:
    """The judge's instructions with MLflow's variables, its tags, and the version number."""
    version = rb.metrics.version(ref)
    body: dict[str, Any] = json.loads(rb.reviews.export_prompt(ref, "langfuse", fields=FIELDS))
    text = "\n\n".join(m["content"] for m in body["prompt"] if m["content"].strip())
    for name in body["config"]["rubricate"]["variables"]:
        if name not in VARIABLES:  # cannot happen with FIELDS; a guard for new fields
            raise InvalidInput(f"MLflow's judges have no variable for a row's {name}")
        text = text.replace(f"{{{{{name}}}}}", f"{{{{ {VARIABLES[name]} }}}}")
    tags = {
        "rubricate_metric": ref.partition("@")[0],
        "rubricate_version": str(version.number),
        "rubricate_scale": json.dumps(version.scale.to_json(), sort_keys=True),
        "exported_by": f"rubricate {_package_version()}",
    }
    return text, tags, version.number


def register(
    client: Any, name: str, text: str, tags: dict[str, str], alias: str | None, message: str
) -> tuple[int, bool]:
    """The registry's version holding ``text`` (the latest one when it holds it already),
    and whether it was created."""
    latest = client.load_prompt(f"prompts:/{name}@latest", allow_missing=True,
                                cache_ttl_seconds=0)  # fmt: skip
    if latest is not None and latest.template == text:
        number, created = int(latest.version), False
    else:
        made = client.register_prompt(name=name, template=text, commit_message=message, tags=tags)
        number, created = int(made.version), True
    if alias is not None:
        client.set_prompt_alias(name=name, alias=alias, version=number)
    return number, created


def variables(text: str) -> list[str]:
    return [v for v in VARIABLES.values() if f"{{{{ {v} }}}}" in text]


def _package_version() -> str:
    try:
        return metadata.version("rubricate")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
        return "(source)"
