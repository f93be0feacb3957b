"""A metric version as a file for MLflow: the judge's instructions with MLflow's template
variables (``{{ inputs }}``, ``{{ outputs }}``, ``{{ expectations }}``), as ``rubricate
export mlflow`` registers them, and the tags it registers them with, in JSON::

    spec = json.load(open("helpful-v2-mlflow.json"))
    judge = make_judge(name=spec["name"], instructions=spec["instructions"], model=...)
    mlflow.genai.register_prompt(name=spec["name"], template=spec["instructions"],
                                 tags=spec["tags"])

No MLflow import: the file is written without MLflow installed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rubricate.integrations._mlflow_export import judge_instructions, variables

if TYPE_CHECKING:
    from rubricate.service.workspace import Rubricate


def mlflow_judge_file(rb: Rubricate, ref: str) -> str:
    """The judge of ``ref`` (``NAME`` for the active version, ``NAME@N``) as JSON: its
    ``name``, ``instructions``, the MLflow ``variables`` they use and the ``tags``."""
    text, tags, _ = judge_instructions(rb, ref)
    spec = {
        "name": ref.partition("@")[0],
        "instructions": text,
        "variables": variables(text),
        "tags": tags,
    }
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"
