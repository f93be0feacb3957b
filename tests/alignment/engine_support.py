"""Fixtures of the test_engine*.py modules: ``workspace`` (the rows of alignment_support
loaded), and the fake models ``reflect`` and ``judge`` registered for one test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.alignment.alignment_support import judge_length, load, reflect_length

from rubricate import Rubricate
from rubricate.models import fake


@pytest.fixture
def workspace(rb: Rubricate, tmp_path: Path) -> Rubricate:
    load(rb, tmp_path)
    return rb


@pytest.fixture
def reflect() -> Iterator[fake.FakeModel]:
    with fake.registered("reflect", reflect_length) as model:
        yield model


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    with fake.registered("judge", judge_length) as model:
        yield model
