"""Models: ``provider:model`` names over pydantic-ai, the one call path (cache, limits,
retries, cost), the fake provider for tests, and the offline reflection engine."""

from rubricate.models.client import CallFailed, ChatRequest, ModelClient, OutputSchema, Reply
from rubricate.models.names import OFFLINE_ENGINE, PROVIDERS, ModelName, parse_model_name
from rubricate.models.providers import ResolvedModel, resolve_model

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
