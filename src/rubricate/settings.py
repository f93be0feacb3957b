"""Settings from the environment (``RUBRICATE_*``), a settings file, or passed in; never
global. Keys are never settings values: an endpoint names the environment variable that
holds its key, so no key is ever written to a file rubricate reads or to the database."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rubricate.locations import default_data_dir, default_database_url, settings_file

ENDPOINT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
__all__ = ["Endpoint", "RateLimit", "Settings", "default_data_dir", "default_database_url"]


class Endpoint(BaseModel):
    """An OpenAI-compatible server (vLLM, Ollama, llama.cpp server, LM Studio) reached as
    ``NAME:model``. Speaks Chat Completions."""

    base_url: str = Field(description="e.g. http://localhost:11434/v1")
    key_env: str | None = Field(
        default=None, description="Environment variable holding the key; none for keyless servers."
    )
    concurrency: int | None = Field(default=None, ge=1, le=1024)
    output: str = Field(
        default="tool",
        description="How to ask for the structured answer: tool, json or text (weak servers).",
        pattern="^(tool|json|text)$",
    )


class RateLimit(BaseModel):
    """A provider's limits, counted in the database so that every worker sharing it
    shares them: requests and tokens per window (a minute by default)."""

    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
    window_seconds: float = Field(default=60.0, gt=0, le=3600)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RUBRICATE_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: sqlite:///path (embedded, the default) or postgresql://...",
    )
    auto_migrate: bool = Field(
        default=True, description="Bring the schema up to date when the database is opened."
    )
    reflection_lm: str | None = Field(default=None, description="Default reflection LM.")
    judge_model: str | None = Field(default=None, description="Default judge model.")
    import_batch_size: int = Field(default=2000, ge=1, le=100_000)
    endpoints: dict[str, Endpoint] = Field(
        default_factory=dict, description="Named OpenAI-compatible servers."
    )
    concurrency: dict[str, int] = Field(
        default_factory=dict, description="Calls in flight per provider, e.g. {openai = 32}."
    )
    default_concurrency: int = Field(default=8, ge=1, le=1024)
    rate_limits: dict[str, RateLimit] = Field(
        default_factory=dict,
        description="Per provider, shared by every worker: {openai = {requests_per_minute = 500}}.",
    )
    model_timeout: float = Field(default=120.0, gt=0, description="Seconds per model call.")
    model_attempts: int = Field(default=4, ge=1, le=20, description="Tries per model call.")
    max_retry_wait: float = Field(default=60.0, ge=0, description="Longest wait between tries.")
    response_cache: bool = Field(default=True, description="Reuse identical model calls.")
    worker_dead_after: float = Field(
        default=15.0, gt=0, description="Seconds without a heartbeat after which a worker is dead."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the web UI's session cookies; unset: a new one each start "
        "(everyone signs in again after a restart).",
    )
    run_batch_rows: int = Field(
        default=256, ge=1, le=10_000, description="Rows of an evaluation run per durable step."
    )
    reviewer_alpha_warning: float = Field(
        default=0.4,
        ge=-1,
        le=1,
        description="Warn before aligning when the reviewers' Krippendorff's alpha on the "
        "rows the run would use is below this, naming who pulls it down.",
    )

    @field_validator("endpoints")
    @classmethod
    def _endpoint_names(cls, value: dict[str, Endpoint]) -> dict[str, Endpoint]:
        for name in value:
            if not ENDPOINT_NAME.fullmatch(name):
                raise ValueError(
                    f"endpoint name {name!r} must be lower-case letters, digits, - or _"
                )
        return value

    @field_validator("concurrency")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for provider, limit in value.items():
            if limit < 1:
                raise ValueError(f"concurrency for {provider!r} must be at least 1")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Arguments beat the environment, which beats the settings file.
        toml = TomlConfigSettingsSource(settings_cls, toml_file=settings_file())
        return (init_settings, env_settings, toml)

    def concurrency_for(self, provider: str) -> int:
        endpoint = self.endpoints.get(provider)
        if endpoint is not None and endpoint.concurrency is not None:
            return endpoint.concurrency
        return self.concurrency.get(provider, self.default_concurrency)
