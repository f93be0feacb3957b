"""Models: ``provider:model`` names over pydantic-ai, the one call path (cache, limits,
retries, cost), the fake provider for tests, and the offline reflection engine.

Names load on first use (PEP 562): pydantic-ai and the providers take a second or more
to import, and light modules here (cost, names) are imported by the CLI at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rubricate import _lazy

if TYPE_CHECKING:
    from rubricate.models.client import CallFailed, ChatRequest, ModelClient, OutputSchema, Reply
    from rubricate.models.names import OFFLINE_ENGINE, PROVIDERS, ModelName, parse_model_name
    from rubricate.models.providers import ResolvedModel, resolve_model

_WHERE = {
    "CallFailed": "rubricate.models.client",
    "ChatRequest": "rubricate.models.client",
    "ModelClient": "rubricate.models.client",
    "OutputSchema": "rubricate.models.client",
    "Reply": "rubricate.models.client",
    "OFFLINE_ENGINE": "rubricate.models.names",
    "PROVIDERS": "rubricate.models.names",
    "ModelName": "rubricate.models.names",
    "parse_model_name": "rubricate.models.names",
    "ResolvedModel": "rubricate.models.providers",
    "resolve_model": "rubricate.models.providers",
}

__all__ = [
    "OFFLINE_ENGINE",
    "PROVIDERS",
    "CallFailed",
    "ChatRequest",
    "ModelClient",
    "ModelName",
    "OutputSchema",
    "Reply",
    "ResolvedModel",
    "parse_model_name",
    "resolve_model",
]


__getattr__ = _lazy(__name__, _WHERE, globals())


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
