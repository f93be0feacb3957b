"""Model names, keys and endpoints: what fails, and that the message says what to set."""

from __future__ import annotations

import pytest

from rubricate.domain.errors import InvalidInput, Unavailable
from rubricate.models import parse_model_name, resolve_model
from rubricate.models.secrets import redact
from rubricate.settings import Endpoint, Settings

KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("gpt-4.1-mini", "must be written provider:model"),
        ("openai:", "must be written provider:model"),
        (":gpt", "must be written provider:model"),
        ("mistral:large", "unknown provider 'mistral'"),
        ("builtin:magic", "unknown built-in engine"),
    ],
)
def test_bad_names_are_refused_with_the_parameter(name: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as error:
        parse_model_name(name, Settings(), field="judge_model")
    assert error.value.field == "judge_model"


def test_unknown_provider_lists_the_configured_endpoints() -> None:
    settings = Settings(endpoints={"ollama": Endpoint(base_url="http://127.0.0.1:11434/v1")})
    with pytest.raises(InvalidInput, match=r"ollama \(endpoint\)"):
        parse_model_name("vllm:llama", settings)
    assert str(parse_model_name("ollama:llama3.2", settings)) == "ollama:llama3.2"


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("openai:gpt-4.1-mini", "OPENAI_API_KEY"),
        ("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    ],
)
def test_a_missing_key_says_which_variable_to_set(name: str, variable: str) -> None:
    with pytest.raises(Unavailable, match=f"needs an API key: set {variable}"):
        resolve_model(name, Settings())


def test_an_empty_key_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "  ")
    with pytest.raises(Unavailable, match="OPENAI_API_KEY"):
        resolve_model("openai-chat:gpt-4.1-mini", Settings())


def test_openai_base_url_serves_a_compatible_server_without_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    resolved = resolve_model("openai-chat:llama", Settings())
    assert resolved.where == "http://127.0.0.1:9/v1"
    assert resolved.price_provider is None  # someone else's server: price unknown


def test_openai_with_a_key_has_a_price(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-123456")
    resolved = resolve_model("openai:gpt-4.1-mini", Settings())
    assert resolved.price_provider == "openai"
    assert "sk-test" not in resolved.where


def test_an_endpoint_with_a_key_variable_needs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = Endpoint(base_url="http://127.0.0.1:8000/v1", key_env="VLLM_KEY")
    settings = Settings(endpoints={"vllm": endpoint})
    monkeypatch.delenv("VLLM_KEY", raising=False)
    with pytest.raises(Unavailable, match="set VLLM_KEY"):
        resolve_model("vllm:qwen", settings)
    monkeypatch.setenv("VLLM_KEY", "secret-vllm-key")
    assert resolve_model("vllm:qwen", settings).limit_key == "vllm"


def test_endpoint_names_and_concurrency_are_validated() -> None:
    with pytest.raises(ValueError, match="endpoint name"):
        Settings(endpoints={"Bad Name": Endpoint(base_url="http://x/v1")})
    with pytest.raises(ValueError, match="at least 1"):
        Settings(concurrency={"openai": 0})
    settings = Settings(concurrency={"openai": 32}, default_concurrency=4)
    assert settings.concurrency_for("openai") == 32
    assert settings.concurrency_for("anthropic") == 4


def test_settings_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "rubricate.toml"
    path.write_text(
        'judge_model = "openai:gpt-4.1-mini"\n'
        'reflection_lm = "anthropic:claude-sonnet-4-5"\n'
        '[endpoints.local]\nbase_url = "http://127.0.0.1:1234/v1"\n'
    )
    monkeypatch.setenv("RUBRICATE_SETTINGS_FILE", str(path))
    monkeypatch.setenv("RUBRICATE_JUDGE_MODEL", "local:qwen")
    settings = Settings()
    assert settings.judge_model == "local:qwen"
    assert settings.reflection_lm == "anthropic:claude-sonnet-4-5"
    assert settings.endpoints["local"].base_url == "http://127.0.0.1:1234/v1"


def test_redact_blanks_every_known_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-abcdef123456")
    monkeypatch.setenv("MY_KEY", "endpoint-secret-9")
    settings = Settings(endpoints={"mine": Endpoint(base_url="http://x/v1", key_env="MY_KEY")})
    text = "Incorrect API key provided: sk-live-abcdef123456 (also endpoint-secret-9)"
    assert redact(text, settings) == "Incorrect API key provided: [redacted] (also [redacted])"
