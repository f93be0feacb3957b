"""Turn a model name into a pydantic-ai model, with rubricate's rules on top: keys are
checked here (some clients would send a placeholder), the SDKs' own retries are off (so
rubricate's retry policy is the only one and call counts are true), and keys go straight
from the environment into the client, never anywhere else."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic_ai.models import Model

from rubricate.domain.errors import Unavailable
from rubricate.models import fake
from rubricate.models.names import ModelName, parse_model_name
from rubricate.settings import Settings

OutputMode = Literal["tool", "json", "text"]


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model ready to call. ``limit_key`` names the concurrency pool it draws from;
    ``price_provider`` is genai-prices' provider id (None: cost unknown); ``where`` says
    where calls go, for error messages (never a key); ``close`` closes the SDK client made
    for it (its pooled connections belong to the event loop that used them)."""

    name: ModelName
    model: Model
    limit_key: str
    output_mode: OutputMode
    price_provider: str | None
    where: str
    close: Callable[[], Awaitable[None]] | None = field(default=None, compare=False)


def resolve_model(name: str, settings: Settings, *, field: str = "model") -> ResolvedModel:
    parsed = parse_model_name(name, settings, field=field)
    provider, model = parsed.provider, parsed.model
    timeout = settings.model_timeout
    if provider in settings.endpoints:
        return _endpoint(parsed, settings)
    if provider in {"openai", "openai-chat"}:
        return _openai(parsed, timeout)
    if provider == "anthropic":
        return _anthropic(parsed, timeout)
    if provider in {"google-gla", "google-vertex"}:
        return _google(parsed)
    if provider == "bedrock":
        return _bedrock(parsed)
    if provider == "fake":
        return ResolvedModel(
            parsed, fake.model(model), "fake", fake.output_mode(model), None, "fake"
        )
    raise Unavailable(f"{name} is a reflection engine, not a model that can be called")


def _require(variable: str, name: ModelName, hint: str = "") -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise Unavailable(f"{name} needs an API key: set {variable}{hint}")
    return value


def _openai(name: ModelName, timeout: float) -> ResolvedModel:
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    base_url = os.environ.get("OPENAI_BASE_URL", "").strip() or None
    if base_url is None:
        key = _require("OPENAI_API_KEY", name, " (or OPENAI_BASE_URL for a compatible server)")
    else:  # a compatible server may take no key; the SDK insists on one
        key = os.environ.get("OPENAI_API_KEY", "").strip() or "no-key"
    client = AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=timeout)
    provider = OpenAIProvider(openai_client=client)
    model: Model
    if name.provider == "openai":
        model = OpenAIResponsesModel(name.model, provider=provider)
    else:
        model = OpenAIChatModel(name.model, provider=provider)
    where = base_url or "api.openai.com"
    return ResolvedModel(
        name, model, "openai", "tool", price_provider_of(name), where, close=client.close
    )


def _endpoint(name: ModelName, settings: Settings) -> ResolvedModel:
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    endpoint = settings.endpoints[name.provider]
    hint = f" (endpoint {name.provider!r} names it as its key_env)"
    key = _require(endpoint.key_env, name, hint) if endpoint.key_env else "no-key"
    client = AsyncOpenAI(
        api_key=key, base_url=endpoint.base_url, max_retries=0, timeout=settings.model_timeout
    )
    model = OpenAIChatModel(name.model, provider=OpenAIProvider(openai_client=client))
    output: OutputMode = endpoint.output  # type: ignore[assignment]  # checked by its pattern
    return ResolvedModel(
        name, model, name.provider, output, None, endpoint.base_url, close=client.close
    )


def _anthropic(name: ModelName, timeout: float) -> ResolvedModel:
    from anthropic import AsyncAnthropic
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    base_url = os.environ.get("ANTHROPIC_BASE_URL", "").strip() or None
    key = _require("ANTHROPIC_API_KEY", name)
    client = AsyncAnthropic(api_key=key, base_url=base_url, max_retries=0, timeout=timeout)
    model = AnthropicModel(name.model, provider=AnthropicProvider(anthropic_client=client))
    where = base_url or "api.anthropic.com"
    return ResolvedModel(
        name, model, "anthropic", "tool", price_provider_of(name), where, close=client.close
    )


def _google(name: ModelName) -> ResolvedModel:
    try:
        from pydantic_ai.models import infer_model
        from pydantic_ai.models.google import GoogleModel
        from pydantic_ai.providers.google import GoogleProvider
    except ImportError:
        hint = "pip install 'rubricate[google]'"
        raise Unavailable(f"{name} needs the Google extra: {hint}") from None
    model: Model
    if name.provider == "google-gla":
        key = os.environ.get("GOOGLE_API_KEY") or _require(
            "GEMINI_API_KEY", name, " or GOOGLE_API_KEY"
        )
        model = GoogleModel(name.model, provider=GoogleProvider(api_key=key))
    else:  # Vertex uses the machine's Google Cloud credentials
        model = infer_model(str(name))
    return ResolvedModel(name, model, name.provider, "tool", "google", "Google")


def _bedrock(name: ModelName) -> ResolvedModel:
    try:
        import boto3  # type: ignore[import-not-found,unused-ignore]
        from botocore.config import Config  # type: ignore[import-not-found,unused-ignore]
        from pydantic_ai.models.bedrock import BedrockConverseModel
        from pydantic_ai.providers.bedrock import BedrockProvider
    except ImportError:
        raise Unavailable(
            f"{name} needs the Bedrock extra: pip install 'rubricate[bedrock]'"
        ) from None
    session = boto3.Session()
    if session.get_credentials() is None:
        raise Unavailable(
            f"{name} needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE) and AWS_REGION"
        )
    client = session.client(
        "bedrock-runtime", config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    model = BedrockConverseModel(name.model, provider=BedrockProvider(bedrock_client=client))
    return ResolvedModel(name, model, "bedrock", "tool", "aws", "AWS Bedrock")


def price_provider_of(name: ModelName) -> str | None:
    """genai-prices' provider for a name, without building a client (no key needed)."""
    if name.provider in {"openai", "openai-chat"}:
        return None if os.environ.get("OPENAI_BASE_URL", "").strip() else "openai"
    if name.provider == "anthropic":
        return None if os.environ.get("ANTHROPIC_BASE_URL", "").strip() else "anthropic"
    return {"google-gla": "google", "google-vertex": "google", "bedrock": "aws"}.get(name.provider)
