"""Configuration from the environment (and `.env`), validated once at start-up.

Every failure is turned into one line that names the setting and says how to fix it.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.encryption import KeyProblem, TokenCipher, parse_keys
from bot.flows.outcomes import DEFAULT_ACTIVE_CAP, MAX_ACTIVE_CAP
from bot.flows.working_hours import (
    DEFAULT_AWAY_EMOJI,
    DEFAULT_AWAY_WORDS,
    AwayWords,
    WorkingHours,
    parse_working_hours,
)

APP_CREATION_HELP = (
    'create the Slack app from manifest.yml as README.md "Create the Slack app" explains, '
    "then put the values in .env or the environment. To see Partnerbot work first, without "
    "Slack: make demo"
)


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line meant for a person."""


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    # Install by OAuth into several workspaces (README.md "Install into several workspaces"):
    # the app's credentials, a secret that signs the OAuth states, and the keys that encrypt
    # the tokens at rest (comma-separated: the first encrypts, all decrypt). Exclusive with
    # SLACK_BOT_TOKEN, which serves one workspace.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_state_secret: SecretStr | None = None
    partnerbot_encryption_keys: SecretStr | None = None
    slack_api_url: AnyHttpUrl = AnyHttpUrl("https://slack.com/api/")
    database_url: str = "sqlite:///./partnerbot.db"
    port: Annotated[int, Field(ge=0, le=65535)] = 3000
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT
    partnerbot_command: str = "/partner"
    # Step 4: how many initiatives a tour may have on the go at once (offered or accepted).
    initiative_cap: Annotated[int, Field(ge=1, le=MAX_ACTIVE_CAP)] = DEFAULT_ACTIVE_CAP
    # An anonymous tour shows people's own words (quotes, the answers, the export's text) only
    # once this many people other than the leader have answered; never fewer than 3.
    quote_min_responses: Annotated[int, Field(ge=3, le=1000)] = 5
    # How long a claimed outbox row stays with the worker that claimed it. A worker killed
    # mid-send leaves its rows for this long before another sends them; a send must be recorded
    # within it, or a second process (replica, or `tick` beside `run`) may send it again.
    outbox_lease_seconds: Annotated[int, Field(ge=1, le=3600)] = 120
    # How many outbox sends one worker has in flight at once (bot/delivery.py SEND_SLOTS). More
    # makes a fan-out through Slack's 429s faster; a crash may repeat up to this many messages.
    outbox_send_slots: Annotated[int, Field(ge=1, le=2000)] = 512
    # Days a sent outbox row keeps its payload (the message's text and blocks, which may name
    # people); then the tick empties it. Its key and Slack's channel and ts stay
    # (docs/OPERATIONS.md).
    outbox_retention_days: Annotated[int, Field(ge=1, le=3650)] = 7
    # The HTTP front door (docs/FRONT-DOOR.md). A connection must send a whole request (its
    # headers, then its body) within this many seconds, or it is closed: a client that sends
    # slowly on purpose cannot hold a connection (and a file descriptor) for long.
    http_read_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    # Connections held open at once, in all and from one client address. Past either, a new
    # connection is closed as it is accepted, before anything is read from it. Behind a
    # reverse proxy every request comes from the proxy's address: raise the per-client cap to
    # the total there.
    http_max_connections: Annotated[int, Field(ge=1, le=100_000)] = 256
    http_max_connections_per_client: Annotated[int, Field(ge=1, le=100_000)] = 64
    # The connection caps and the first request's deadline sit in one adapter around aiohttp's
    # protocol (bot/connections.py); off serves with aiohttp's own limits alone.
    http_connection_guard: bool = True
    # The same log line from the same place at most this many times a minute; then one line
    # says how many were left out (a flood of identical errors cannot fill the disk).
    log_repeats_per_minute: Annotated[int, Field(ge=1, le=100_000)] = 20
    # GET /metrics (Prometheus' text format) on the port that serves /healthz; off answers 404.
    metrics_enabled: bool = True
    # The time zone for people whose Slack profile has none (check-ins run on their clock).
    default_timezone: str = "UTC"
    # When non-urgent DMs (invitations, reminders, check-ins, requests) may reach people, in
    # each person's own zone; new tours take this window ("Mon-Fri 09:00-18:00").
    working_hours: str = "Mon-Fri 09:00-18:00"
    # Slack statuses that mean time off, comma-separated; empty keeps the built-in lists
    # (🌴, 🤒, "vacation", "out of office", "OOO", "Urlaub", "vacances", "congé", ...).
    away_status_emoji: str = ""
    away_status_words: str = ""
    # Group a closed tour's answers in a short-lived child process, so the theme engine's memory
    # (numpy, onnxruntime, the model: hundreds of MB) goes when it exits; off runs it in a thread
    # of the bot's own process, which then keeps that memory until it restarts.
    themes_in_child_process: bool = True
    # Write the common DM answer (the next question of an open tour) from a read and one write
    # trip (bot/services/dm.py); off, every DM takes the routed path in one ORM transaction.
    dm_one_trip: bool = True
    # Optional "bring your own LLM" for naming and merging themes: off unless the URL is set.
    llm_base_url: AnyHttpUrl | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None

    @field_validator("working_hours")
    @classmethod
    def _working_hours_shape(cls, value: str) -> str:
        parse_working_hours(value)
        return value

    @property
    def tour_working_hours(self) -> WorkingHours:
        return parse_working_hours(self.working_hours)

    @property
    def away_words(self) -> AwayWords:
        def listed(text: str) -> tuple[str, ...]:
            return tuple(part.strip() for part in text.split(",") if part.strip())

        return AwayWords(
            emoji=listed(self.away_status_emoji) or DEFAULT_AWAY_EMOJI,
            words=listed(self.away_status_words) or DEFAULT_AWAY_WORDS,
        )

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError(
                "must be an app-level token starting with xapp- (scope connections:write)"
            )
        return value

    @field_validator("partnerbot_encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                parse_keys(value.get_secret_value())
            except KeyProblem as problem:
                raise ValueError(str(problem)) from None
        return value

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "slack_client_id",
        "slack_client_secret",
        "slack_state_secret",
        "partnerbot_encryption_keys",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Berlin") from None
        return value

    @field_validator("partnerbot_command")
    @classmethod
    def _slash_command(cls, value: str) -> str:
        if not value.startswith("/") or len(value) < 2 or " " in value or len(value) > 32:
            raise ValueError("must look like /partner (a slash, no spaces, at most 32 characters)")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if scheme not in {"sqlite", "postgres", "postgresql"}:
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _llm_needs_a_model(self) -> Settings:
        if self.llm_base_url is not None and not self.llm_model:
            raise ValueError("LLM_MODEL is required when LLM_BASE_URL is set")
        return self

    @model_validator(mode="after")
    def _one_mode(self) -> Settings:
        if self.oauth_enabled and self.slack_bot_token is not None:
            raise ValueError(
                "SLACK_BOT_TOKEN (one workspace) and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET/"
                "SLACK_STATE_SECRET (installs by OAuth into several workspaces) are exclusive; "
                "unset one or the other"
            )
        if self.oauth_enabled and self.slack_app_token is not None:
            raise ValueError(
                "installs by OAuth (SLACK_CLIENT_ID) need HTTP mode for Slack's redirect; "
                "unset SLACK_APP_TOKEN"
            )
        return self

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def oauth_enabled(self) -> bool:
        """Installed by OAuth into several workspaces (else one workspace, SLACK_BOT_TOKEN)."""
        return any(
            value is not None
            for value in (self.slack_client_id, self.slack_client_secret, self.slack_state_secret)
        )

    @property
    def mode(self) -> str:
        """Which mode is active, in words for the start-up log."""
        if self.oauth_enabled:
            return "installed by OAuth into several workspaces"
        return "one workspace (SLACK_BOT_TOKEN)"

    def token_cipher(self) -> TokenCipher:
        """The cipher of PARTNERBOT_ENCRYPTION_KEYS; SettingsError (one line) without one."""
        keys = self.partnerbot_encryption_keys
        try:
            return TokenCipher(keys.get_secret_value() if keys is not None else None)
        except KeyProblem as problem:
            raise SettingsError(f"{problem}, then set it in .env or the environment") from None

    @property
    def llm_remote_host(self) -> str | None:
        """The LLM endpoint's host when it is another machine (answers then leave this one);
        None when there is no endpoint or it is on this host (loopback)."""
        if self.llm_base_url is None or self.llm_base_url.host is None:
            return None
        host = self.llm_base_url.host.strip("[]")
        if host == "localhost" or host.endswith(".localhost"):
            return None
        try:
            return None if ipaddress.ip_address(host).is_loopback else host
        except ValueError:
            return host  # a name other than localhost: assume it is elsewhere

    @property
    def api_url(self) -> str:
        url = str(self.slack_api_url)
        return url if url.endswith("/") else url + "/"

    def require_slack_credentials(self) -> None:
        """Stop with one line when the bot cannot talk to Slack in the chosen mode."""
        if self.oauth_enabled:
            self._require_oauth_credentials()
            return
        missing = []
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN")
        if not self.socket_mode and self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET")
        if missing:
            names = " and ".join(missing)
            mode = (
                "Socket Mode"
                if self.socket_mode
                else "HTTP mode (set SLACK_APP_TOKEN for Socket Mode)"
            )
            if len(missing) == 2 and not self.socket_mode:
                mode += (
                    "; or, to install into several workspaces by OAuth, SLACK_CLIENT_ID, "
                    "SLACK_CLIENT_SECRET, SLACK_STATE_SECRET, PARTNERBOT_ENCRYPTION_KEYS and "
                    "SLACK_SIGNING_SECRET"
                )
            raise SettingsError(f"missing setting {names} for {mode}: {APP_CREATION_HELP}")

    def _require_oauth_credentials(self) -> None:
        named = {
            "SLACK_CLIENT_ID": self.slack_client_id,
            "SLACK_CLIENT_SECRET": self.slack_client_secret,
            "SLACK_STATE_SECRET": self.slack_state_secret,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
        }
        missing = [name for name, value in named.items() if value is None]
        if missing:
            raise SettingsError(
                f"missing setting {' and '.join(missing)} for installs by OAuth into several "
                'workspaces: README.md "Install into several workspaces" says where each is'
            )
        self.token_cipher()  # a missing key stops here, with how to make one


def describe_validation_error(error: ValidationError) -> str:
    """One line naming the first bad setting, in its environment-variable spelling."""
    first = error.errors()[0]
    reason = str(first["msg"]).removeprefix("Value error, ")
    if not first["loc"]:  # a rule across settings: the message names them
        return f"settings are inconsistent: {reason}. Fix it in .env or the environment."
    name = str(first["loc"][0]).upper()
    return f"setting {name} is invalid: {reason}. Fix it in .env or the environment."


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
