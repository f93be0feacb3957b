"""Model names: ``provider:model``, where the provider is a known one or a named endpoint
from settings."""

from __future__ import annotations

from dataclasses import dataclass

from rubricate.domain.errors import InvalidInput
from rubricate.settings import Settings

OFFLINE_ENGINE = "builtin:offline"

# The providers rubricate knows, and what each speaks.
PROVIDERS: dict[str, str] = {
    "openai": "OpenAI Responses API (OPENAI_API_KEY; OPENAI_BASE_URL for another server)",
    "openai-chat": "OpenAI Chat Completions API, which compatible servers speak",
    "anthropic": "Anthropic (ANTHROPIC_API_KEY)",
    "google-gla": "Google Gemini API (GOOGLE_API_KEY; pip install 'rubricate[google]')",
    "google-vertex": "Google Vertex AI (pip install 'rubricate[google]')",
    "bedrock": "AWS Bedrock (AWS credentials; pip install 'rubricate[bedrock]')",
    "fake": "the in-process fake provider, for tests",
    "builtin": "rubricate's own engines: builtin:offline (reflection only)",
}


@dataclass(frozen=True, slots=True)
class ModelName:
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


def parse_model_name(name: str, settings: Settings, *, field: str = "model") -> ModelName:
    """Split and check ``provider:model``; the error lists what would have worked."""
    provider, sep, model = name.strip().partition(":")
    if not sep or not provider or not model.strip():
        raise InvalidInput(
            f"model {name!r} must be written provider:model, e.g. openai:gpt-4.1-mini",
            field=field,
        )
    if provider not in PROVIDERS and provider not in settings.endpoints:
        known = sorted(PROVIDERS) + sorted(f"{e} (endpoint)" for e in settings.endpoints)
        raise InvalidInput(
            f"unknown provider {provider!r} in {name!r}: known providers are "
            f"{', '.join(known)}; add an endpoint in settings for another server",
            field=field,
        )
    if provider == "builtin" and f"{provider}:{model}" != OFFLINE_ENGINE:
        raise InvalidInput(f"unknown built-in engine {name!r}: use {OFFLINE_ENGINE}", field=field)
    return ModelName(provider, model.strip())
