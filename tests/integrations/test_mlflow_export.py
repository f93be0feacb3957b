"""A metric version registered in a real MLflow prompt registry (SQLite backend) as a
judge's instructions with MLflow's template variables; again registers nothing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from tests.integrations.conftest import Cli
from tests.integrations.mlflow_support import mlflow

from rubricate import Rubricate
from rubricate.domain.scale import Scale
from rubricate.integrations import mlflow as connector

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
# the variables make_judge accepts in its instructions
MLFLOW_JUDGE_VARIABLES = {"inputs", "outputs", "trace", "expectations", "conversation"}
PROMPT = (
    "Rate the tone of the answer.\n{{ guidelines }}\nQuestion: {{ input }}\n"
    "{% if expected %}Reference: {{ expected }}\n{% endif %}"
    "{% if context %}Context: {{ context }}\n{% endif %}Answer: {{ output }}\n"
)


@pytest.fixture
def uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_export_registers_the_judge_prompt_once(rb: Rubricate, uri: str) -> None:
    rb.metrics.create("tone", prompt=PROMPT, scale=Scale(min=1, max=5), description="Tone.")
    report = connector.export_judge(rb, "tone", tracking_uri=uri, alias="staging")
    assert (report.prompt_name, report.prompt_version, report.created) == ("tone", 1, True)
    assert report.variables == ["inputs", "outputs", "expectations"]
    found = mlflow.MlflowClient(uri, uri).load_prompt("prompts:/tone@staging")
    assert found.version == 1 and found.variables <= MLFLOW_JUDGE_VARIABLES
    fenced = "<<<BEGIN INPUT {0}>>>\n{{{{ inputs }}}}\n<<<END INPUT {0}>>>"
    fence = found.template.split("<<<BEGIN INPUT ")[1].split(">>>")[0]
    assert fenced.format(fence) in found.template  # row text fenced off as data, as rubricate's
    assert "{{ outputs }}" in found.template and "{{ expectations }}" in found.template
    assert "Reference: [EXPECTED]" in found.template
    assert "Context:" not in found.template  # MLflow's judges have no variable for it
    assert found.tags["rubricate_metric"] == "tone" and found.tags["rubricate_version"] == "1"
    again = connector.export_judge(rb, "tone", tracking_uri=uri)
    assert (again.prompt_version, again.created) == (1, False)
    if importlib.util.find_spec("pandas") is not None:  # make_judge needs the full mlflow
        from mlflow.genai.judges import make_judge

        judge = make_judge(name="tone", instructions=found.template, model="openai:/gpt-4o-mini")
        assert judge.name == "tone"


def test_export_command(database_url: str, uri: str, rb: Rubricate) -> None:
    rb.metrics.create("tone", prompt=PROMPT, scale=Scale(min=1, max=5))
    run = Cli(database_url, {"MLFLOW_TRACKING_URI": uri})
    said = run.ok("export", "mlflow", "tone", "--name", "support-tone").stdout
    assert said.startswith(f"Registered version 1 of the MLflow prompt 'support-tone' at {uri} "
                           "from tone version 1 (variables {{ inputs }}, {{ outputs }}, "
                           "{{ expectations }}).")  # fmt: skip
    again = run.ok("export", "mlflow", "tone", "--name", "support-tone").stdout
    assert again.startswith("Nothing registered: version 1 of the MLflow prompt 'support-tone'")
