"""Settings from the environment (``RUBRICATE_*``) or passed in; never global."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("rubricate", appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'rubricate.db'}"


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
