"""A template is checked before its version is written, never while holding the write
lock: through the API a slow check held SQLite's write lock, and every other user's write
got 503 for as long as it ran (issue 12). Here the check itself writes from another
connection; under a held write lock that write would wait, then fail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rubricate import Rubricate
from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale
from rubricate.scoring import render
from rubricate.service import metrics as metric_service
from rubricate.store.database import Database
from rubricate.store.tables import MetricRecord

SCALE = Scale(type="ordinal", min=1.0, max=5.0)
NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def test_a_template_is_checked_outside_any_write(
    rb: Rubricate, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rb.metrics.create("tone", scale=SCALE, prompt="Score the tone of {{ output }}.")
    other = Database(database_url)
    checked: list[str] = []

    def check_and_write(template: str, *, scale: Scale | None = None) -> None:
        with other.write() as session:  # another user's write, during the check
            # NOWAIT: on PostgreSQL a locked metric row fails at once instead of waiting.
            query = select(MetricRecord).where(MetricRecord.name == "tone")
            session.execute(query.with_for_update(nowait=True))
        checked.append(template)
        render.check_template(template, scale=scale)

    monkeypatch.setattr(metric_service, "check_template", check_and_write)
    try:
        rb.metrics.add_version("tone", prompt="Score how polite {{ output }} is.")
        with pytest.raises(InvalidInput, match="too much work"):
            rb.metrics.add_version("tone", prompt=NESTED)
    finally:
        other.dispose()
    assert len(checked) == 2
    assert rb.metrics.version("tone").number == 2
