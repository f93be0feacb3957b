"""The demo workspace: a support bot's answers, three reviewers and a judge.

The data (``support_bot/``, the annotation dataset layout) was written for rubricate: a
fictional meal-kit company, Larkspur Meals, whose support bot answered 24 customer questions
twice. Reviewers scored each answer's helpfulness (1–5) and policy compliance (fail/pass)
and disagree now and then. The judge's scores (``demo:scripted-judge``) were written for the
demo too: lenient on answers that break policy or ramble, harsh on short ones, which is the
kind of blind spot alignment is for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rubricate.domain.resolution import Policy
from rubricate.service.annotations import ResolveReport
from rubricate.service.importing import ImportReport, Progress
from rubricate.service.workspace import Rubricate

DATASET = Path(__file__).parent / "support_bot"
EVALUATION = "support-bot-demo"
POLICY = Policy.MAJORITY


@dataclass(frozen=True, slots=True)
class DemoReport:
    evaluation: str
    imported: ImportReport
    resolved: dict[str, ResolveReport]  # metric name -> what the policy did


def metric_names() -> list[str]:
    """The demo's criteria, as its dataset.json names them."""
    manifest = json.loads((DATASET / "dataset.json").read_text(encoding="utf-8"))
    return [criterion["name"] for criterion in manifest["criteria"]]


def build_demo(rb: Rubricate, *, progress: Progress | None = None) -> DemoReport:
    """Import the demo data and resolve it with the majority policy; running it again
    changes nothing."""
    imported = rb.import_path(DATASET, EVALUATION, progress=progress)
    resolved = {name: rb.annotations.resolve(EVALUATION, name, POLICY) for name in metric_names()}
    return DemoReport(EVALUATION, imported, resolved)
