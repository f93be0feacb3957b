"""Importing from Langfuse through the connector's own HTTP code, against the contract fake
of Langfuse's public API (Langfuse itself needs containers and ClickHouse)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.integrations.conftest import SECRET, Project, annotations, by_row, judged

from rubricate import Rubricate
from rubricate.domain.errors import InvalidInput, NotFound, Unavailable
from rubricate.integrations import langfuse
from rubricate.integrations.langfuse import LangfuseConnection
from rubricate.testing import fake_langfuse
from rubricate.testing.fake_langfuse import FakeLangfuse, running

EVALUATION = "langfuse-tone"


def test_import_makes_rows_annotations_judge_results_and_the_metric(
    rb: Rubricate, project: Project
) -> None:
    ids = project.ids
    report = langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    assert report.evaluation_created and report.metrics_created == ["tone"]
    assert (report.rows_added, report.annotations_added, report.judge_results_added) == (2, 4, 2)
    assert report.scores_read == 8 and report.traces_fetched == 3
    assert report.scores_skipped == {
        "on a trace without an input or an output": 1,
        "on an observation, not a whole trace": 1,
    }
    version = rb.metrics.version("tone")  # the scale of the score config
    assert version.scale.type == "ordinal" and (version.scale.low, version.scale.high) == (1, 5)
    assert rb.metrics.get("tone").description == "Is the tone right for a support chat?"
    rows = by_row([*rb.evaluations.rows(EVALUATION)])
    assert list(rows) == [ids["chat"], ids["plain"]]  # trace ids, in the traces' order
    chat = rows[ids["chat"]]
    assert chat.input == "system: Be kind.\n\nuser: Skip?"
    assert chat.output == "Yes: Settings, Deliveries, Skip."
    assert chat.metadata["langfuse"]["trace_id"] == ids["chat"]
    assert chat.metadata["langfuse"]["user_id"] == "user-7"
    assert chat.metadata["trace_metadata"] == {"plan": "pro"}
    assert rows[ids["plain"]].input == "Refund?"
    assert annotations(rb, EVALUATION) == {
        (ids["chat"], "ana"): (4.0, "warm"),
        (ids["chat"], "bob"): (5.0, None),
        (ids["plain"], "ana"): (2.0, "curt"),
        (ids["plain"], "langfuse"): (3.0, None),  # an API score without an author
    }
    assert judged(rb, EVALUATION, "metric_version") == {
        (ids["chat"], None): (4.0, 1),
        (ids["plain"], "gpt-4o-mini"): (1.0, 1),
    }


def test_import_again_adds_nothing_and_fetches_only_traces_it_lacks(
    rb: Rubricate, project: Project
) -> None:
    langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    fetched = project.fake.count("GET", "/api/public/traces/")
    again = langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    assert not again.changed and again.rows_unchanged == 2 and again.scores_changed == []
    # only the trace without an output is asked for again: it is not a row
    assert project.fake.count("GET", "/api/public/traces/") == fetched + 1
    assert (
        len(annotations(rb, EVALUATION)) == 4 and len(judged(rb, EVALUATION, "metric_version")) == 2
    )


def test_new_scores_and_traces_come_in_on_a_later_import(rb: Rubricate, project: Project) -> None:
    langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    fake = project.fake
    late = fake.add_trace(input="Pause?", output="Yes, for up to 4 weeks.")
    fake.add_score(late["id"], "tone", 5, author="ana", config_id=project.ids["config"])
    fake.add_score(project.ids["chat"], "tone", 3, author="cy", config_id=project.ids["config"])
    report = langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    assert (report.rows_added, report.rows_unchanged, report.annotations_added) == (1, 2, 2)
    assert annotations(rb, EVALUATION)[(late["id"], "ana")] == (5.0, None)


def test_a_changed_score_is_reported_and_not_overwritten(rb: Rubricate, project: Project) -> None:
    langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    fake, ids = project.fake, project.ids
    fake.scores[ids["ana_chat"]] |= {"value": 2.0, "comment": "too cheerful"}  # edited in Langfuse
    fake.scores[ids["eval_chat"]] |= {"value": 1.0}  # the evaluator ran again
    fake.add_score(ids["plain"], "tone", 4, author="cy", config_id=ids["config"])  # new
    report = langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    changed = {(c.kind, c.by): c for c in report.scores_changed}
    assert set(changed) == {("annotation", "ana"), ("judge result", "")}
    ana = changed["annotation", "ana"]
    assert (ana.stored, ana.langfuse, ana.comment_changed) == (4.0, 2.0, True)
    assert (ana.score_id, ana.trace_id) == (ids["ana_chat"], ids["chat"])
    assert (changed["judge result", ""].stored, changed["judge result", ""].langfuse) == (4, 1)
    assert report.annotations_added == 1  # the new one still comes in
    assert annotations(rb, EVALUATION)[(ids["chat"], "ana")] == (4.0, "warm")  # kept as stored
    assert judged(rb, EVALUATION, "metric_version")[(ids["chat"], None)] == (4.0, 1)


def test_the_time_window_reads_only_its_scores(rb: Rubricate, project: Project) -> None:
    fake, ids = project.fake, project.ids
    for score in fake.scores.values():  # every seeded score on May 1st
        score["timestamp"] = "2025-05-01T10:00:00.000Z"
    early = datetime(2025, 5, 2, 8, tzinfo=UTC)
    fake.add_score(ids["plain"], "tone", 5, author="cy", timestamp=early, config_id=ids["config"])
    fake.add_score(ids["chat"], "tone", 1, author="cy", timestamp=early + timedelta(days=3),
                   config_id=ids["config"])  # fmt: skip
    first = langfuse.import_langfuse(
        rb, score="tone", start="2025-05-02", end="2025-05-03", connection=project.connection
    )
    assert (first.scores_read, first.rows_added, first.annotations_added) == (1, 1, 1)
    assert first.judge_results_added == 0
    assert annotations(rb, EVALUATION) == {(ids["plain"], "cy"): (5.0, None)}
    second = langfuse.import_langfuse(rb, score="tone", start="2025-05-03T00:00:00+00:00",
                                      connection=project.connection)  # fmt: skip
    assert (second.scores_read, second.rows_added, second.annotations_added) == (1, 1, 1)
    quiet = langfuse.import_langfuse(rb, score="tone", start="2025-06-01",
                                     connection=project.connection)  # fmt: skip
    assert quiet.scores_read == 0 and not quiet.changed  # a name known outside the window


def test_a_judge_score_of_its_own_name(rb: Rubricate, project: Project) -> None:
    fake, ids = project.fake, project.ids
    fake.add_score(ids["chat"], "tone-judge", 2, source="API", comment="stiff",
                   metadata={"model": "claude-x"})  # fmt: skip
    fake.add_score(ids["chat"], "tone-judge", 5, author="ana")  # a reviewer, misnamed
    report = langfuse.import_langfuse(rb, score="tone", judge_score="tone-judge",
                                      connection=project.connection)  # fmt: skip
    assert (report.annotations_added, report.judge_results_added) == (4, 1)
    assert judged(rb, EVALUATION, "metric_version") == {(ids["chat"], "claude-x"): (2.0, 1)}
    assert report.scores_skipped["from an evaluator named 'tone' (--judge-score reads "
                                 "'tone-judge')"] == 2  # fmt: skip
    assert report.scores_skipped["from reviewers named 'tone-judge' (--score reads 'tone')"] == 1


def test_a_dry_run_counts_and_writes_nothing(rb: Rubricate, project: Project) -> None:
    report = langfuse.import_langfuse(rb, score="tone", dry_run=True, connection=project.connection)
    assert report.dry_run and (report.rows_added, report.annotations_added) == (2, 4)
    assert report.metrics_created == ["tone"]
    assert rb.evaluations.list() == []
    with pytest.raises(NotFound):
        rb.metrics.get("tone")
    assert project.fake.count("POST", "/") == 0


def test_a_refused_key_names_the_variables_and_never_the_secret(
    rb: Rubricate, project: Project
) -> None:
    wrong = LangfuseConnection(project.server.host, project.fake.public_key, SECRET + "x")
    with pytest.raises(Unavailable) as caught:
        langfuse.import_langfuse(rb, score="tone", connection=wrong)
    message = str(caught.value)
    assert "401" in message and project.server.host in message
    assert "LANGFUSE_PUBLIC_KEY" in message and "LANGFUSE_SECRET_KEY" in message
    assert SECRET not in message and "sk-lf" not in message and SECRET not in repr(wrong)


def test_a_connection_names_the_variables_its_keys_came_from(
    rb: Rubricate, project: Project
) -> None:
    named = {"public_key_env": "TEAM_PK", "secret_key_env": "TEAM_SK",
             "host_setting": "connections.team.host"}  # fmt: skip
    wrong = LangfuseConnection(project.server.host, project.fake.public_key, "sk-x", **named)
    with pytest.raises(Unavailable) as refused:
        langfuse.import_langfuse(rb, score="tone", connection=wrong)
    message = str(refused.value)
    assert "check TEAM_PK and TEAM_SK" in message and "connections.team.host" in message
    assert "LANGFUSE_" not in message
    with pytest.raises(InvalidInput, match=r"set connections\.team\.host to the Langfuse server"):
        LangfuseConnection("ftp://nowhere", "pk", "sk", **named)
    with running(FakeLangfuse()) as server:
        host = server.host
    closed = LangfuseConnection(host, "pk", "sk", **named)
    with pytest.raises(Unavailable, match=r"cannot reach .* check connections\.team\.host"):
        langfuse.import_langfuse(rb, score="tone", connection=closed)


def test_keys_a_server_repeats_are_blanked(
    rb: Rubricate, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    def echoing(query: dict[str, str]) -> dict[str, str]:
        raise fake_langfuse._Invalid(f"bad keys {project.fake.public_key}:{SECRET}")

    monkeypatch.setattr(project.fake, "list_scores", echoing)
    with pytest.raises(Unavailable) as caught:
        langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    assert "400" in str(caught.value) and "bad keys ***:***" in str(caught.value)


def test_an_unknown_score_name_lists_the_names_langfuse_has(
    rb: Rubricate, project: Project
) -> None:
    with pytest.raises(NotFound) as caught:
        langfuse.import_langfuse(rb, score="Tone", connection=project.connection)
    assert "no scores named 'Tone'" in str(caught.value)
    assert "are other, tone" in str(caught.value)
    with pytest.raises(NotFound, match="no scores named 'judge'"):
        langfuse.import_langfuse(
            rb, score="tone", judge_score="judge", connection=project.connection
        )
    assert rb.evaluations.list() == []


def test_an_unreachable_host_is_named(rb: Rubricate) -> None:
    with running(FakeLangfuse()) as server:
        host = server.host  # closed when the block ends: nothing listens there now
    closed = LangfuseConnection(host, "pk", "sk")
    with pytest.raises(Unavailable, match=f"cannot reach Langfuse at {host} .*LANGFUSE_HOST"):
        langfuse.import_langfuse(rb, score="tone", connection=closed)


def test_missing_keys_name_the_variables(rb: Rubricate, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANGFUSE_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("LANGFUSE_SECRET_KEY", raising=False)
    with pytest.raises(InvalidInput, match="set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY"):
        langfuse.import_langfuse(rb, score="tone")


def test_pages_are_followed(rb: Rubricate, project: Project) -> None:
    report = langfuse.import_langfuse(rb, score="tone", page_size=2, connection=project.connection)
    assert report.annotations_added == 4 and report.scores_read == 8
    assert project.fake.count("GET", "/api/public/v2/scores") == 4  # 8 scores, 2 a page


def test_all_or_nothing_a_score_off_the_scale_keeps_nothing(
    rb: Rubricate, project: Project
) -> None:
    fake, ids = project.fake, project.ids
    fake.add_score(ids["plain"], "tone", 9, author="cy")  # no config: Langfuse let it through
    with pytest.raises(InvalidInput) as caught:
        langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    assert "score 9 is outside the scale 1–5" in str(caught.value)
    assert f"(trace {ids['plain']})" in str(caught.value)
    assert rb.evaluations.list() == []


def test_categorical_and_boolean_scores(rb: Rubricate) -> None:
    fake = FakeLangfuse()
    config = fake.add_config("verdict", "CATEGORICAL", categories={0: "fail", 1: "pass"})
    trace = fake.add_trace(input="q", output="a")
    fake.add_score(trace["id"], "verdict", "pass", data_type="CATEGORICAL", author="ana",
                   config_id=config["id"])  # fmt: skip
    fake.add_score(trace["id"], "verdict", "fail", data_type="CATEGORICAL", source="EVAL",
                   config_id=config["id"])  # fmt: skip
    fake.add_score(trace["id"], "correct", 1, data_type="BOOLEAN", author="ana")
    with running(fake) as server:
        connection = LangfuseConnection(server.host, fake.public_key, fake.secret_key)
        langfuse.import_langfuse(rb, score="verdict", evaluation="e", connection=connection)
        langfuse.import_langfuse(rb, score="correct", evaluation="e", connection=connection)
    assert rb.metrics.version("verdict").scale.labels == {0.0: "fail", 1.0: "pass"}
    assert rb.metrics.version("correct").scale.labels == {0.0: "False", 1.0: "True"}
    listed = rb.evaluation_reads.annotations("e", "verdict").items
    assert [(a.annotator, a.score) for a in listed] == [("ana", 1.0)]
    assert [j.score for j in rb.evaluation_reads.judge_results("e", metric="verdict").items] == [0]
    assert [a.score for a in rb.evaluation_reads.annotations("e", "correct").items] == [1.0]


def test_no_scale_to_take_asks_for_the_metric(rb: Rubricate) -> None:
    fake = FakeLangfuse()
    trace = fake.add_trace(input="q", output="a")
    fake.add_score(trace["id"], "tone", 3, author="ana")
    with running(fake) as server:
        connection = LangfuseConnection(server.host, fake.public_key, fake.secret_key)
        with pytest.raises(InvalidInput, match="rubricate metrics create tone --scale"):
            langfuse.import_langfuse(rb, score="tone", connection=connection)


def test_a_builtin_metric_takes_annotations_but_not_judge_scores(
    rb: Rubricate, project: Project
) -> None:
    with pytest.raises(InvalidInput, match=r"built-in metric.*--metric helpfulness-langfuse"):
        langfuse.import_langfuse(rb, score="tone", metric="helpfulness",
                                 connection=project.connection)  # fmt: skip
