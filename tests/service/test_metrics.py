"""Metrics through the workspace: built-ins, custom metrics, versions, pins, built-in sync."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import event

from rubricate import Rubricate, Settings
from rubricate.domain.builtins import BUILTIN_METRICS
from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.domain.scale import Scale
from rubricate.service import metrics as metric_service
from rubricate.store import Database
from rubricate.store.migrate import upgrade

PROMPT = "Rate how polite {{ output }} is, given {{ input }}."
ONE_TO_FIVE = Scale(type="ordinal", min=1, max=5)


def catalogue(rb: Rubricate) -> dict[str, tuple[str, int, int, str]]:
    """name -> (kind, versions, active number, active prompt)."""
    return {
        s.metric.name: (s.metric.kind.value, s.version_count, s.active.number, s.active.prompt)
        for s in rb.metrics.list()
    }


def test_builtins_are_there_after_opening_a_workspace(rb: Rubricate) -> None:
    summaries = {s.metric.name: s for s in rb.metrics.list()}
    builtins = [s for s in summaries.values() if s.metric.kind is MetricKind.BUILTIN]
    assert len(builtins) >= 7
    for shipped in BUILTIN_METRICS:
        summary = summaries[shipped.name]
        assert summary.metric.is_builtin
        assert summary.metric.description == shipped.description
        assert (summary.version_count, summary.active.number) == (1, 1)
        assert summary.active.origin is VersionOrigin.BUILTIN
        assert summary.active.prompt == shipped.prompt
        assert summary.active.scale == shipped.scale


def test_builtins_are_never_modified(rb: Rubricate) -> None:
    before = catalogue(rb)
    for shipped in BUILTIN_METRICS[:3]:
        with pytest.raises(Conflict, match="built-in"):
            rb.metrics.add_version(shipped.name, prompt=PROMPT)
        with pytest.raises(Conflict, match="built-in"):
            rb.metrics.pin(shipped.name, 1)
        with pytest.raises(Conflict, match="built-in"):
            rb.metrics.pin(shipped.name, None)
    assert catalogue(rb) == before


def test_create_a_custom_metric(rb: Rubricate) -> None:
    version = rb.metrics.create(
        "politeness", scale=ONE_TO_FIVE, prompt=PROMPT, description="Polite?", judge_model="x:y"
    )
    assert (version.number, version.origin, version.prompt) == (1, VersionOrigin.MANUAL, PROMPT)
    assert version.scale == ONE_TO_FIVE
    metric = rb.metrics.get("politeness")
    assert (metric.kind, metric.description, metric.judge_model) == (
        MetricKind.CUSTOM,
        "Polite?",
        "x:y",
    )
    assert metric.pinned_version is None
    assert rb.metrics.version("politeness").id == version.id


BAD_NAMES = ["", "has space", "tone@2", "_tone", "tone\n", "x" * 101]
BAD_TEMPLATES = [
    "Rate {{ output",  # syntax
    "Rate {{ secret }}",  # unknown variable
    "Rate {{ output.__class__ }}",  # private attribute
    "{% for x in %}{% endfor %}",
]


def test_create_refuses_bad_names(rb: Rubricate) -> None:
    before = catalogue(rb)
    for name in BAD_NAMES:
        with pytest.raises(InvalidInput) as caught:
            rb.metrics.create(name, scale=ONE_TO_FIVE, prompt=PROMPT)
        assert caught.value.field == "name", name
    assert catalogue(rb) == before


def test_create_and_add_version_refuse_bad_templates(rb: Rubricate) -> None:
    for prompt in BAD_TEMPLATES:
        with pytest.raises(InvalidInput) as caught:
            rb.metrics.create("politeness", scale=ONE_TO_FIVE, prompt=prompt)
        assert caught.value.field == "prompt", prompt
    with pytest.raises(NotFound):
        rb.metrics.get("politeness")
    rb.metrics.create("politeness", scale=ONE_TO_FIVE, prompt=PROMPT)
    for prompt in BAD_TEMPLATES:
        with pytest.raises(InvalidInput) as caught:
            rb.metrics.add_version("politeness", prompt=prompt)
        assert caught.value.field == "prompt", prompt
    assert [v.number for v in rb.metrics.versions("politeness")] == [1]


def test_create_refuses_a_taken_name(rb: Rubricate) -> None:
    rb.metrics.create("politeness", scale=ONE_TO_FIVE, prompt=PROMPT)
    before = catalogue(rb)
    for name in ("politeness", BUILTIN_METRICS[0].name):
        with pytest.raises(Conflict, match="already exists"):
            rb.metrics.create(name, scale=Scale(type="interval", min=0, max=1), prompt=PROMPT)
    assert catalogue(rb) == before


def test_versions_are_numbered_and_the_newest_is_active(rb: Rubricate) -> None:
    first = rb.metrics.create("politeness", scale=ONE_TO_FIVE, prompt=PROMPT)
    second = rb.metrics.add_version("politeness", prompt=PROMPT + " v2", guidelines="- be fair")
    third = rb.metrics.add_version("politeness", prompt=PROMPT + " v3")
    assert [v.number for v in rb.metrics.versions("politeness")] == [1, 2, 3]
    assert (second.number, second.parent_version_id, second.guidelines) == (
        2,
        first.id,
        "- be fair",
    )
    assert (third.number, third.parent_version_id) == (3, second.id)
    assert all(v.scale == ONE_TO_FIVE for v in (second, third))  # the scale is kept
    assert rb.metrics.version("politeness").id == third.id
    assert catalogue(rb)["politeness"] == ("custom", 3, 3, PROMPT + " v3")


def test_pin_rolls_back_and_unpin_follows_the_newest(rb: Rubricate) -> None:
    rb.metrics.create("politeness", scale=ONE_TO_FIVE, prompt=PROMPT)
    rb.metrics.add_version("politeness", prompt=PROMPT + " v2")
    assert rb.metrics.pin("politeness", 1).pinned_version == 1
    assert rb.metrics.version("politeness").number == 1
    assert catalogue(rb)["politeness"][2] == 1
    assert rb.metrics.pin("politeness", None).pinned_version is None
    assert rb.metrics.version("politeness").number == 2
    with pytest.raises(InvalidInput) as caught:
        rb.metrics.pin("politeness", 3)
    assert caught.value.field == "version"
    with pytest.raises(NotFound):
        rb.metrics.pin("nope", 1)


def test_a_new_version_is_active_even_after_a_roll_back(rb: Rubricate) -> None:
    rb.metrics.create("politeness", scale=ONE_TO_FIVE, prompt=PROMPT)
    second = rb.metrics.add_version("politeness", prompt=PROMPT + " v2")
    rb.metrics.pin("politeness", 1)
    third = rb.metrics.add_version("politeness", prompt=PROMPT + " v3")
    assert third.parent_version_id == rb.metrics.version("politeness@1").id  # from the active
    assert second.id != third.parent_version_id
    assert rb.metrics.get("politeness").pinned_version is None
    assert rb.metrics.version("politeness").id == third.id


def test_version_references(rb: Rubricate) -> None:
    rb.metrics.create("politeness", scale=ONE_TO_FIVE, prompt=PROMPT)
    second = rb.metrics.add_version("politeness", prompt=PROMPT + " v2")
    assert rb.metrics.version("politeness@2").id == second.id
    assert rb.metrics.version("politeness@1").prompt == PROMPT
    assert rb.metrics.version(f"{BUILTIN_METRICS[0].name}@1").origin is VersionOrigin.BUILTIN
    with pytest.raises(NotFound, match=r"no version 9 \(versions: 1, 2\)"):
        rb.metrics.version("politeness@9")
    with pytest.raises(NotFound, match="no metric named 'nope'"):
        rb.metrics.version("nope@1")
    for ref in ("politeness@x", "politeness@0", "politeness@", "politeness@-1"):
        with pytest.raises(InvalidInput) as caught:
            rb.metrics.version(ref)
        assert caught.value.field == "version"


def test_opening_again_duplicates_nothing_and_writes_nothing(
    rb: Rubricate, database_url: str
) -> None:
    rb.metrics.create("politeness", scale=ONE_TO_FIVE, prompt=PROMPT)
    before = catalogue(rb)
    db = Database(database_url)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.strip().upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        upgrade(db)
        metric_service.sync_builtins(db)
    finally:
        db.dispose()
    assert statements, "the check read nothing"
    written = [s for s in statements if not s.startswith(("SELECT", "BEGIN", "PRAGMA", "WITH"))]
    assert written == []
    assert not any("IMMEDIATE" in s or "FOR UPDATE" in s for s in statements)
    with Rubricate(Settings(database_url=database_url)) as again:
        assert catalogue(again) == before


def test_a_changed_builtin_gets_a_new_version(
    rb: Rubricate, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = dataclasses.replace(
        BUILTIN_METRICS[0], prompt=BUILTIN_METRICS[0].prompt + "\nBe strict.", description="New."
    )
    monkeypatch.setattr(metric_service, "BUILTIN_METRICS", (changed, *BUILTIN_METRICS[1:]))
    before = catalogue(rb)
    for _ in range(2):  # the second time finds nothing to do
        with Rubricate(Settings(database_url=database_url)) as again:
            after = catalogue(again)
    assert after[changed.name] == ("builtin", 2, 2, changed.prompt)
    assert rb.metrics.get(changed.name).description == "New."
    assert {k: v for k, v in after.items() if k != changed.name} == {
        k: v for k, v in before.items() if k != changed.name
    }
