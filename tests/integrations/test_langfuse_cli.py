"""`rubricate import langfuse` and `rubricate export langfuse`, with the keys in the
environment as users set them; `rubricate import PATH` is still the file import."""

from __future__ import annotations

import json

from tests.cli.test_cli_startup import heavy_imports
from tests.integrations.conftest import SECRET, Cli, Project


def test_import_dry_run_then_import_then_again(cli: Cli, project: Project) -> None:
    host = project.server.host
    dry = cli.ok("import", "langfuse", "--score", "tone", "--dry-run").stdout
    assert dry.startswith(f"Dry run, nothing kept. Would import Langfuse at {host} into "
                          "langfuse-tone (a new evaluation):")  # fmt: skip
    assert "annotations    4 added" in dry and "judge results  2 added" in dry
    assert "read           8 scores, 3 traces fetched" in dry
    assert "skipped        1 score on an observation, not a whole trace" in dry
    assert "metrics        tone created" in dry
    done = json.loads(cli.ok("import", "langfuse", "--score", "tone", "--json").stdout)
    assert (done["rows_added"], done["annotations_added"], done["dry_run"]) == (2, 4, False)
    assert done["host"] == host and done["scores_changed"] == []
    again = cli.ok("import", "langfuse", "--score", "tone", "-e", "langfuse-tone").stdout
    assert again.startswith(f"Nothing changed: langfuse-tone already holds everything in "
                            f"Langfuse at {host} (2 rows unchanged).")  # fmt: skip


def test_a_changed_score_is_listed(cli: Cli, project: Project) -> None:
    cli.ok("import", "langfuse", "--score", "tone")
    project.fake.scores[project.ids["ana_chat"]]["value"] = 1.0
    said = cli.ok("import", "langfuse", "--score", "tone").stdout
    assert "changed        1 score changed in Langfuse since an earlier import" in said
    assert f"annotation by ana on trace {project.ids['chat']}: 4 stored, 1 in Langfuse" in said


def test_a_refused_key_exits_naming_the_variables_not_the_secret(
    cli: Cli, project: Project
) -> None:
    stderr = cli.fails("import", "langfuse", "--score", "tone", code=1,
                       LANGFUSE_SECRET_KEY=SECRET[:-1])  # fmt: skip
    assert "401" in stderr and "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY" in stderr
    assert SECRET[:-1] not in stderr


def test_errors_name_what_to_fix(cli: Cli, project: Project) -> None:
    unknown = cli.fails("import", "langfuse", "--score", "Tone")
    assert "no scores named 'Tone'" in unknown and "other, tone" in unknown
    bad_time = cli.fails("import", "langfuse", "--score", "tone", "--from", "yesterday")
    assert "option --from: 'yesterday' is not an ISO 8601 date" in bad_time
    backwards = cli.fails("import", "langfuse", "--score", "tone", "--from", "2025-06-01",
                          "--to", "2025-05-01")  # fmt: skip
    assert "option --from: the start (2025-06-01 00:00 UTC) is not before the end" in backwards
    no_keys = cli.fails("import", "langfuse", "--score", "tone", LANGFUSE_PUBLIC_KEY=None)
    assert "set LANGFUSE_PUBLIC_KEY" in no_keys
    bad_name = cli.fails("import", "langfuse", "--score", "tone (v2)")
    assert "--metric" in bad_name


def test_export_prompt_and_scores(cli: Cli, project: Project) -> None:
    cli.ok("import", "langfuse", "--score", "tone")
    host = project.server.host
    said = cli.ok("export", "langfuse", "tone", "--label", "staging").stdout
    assert said.strip() == (f"Created version 1 of the Langfuse prompt 'tone' at {host} (text) "
                            "from tone version 1, labelled staging.")  # fmt: skip
    again = cli.ok("export", "langfuse", "tone", "--label", "staging").stdout
    assert again.startswith("Nothing created: version 1 of the Langfuse prompt 'tone'")
    refused = cli.fails("export", "langfuse", "tone", "--scores", "langfuse-tone")
    assert "version 1 of 'tone' is the imported one" in refused
    assert "is for --scores" in cli.fails("export", "langfuse", "tone", "--score-name", "x")


def test_the_file_commands_are_unchanged(cli: Cli, project: Project, tmp_path: object) -> None:
    helped = cli.ok("import", "--help").stdout
    assert "Usage: rubricate import [OPTIONS]" in helped
    assert "rubricate import langfuse" in helped  # the connectors, named at the end
    assert "Missing option '--evaluation'" in cli.fails("import", "some/path")
    assert "Usage: rubricate export langfuse" in cli.ok("export", "langfuse", "--help").stdout


def test_import_langfuse_help_loads_no_heavy_library(database_url: str) -> None:
    assert heavy_imports(database_url, "import", "langfuse", "--help") == []
    assert heavy_imports(database_url, "export", "langfuse", "--help") == []
