"""Every setting the bot reads, from the environment and an optional `.env` file.

Settings are read once at start-up (`load_settings`) and passed down; nothing else in the code
reads the environment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies
from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from bot.connections import Connection

DEFAULT_IMPORT_URL = "https://import.segmetrics.io/api/v1"
DEFAULT_REPORTING_URL = "https://api.segmetrics.io"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"

# The credentials that, all absent, switch the bot to the built-in sandbox.
CREDENTIAL_NAMES = ("SEGMETRICS_API_KEY", "SEGMETRICS_ACCOUNT_ID", "SEGMETRICS_INTEGRATION_ID")


class SettingsError(Exception):
    """Raised when settings are missing or malformed; the message lists every problem."""


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r} must not carry a query string or fragment")
    return value


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# Languages dateparser reads (a test checks it against dateparser's own list).
COMMON_LANGUAGES = frozenset({"en", "fr", "de", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl"})


class Settings(BaseSettings):
    """The bot's configuration. Field names are the environment variable names, case-insensitive."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
    _file_connections: list[Connection] = PrivateAttr(default_factory=list)

    segmetrics_api_key: SecretStr | None = Field(
        None, description="SegMetrics API key (Settings > Account Settings). Absent: the built-in sandbox."
    )
    segmetrics_account_id: str | None = Field(None, description="SegMetrics account id.")
    segmetrics_integration_id: str | None = Field(None, description="Id of the custom integration the data belongs to.")
    segmetrics_import_url: str = Field(DEFAULT_IMPORT_URL, description="Import API base URL.")
    segmetrics_reporting_url: str = Field(DEFAULT_REPORTING_URL, description="Reporting API base URL.")
    segmetrics_timezone: str = Field("UTC", description="IANA zone the API's date strings are written in.")
    segmetrics_currency: str = Field("USD", description="ISO 4217 code of every amount.")
    segmetrics_timeout: float = Field(10.0, gt=0, le=120, description="Seconds to wait for one answer.")
    segmetrics_max_attempts: int = Field(4, ge=1, le=10, description="Tries per call, the first included.")
    segmetrics_retry_budget: float = Field(
        30.0, gt=0, le=600, description="Seconds a call may spend retrying, waits included."
    )
    segmetrics_max_connections: int = Field(
        20, ge=1, le=1000, description="Concurrent connections to SegMetrics (keep-alive pool size)."
    )
    date_order: Literal["MDY", "DMY", "YMD"] = Field(
        "MDY", description="How to read day/month-ambiguous dates such as 02/11/2026."
    )
    date_languages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["en"], description="Languages dates are written in, comma-separated."
    )
    decimal_mark: Literal[".", ","] | None = Field(
        None,
        description="How to read one separator followed by three digits (1,234 or 1.234); unset: as the "
        "countries that use SEGMETRICS_CURRENCY write it, and refused where they disagree.",
    )
    slack_bot_token: SecretStr | None = Field(
        None,
        description="the bot token (xoxb-…): your app's page › OAuth & Permissions › Bot User OAuth Token",
    )
    slack_app_token: SecretStr | None = Field(
        None,
        description="an app-level token (xapp-…) with connections:write: your app's page › Basic Information "
        "› App-Level Tokens › Generate",
    )
    slack_signing_secret: SecretStr | None = Field(
        None, description="the signing secret: your app's page › Basic Information › App Credentials › Signing Secret"
    )
    slack_api_url: str = Field(DEFAULT_SLACK_API_URL, description="Slack Web API base URL (tests point it at a fake).")
    slack_client_id: str | None = Field(
        None,
        description="the client id, to be installed by link in many workspaces: your app's page › Basic "
        "Information › App Credentials › Client ID",
    )
    slack_client_secret: SecretStr | None = Field(
        None, description="the client secret: your app's page › Basic Information › App Credentials › Client Secret"
    )
    segmetrics_bot_admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Slack user ids and @user-groups who are the bot's admins, comma-separated."
    )
    segmetrics_bot_policy: str | None = Field(None, description="A TOML file saying who may run which operation.")
    # After the credentials, the zone and the currency: its validator reads them.
    segmetrics_connections: str | None = Field(
        None, description="A TOML file declaring more SegMetrics connections, one [connections.<name>] each."
    )
    segmetrics_bot_secret_key: SecretStr | None = Field(
        None,
        description="Fernet key(s), comma-separated, encrypting the API keys of connections added in Slack "
        "(the first encrypts, all decrypt).",
    )
    segmetrics_bot_state_dir: str | None = Field(
        None,
        description="Where the terminal keeps its history and the shared sandbox its state; default "
        "$XDG_STATE_HOME/segmetrics-bot (~/.local/state/segmetrics-bot).",
    )
    xdg_state_home: str | None = Field(None, description="The XDG state directory (the state directory's default).")
    segmetrics_bot_database_url: str = Field(
        "sqlite:///segmetrics-bot.db", description="SQLAlchemy URL of the audit trail and outbox."
    )
    segmetrics_audit_channel: str | None = Field(None, description="A channel that also gets one line per write.")
    segmetrics_reactions: str | None = Field(
        None,
        description="Emoji reactions that tag the contacts a message mentions: `vip=VIP; fire=Hot lead, Q4` "
        "(or JSON). Unset, with no [reactions] in the policy: reactions do nothing.",
    )
    segmetrics_outbox_hours: float = Field(
        24.0, ge=0, le=24 * 14, description="How long queued work is retried when SegMetrics is down (0: never queue)."
    )
    segmetrics_outbox_first_retry: float = Field(30.0, gt=0, le=3600, description="Seconds before the first retry.")
    segmetrics_outbox_max_gap: float = Field(300.0, gt=0, le=86400, description="Longest wait between two retries.")
    segmetrics_lease_seconds: float = Field(
        60.0,
        ge=2,
        le=3600,
        description="How long a bot holds work it runs (renewed every third of it while it works): a bot that "
        "dies mid-work has its work finished by another within this time.",
    )
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object per log line.")

    @field_validator("segmetrics_bot_admins", "date_languages", mode="before")
    @classmethod
    def _lists_from_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("segmetrics_bot_admins")
    @classmethod
    def _admins_are_ids_or_groups(cls, value: list[str]) -> list[str]:
        wrong = [entry for entry in value if not re.fullmatch(r"[UW][A-Z0-9]+|S[A-Z0-9]+|@[\w.-]+", entry)]
        if wrong:
            raise ValueError(
                f"{', '.join(wrong)}: give Slack user ids (U0123ABCD, from a profile's ⋮ › Copy member ID) "
                "or user groups (@marketing-leads)"
            )
        return value

    @field_validator("segmetrics_bot_policy")
    @classmethod
    def _policy_reads(cls, value: str | None) -> str | None:
        if not value:
            return None
        from bot.policy import Policy, PolicyError
        from commands import REGISTRY

        # A directory holds one policy per workspace (installed by link): each file is read now.
        files = sorted(Path(value).glob("*.toml")) if Path(value).is_dir() else [value]
        try:
            for each in files:
                Policy.load((), str(each), REGISTRY)
        except PolicyError as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("segmetrics_reactions")
    @classmethod
    def _reactions_read(cls, value: str | None) -> str | None:
        from bot.reactions import ReactionsError, from_env

        try:
            from_env(value)
        except ReactionsError as error:
            raise ValueError(str(error)) from None
        return value if value and value.strip() else None

    @field_validator("segmetrics_connections")
    @classmethod
    def _connections_read(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Checked here, with whatever else is wrong, so every problem is listed at once (kept by
        `_connections_kept` once every setting is valid)."""
        if not value:
            return None
        data = info.data
        _read_connections(
            value,
            timezone=data.get("segmetrics_timezone") or "UTC",
            currency=data.get("segmetrics_currency") or "USD",
            env_default=data.get("segmetrics_api_key") is not None,
        )
        return value

    @field_validator("segmetrics_bot_secret_key", mode="before")
    @classmethod
    def _secret_key(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        from bot.keyring import check_secret_key

        return check_secret_key(value)

    @field_validator("segmetrics_bot_database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(f"{value!r} is not a database URL; e.g. sqlite:///segmetrics-bot.db") from None
        return value

    @field_validator("date_languages")
    @classmethod
    def _languages_known(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code not in COMMON_LANGUAGES]
        if unknown:
            # Only for a rarer language does start-up pay for loading dateparser's whole list (~100 ms).
            from dateparser.languages.loader import default_loader

            known = set(default_loader.get_locale_map())
            unknown = [code for code in unknown if code not in known]
        if unknown:
            raise ValueError(f"unknown language code(s) {', '.join(unknown)}; use codes such as en, fr, de")
        if not value:
            raise ValueError("give at least one language code, e.g. en")
        return value

    @field_validator("segmetrics_timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone; use e.g. UTC or America/New_York") from None
        return value

    @field_validator("segmetrics_currency")
    @classmethod
    def _currency_exists(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in list_currencies():
            raise ValueError(f"{value!r} is not an ISO 4217 currency code; use e.g. USD, EUR or GBP")
        return code

    @field_validator("segmetrics_import_url", "segmetrics_reporting_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _check_http_url(value).rstrip("/")

    @field_validator("segmetrics_account_id", "segmetrics_integration_id", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            from bot.connections import id_problem

            wrong = id_problem(value) if value else None
            if wrong:
                raise ValueError(wrong.replace("`", "'"))
            return value or None
        return value

    @field_validator("slack_client_id", mode="before")
    @classmethod
    def _client_id_shape(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        # Slack's client ids are digits with one dot (1234567890.0987654321).
        if value and not re.fullmatch(r"[0-9]+\.[0-9]+", value):
            help_text = _SLACK_FIELD_HELP["slack_client_id"]
            raise ValueError(f"is not a Slack client id (digits, a dot, digits); {help_text}")
        return value or None

    @field_validator("slack_bot_token", "slack_app_token", "slack_signing_secret", "slack_client_secret", mode="before")
    @classmethod
    def _slack_secret_shape(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        prefix = {"slack_bot_token": "xoxb-", "slack_app_token": "xapp-"}.get(info.field_name or "")
        if value and prefix and not value.startswith(prefix):
            raise ValueError(f"must start with {prefix}; {_SLACK_FIELD_HELP[info.field_name or '']}")
        return value or None

    @field_validator("slack_api_url")
    @classmethod
    def _slack_url(cls, value: str) -> str:
        return _check_http_url(value).rstrip("/") + "/"

    @field_validator("segmetrics_api_key", mode="before")
    @classmethod
    def _blank_key_is_absent(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            # It travels in an HTTP header: printable ASCII only (the message must not echo it).
            if any(not 33 <= ord(char) <= 126 for char in value):
                raise ValueError("has characters an API key cannot have; paste it again without spaces or quotes")
            return value or None
        return value

    @model_validator(mode="after")
    def _credentials_all_or_none(self) -> Settings:
        given = [
            self.segmetrics_api_key is not None,
            self.segmetrics_account_id is not None,
            self.segmetrics_integration_id is not None,
        ]
        if any(given) and not all(given):
            missing = [name for name, present in zip(CREDENTIAL_NAMES, given, strict=True) if not present]
            raise ValueError(
                f"{', '.join(missing)} not set: give all three SegMetrics credentials for the live API, "
                "or none of them to use the built-in sandbox"
            )
        return self

    @model_validator(mode="after")
    def _connections_kept(self) -> Settings:
        if not self.segmetrics_connections:
            return self
        try:
            self._file_connections = _read_connections(
                self.segmetrics_connections,
                timezone=self.segmetrics_timezone,
                currency=self.segmetrics_currency,
                env_default=self.segmetrics_api_key is not None,
            )
        except ValueError as error:  # changed since `_connections_read` read it
            raise ValueError(f"SEGMETRICS_CONNECTIONS: {error}") from None
        return self

    def file_connections(self) -> list[Connection]:
        """The connections SEGMETRICS_CONNECTIONS declares, as read at start-up (empty without a file)."""
        return list(self._file_connections)

    @property
    def sandbox(self) -> bool:
        """True when no SegMetrics credentials are configured: the bot talks to its built-in sandbox."""
        return self.segmetrics_api_key is None

    @property
    def state_dir(self) -> Path:
        """SEGMETRICS_BOT_STATE_DIR, else $XDG_STATE_HOME/segmetrics-bot, else ~/.local/state/segmetrics-bot."""
        if self.segmetrics_bot_state_dir:
            return Path(self.segmetrics_bot_state_dir).expanduser()
        base = Path(self.xdg_state_home).expanduser() if self.xdg_state_home else Path.home() / ".local" / "state"
        return base / "segmetrics-bot"

    @property
    def sandbox_file(self) -> Path:
        """The shared sandbox's state (`shell`, `exec`, `serve` and `run` without credentials)."""
        return self.state_dir / "sandbox.json"

    @property
    def api_zone(self) -> ZoneInfo:
        return ZoneInfo(self.segmetrics_timezone)

    def outbox_delay(self, tries: int) -> float:
        """Seconds before queued work is tried again after `tries` tries: doubling from the first retry, capped."""
        return min(self.segmetrics_outbox_max_gap, self.segmetrics_outbox_first_retry * 2 ** (tries - 1))


def _read_connections(path: str, *, timezone: str, currency: str, env_default: bool) -> list[Connection]:
    """The connections file's connections; `ValueError` listing its problems (under SEGMETRICS_CONNECTIONS)."""
    from bot.connection_file import ConnectionsFileError, load_connections
    from commands import REGISTRY

    try:
        return load_connections(
            path,
            timezone=timezone,
            currency=currency,
            resources=[resource.name for resource in REGISTRY.resources],
            environ=os.environ,
            env_default=env_default,
        )
    except ConnectionsFileError as error:
        raise ValueError(str(error)) from None


class ManifestSettings(BaseSettings):
    """What `segmetrics-bot manifest` reads: only what changes the manifest, so a setting it does not need (a
    timeout, a token) cannot stop it."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    segmetrics_reactions: str | None = None
    segmetrics_bot_policy: str | None = None


class SocketModeSettings(Settings):
    """`segmetrics-bot run`: Socket Mode needs the bot token and an app-level token."""

    slack_bot_token: SecretStr = Field(description=Settings.model_fields["slack_bot_token"].description)
    slack_app_token: SecretStr = Field(description=Settings.model_fields["slack_app_token"].description)


class HttpSettings(Settings):
    """`segmetrics-bot serve`: HTTP mode needs the signing secret, and either the bot token (one workspace) or
    the client id and secret (installed by link, each workspace's token from its installation)."""

    slack_signing_secret: SecretStr = Field(description=Settings.model_fields["slack_signing_secret"].description)

    @model_validator(mode="wrap")
    @classmethod
    def _a_token_or_a_client(cls, data: Any, handler: ModelWrapValidatorHandler[HttpSettings]) -> HttpSettings:
        """Neither the bot token nor the client id: said as SLACK_BOT_TOKEN missing, with the other problems at
        once (a model's own check would only be made once every field is right)."""
        given = data if isinstance(data, dict) else {}
        named = bool(given.get("slack_bot_token") or given.get("slack_client_id"))
        missing: dict[str, Any] = {"type": "missing", "loc": ("slack_bot_token",), "input": given}
        try:
            settings = handler(data)
        except ValidationError as error:
            if named:
                raise
            kept = [{key: e[key] for key in ("type", "loc", "input", "ctx") if key in e} for e in error.errors()]
            raise ValidationError.from_exception_data(error.title, [*kept, missing]) from None  # type: ignore[list-item]
        if settings.slack_bot_token is None and settings.slack_client_id is None:
            raise ValidationError.from_exception_data(cls.__name__, [missing])  # type: ignore[list-item]
        return settings

    @model_validator(mode="after")
    def _one_way_to_install(self) -> HttpSettings:
        if self.slack_client_id is None and self.slack_client_secret is None:
            return self
        problems = []
        if self.slack_bot_token is not None:
            problems.append(
                "SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: installed by link, each workspace's "
                "token comes from its installation; unset one or the other"
            )
        if self.slack_client_id is None or self.slack_client_secret is None:
            problems.append("installing by link needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
        if self.segmetrics_bot_secret_key is None:
            from bot.keyring import HOW_TO_MAKE

            problems.append(
                "installing by link needs SEGMETRICS_BOT_SECRET_KEY: it encrypts each workspace's Slack tokens; "
                f"make one with `{HOW_TO_MAKE}`"
            )
        if not self.segmetrics_bot_database_url.startswith(("sqlite", "postgresql")):
            problems.append(
                "installing by link keeps each workspace's work apart in SQLite files or PostgreSQL schemas: "
                "SEGMETRICS_BOT_DATABASE_URL must be sqlite:///… or postgresql+psycopg://…"
            )
        if self.segmetrics_audit_channel:
            problems.append(
                "SEGMETRICS_AUDIT_CHANNEL names a channel of one workspace, and every workspace's audit lines would "
                "go there: unset it when installing by link (each workspace's trail: segmetrics-bot audit --team)"
            )
        if self.segmetrics_api_key is not None or self.segmetrics_connections:
            problems.append(
                "SEGMETRICS_API_KEY and SEGMETRICS_CONNECTIONS would be shared by every workspace that installs the "
                "bot: installed by link, each workspace's admins add its own connections in the App Home; unset them"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def by_link(self) -> bool:
        """Installed by link (OAuth) in any number of workspaces, rather than given one workspace's token."""
        return self.slack_client_id is not None


_SLACK_FIELD_HELP = {
    name: Settings.model_fields[name].description or ""
    for name in ("slack_bot_token", "slack_app_token", "slack_signing_secret", "slack_client_id")
}


def describe_errors(error: ValidationError, model: type[Settings] = Settings) -> str:
    """One line per problem, naming the environment variable and how to fix it."""
    lines = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "literal_error":
            message = f"must be one of {problem['ctx']['expected']}"
        if problem["type"] == "missing":
            field = model.model_fields.get(name)
            message = f"is not set; it is {field.description}" if field and field.description else "is not set"
        lines.append(f"- {name.upper()}: {message}" if name else f"- {message}")
    return "Cannot start: the settings have problems.\n" + "\n".join(lines)


def load_settings(env_file: str | None = ".env", *, model: type[Settings] = Settings, **overrides: object) -> Settings:
    """Read the settings once; raise `SettingsError` listing every problem at once.

    `model` names what the bot is about to do: `SocketModeSettings` and `HttpSettings` also require the
    Slack credentials their mode needs."""
    try:
        return model(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as error:
        raise SettingsError(describe_errors(error, model)) from None
