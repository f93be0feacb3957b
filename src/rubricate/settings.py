"""Settings from the environment (``RUBRICATE_*``), a settings file, or passed in; never
global. Keys are never settings values: an endpoint (or a connection) names the environment
variable that holds its key, so no key is ever written to a file rubricate reads or to the
database."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rubricate.locations import default_data_dir, default_database_url, settings_file

ENDPOINT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# What a key would be called if someone wrote it into the settings file.
KEY_FIELDS = frozenset({"public_key", "secret_key", "key", "api_key", "token", "password"})
__all__ = [
    "Connection",
    "Endpoint",
    "LangfuseSettings",
    "MlflowSettings",
    "RateLimit",
    "Settings",
    "default_data_dir",
    "default_database_url",
]


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


class _ConnectionBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in sorted(KEY_FIELDS & set(data)):
                raise ValueError(
                    f"{name}: keys are never settings values; name the environment variable "
                    "that holds it (public_key_env, secret_key_env)"
                )
        return data


class LangfuseSettings(_ConnectionBase):
    """A Langfuse project an admin lets the REST API reach: its host and the environment
    variables that hold its API keys (read when a request uses it, never stored)."""

    kind: Literal["langfuse"]
    host: str = Field(description="The Langfuse server, e.g. https://cloud.langfuse.com")
    public_key_env: str = Field(
        default="LANGFUSE_PUBLIC_KEY", description="Environment variable of the public key."
    )
    secret_key_env: str = Field(
        default="LANGFUSE_SECRET_KEY", description="Environment variable of the secret key."
    )

    @property
    def location(self) -> str:
        return self.host

    @property
    def key_variables(self) -> tuple[str, ...]:
        return (self.public_key_env, self.secret_key_env)


class MlflowSettings(_ConnectionBase):
    """An MLflow tracking server an admin lets the REST API reach, over http(s) only. Its
    credentials are MLflow's own variables (MLFLOW_TRACKING_TOKEN, or
    MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) of the server's process."""

    kind: Literal["mlflow"]
    tracking_uri: str = Field(description="e.g. http://mlflow.internal:5000")

    @property
    def location(self) -> str:
        return self.tracking_uri

    @property
    def key_variables(self) -> tuple[str, ...]:
        return MLFLOW_VARIABLES


MLFLOW_VARIABLES = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
Connection = Annotated[LangfuseSettings | MlflowSettings, Field(discriminator="kind")]


def _check_url(setting: str, url: str, what: str) -> str:
    """``url`` as an http(s) URL without a trailing slash, credentials, query or fragment;
    an error names ``setting`` and says why."""
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        local = parts.scheme.lower() in ("file", "sqlite", "") or len(parts.scheme) == 1
        why = (
            "a file: or sqlite: store (or a path) is read from the server's own disk, so only "
            "the command line may use one (--tracking-uri)"
            if local
            else "the REST API reaches remote servers over HTTP only"
        )
        raise ValueError(f"{setting}: {url!r} is not an http(s) URL of {what}: {why}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"{setting}: the URL carries a user or password; keys are never settings values "
            "(name the environment variables that hold them)"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{setting}: {url!r} must not have a query or a fragment")
    return text


def _checked_connection(name: str, connection: Connection) -> Connection:
    prefix = f"connections.{name}"
    if not ENDPOINT_NAME.fullmatch(name):
        raise ValueError(
            f"connection name {name!r} must be lower-case letters, digits, - or _ "
            "(starting with a letter, at most 40)"
        )
    if isinstance(connection, MlflowSettings):
        uri = _check_url(f"{prefix}.tracking_uri", connection.tracking_uri, "a tracking server")
        return connection.model_copy(update={"tracking_uri": uri})
    for field in ("public_key_env", "secret_key_env"):
        if not VARIABLE_NAME.fullmatch(getattr(connection, field)):
            raise ValueError(
                f"{prefix}.{field}: {getattr(connection, field)!r} is not an environment "
                "variable's name (letters, digits and _)"
            )
    host = _check_url(f"{prefix}.host", connection.host, "the Langfuse server")
    return connection.model_copy(update={"host": host})


class RateLimit(BaseModel):
    """A provider's limits, counted in the database so that every worker sharing it
    shares them: requests and tokens per window (a minute by default)."""

    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
    window_seconds: float = Field(default=60.0, gt=0, le=3600)


class Settings(BaseSettings):
    # No value in an error: a settings file's mistake (a password in a URL) is not echoed.
    model_config = SettingsConfigDict(
        env_prefix="RUBRICATE_", extra="ignore", hide_input_in_errors=True
    )

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
    connections: dict[str, Connection] = Field(
        default_factory=dict,
        description="Named Langfuse projects and MLflow servers the REST API may reach "
        '(admins only): {prod-langfuse = {kind = "langfuse", host = "https://..."}}.',
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

    @field_validator("connections")
    @classmethod
    def _connections(cls, value: dict[str, Connection]) -> dict[str, Connection]:
        return {name: _checked_connection(name, found) for name, found in value.items()}

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
