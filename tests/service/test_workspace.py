"""The workspace's services: each built on first use, of the type its attribute is annotated
with, over the workspace's database, and the same object every time it is read."""

from __future__ import annotations

import pytest

from rubricate import Rubricate
from rubricate.service.base import ConfiguredService, LazyService

ACCESSORS = sorted(n for n, v in vars(Rubricate).items() if isinstance(v, LazyService))


def test_every_service_is_an_accessor() -> None:
    assert len(ACCESSORS) == 16
    assert {"metrics", "evaluation_runs", "users", "gold", "label_sampling"} <= set(ACCESSORS)


@pytest.mark.parametrize("name", ACCESSORS)
def test_each_accessor_builds_its_annotated_service_once(rb: Rubricate, name: str) -> None:
    assert name not in vars(rb)  # not built until read
    service = getattr(rb, name)
    annotation = Rubricate.__annotations__[name]
    assert annotation == f"LazyService[{type(service).__name__}]"
    assert service._db is rb.db
    if isinstance(service, ConfiguredService):
        assert service._settings is rb.settings
    assert getattr(rb, name) is service
