from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


@pytest.mark.usefixtures("clean_env")
def test_defaults_need_no_environment() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./partnerbot.db"
    assert settings.port == 3000
    assert settings.partnerbot_command == "/partner"
    assert settings.api_url == "https://slack.com/api/"
    assert not settings.socket_mode


def test_dotenv_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text("PORT=4321\nSLACK_BOT_TOKEN=xoxb-from-dotenv\n")
    settings = load_settings()
    assert settings.port == 4321
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-dotenv"


@pytest.mark.usefixtures("clean_env")
def test_secrets_never_print() -> None:
    settings = load_settings(slack_bot_token="xoxb-secret-value", slack_signing_secret="shh")
    assert "xoxb-secret-value" not in repr(settings)
    assert "shh" not in str(settings)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("PORT", "eighty", "PORT"),  # not a number
        ("PORT", "70000", "PORT"),  # out of range
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN"),  # a user token, not a bot's
        ("SLACK_APP_TOKEN", "xoxb-wrong-kind", "SLACK_APP_TOKEN"),  # app tokens start xapp-
        ("SLACK_API_URL", "not a url", "SLACK_API_URL"),
        ("DATABASE_URL", "mysql://db/partnerbot", "DATABASE_URL"),  # unsupported backend
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT"),
        ("PARTNERBOT_COMMAND", "partner", "PARTNERBOT_COMMAND"),  # no leading slash
    ],
)
def test_malformed_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert named in message
    assert "\n" not in message


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("overrides", "missing", "present"),
    [
        # HTTP mode needs both the token and the signing secret
        ({}, ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"], []),
        ({"slack_bot_token": "xoxb-1"}, ["SLACK_SIGNING_SECRET"], ["SLACK_BOT_TOKEN "]),
        # Socket Mode does not verify signatures, so only the bot token is missing
        ({"slack_app_token": "xapp-1"}, ["SLACK_BOT_TOKEN"], ["SLACK_SIGNING_SECRET"]),
        # blank values count as unset
        ({"slack_bot_token": "  ", "slack_signing_secret": "s"}, ["SLACK_BOT_TOKEN"], []),
    ],
)
def test_missing_slack_credentials_are_named(
    overrides: dict[str, str], missing: list[str], present: list[str]
) -> None:
    settings = load_settings(**overrides)
    with pytest.raises(SettingsError) as raised:
        settings.require_slack_credentials()
    message = str(raised.value)
    for name in missing:
        assert name in message
    for name in present:
        assert name not in message
    assert "manifest.yml" in message
    assert "README.md" in message


@pytest.mark.usefixtures("clean_env")
def test_complete_credentials_pass() -> None:
    load_settings(slack_bot_token="xoxb-1", slack_signing_secret="s").require_slack_credentials()
    load_settings(slack_bot_token="xoxb-1", slack_app_token="xapp-1").require_slack_credentials()


@pytest.mark.usefixtures("clean_env")
def test_an_llm_url_needs_a_model() -> None:
    with pytest.raises(SettingsError, match="LLM_MODEL"):
        load_settings(llm_base_url="http://127.0.0.1:8080/v1")
    settings = load_settings(llm_base_url="http://127.0.0.1:8080/v1", llm_model="local-7b")
    assert settings.llm_model == "local-7b"
    assert load_settings().llm_base_url is None  # off by default


def test_the_example_env_file_names_every_setting_and_loads(clean_env: Path) -> None:
    """.env.example is what an operator copies: it must load as it is, and name exactly the
    settings there are (a renamed setting would otherwise be silently ignored)."""
    import re

    from bot.settings import Settings

    example = Path(__file__).resolve().parent.parent / ".env.example"
    text = example.read_text(encoding="utf-8")
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    # read by docker-compose.yml, not by the bot
    compose_only = {"POSTGRES_PASSWORD"}
    compose = (example.parent / "docker-compose.yml").read_text(encoding="utf-8")
    assert all(f"${{{name}" in compose for name in compose_only)
    # read by the Python interpreter (the image sets it: bot/interpreter.py)
    interpreter = {"PYTHONOPTIMIZE"}
    dockerfile = (example.parent / "Dockerfile").read_text(encoding="utf-8")
    assert all(f"ENV {name}=" in dockerfile for name in interpreter)
    assert named - compose_only - interpreter == {name.upper() for name in Settings.model_fields}
    (clean_env / ".env").write_text(text, encoding="utf-8")
    settings = load_settings()
    assert settings.slack_bot_token is None  # blank means unset
    assert settings.database_url == "sqlite:///./partnerbot.db"


@pytest.mark.parametrize(
    ("url", "remote"),
    [
        (None, None),  # no LLM: nothing leaves
        ("http://127.0.0.1:8080/v1", None),  # llama.cpp's server on this host
        ("http://localhost:11434/v1", None),  # Ollama on this host
        ("http://[::1]:11434/v1", None),  # IPv6 loopback
        ("http://127.1.2.3:8000/v1", None),  # all of 127/8 is this host
        ("https://api.example.com/v1", "api.example.com"),  # a hosted API
        ("http://10.0.0.5:8000/v1", "10.0.0.5"),  # another machine on the network
    ],
)
def test_an_llm_elsewhere_is_named_one_on_this_host_is_not(
    url: str | None, remote: str | None
) -> None:
    settings = load_settings(llm_base_url=url, llm_model="m" if url else None)
    assert settings.llm_remote_host == remote
