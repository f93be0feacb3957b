"""Keys stay out of messages: anything rubricate shows or stores about a failed call goes
through ``redact`` first, in case a server echoes the key back in an error."""

from __future__ import annotations

import os

from rubricate.settings import Settings

KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
MIN_SECRET_LENGTH = 6  # shorter values would blank out ordinary words


def secret_values(settings: Settings | None = None) -> list[str]:
    names = list(KEY_VARIABLES)
    if settings is not None:
        names += [e.key_env for e in settings.endpoints.values() if e.key_env]
    values = {os.environ.get(name, "").strip() for name in names}
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str, settings: Settings | None = None) -> str:
    for value in secret_values(settings):
        text = text.replace(value, "[redacted]")
    return text
