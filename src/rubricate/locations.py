"""Where rubricate keeps its files by default. Apart from settings.py so that the CLI's
help can name the default database without loading pydantic-settings."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("rubricate", appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'rubricate.db'}"


def demo_database_url() -> str:
    """`rubricate demo`'s own database, beside the default one: demo metrics never mix
    with the user's."""
    return f"sqlite:///{default_data_dir() / 'demo.db'}"


def settings_file() -> Path:
    """``RUBRICATE_SETTINGS_FILE``, else ``rubricate.toml`` in the user's config folder."""
    named = os.environ.get("RUBRICATE_SETTINGS_FILE")
    if named:
        return Path(named)
    return Path(platformdirs.user_config_dir("rubricate", appauthor=False)) / "rubricate.toml"
