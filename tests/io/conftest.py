"""Fixtures of the import/export tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rubricate import Rubricate, Settings


@pytest.fixture
def small_rb(database_url: str) -> Iterator[Rubricate]:
    """A workspace that imports two records a batch, so that a late error comes after
    earlier batches were written inside the import's transaction."""
    workspace = Rubricate(Settings(database_url=database_url, import_batch_size=2))
    yield workspace
    workspace.close()
