"""Deployment settings: environment variables and ``.env``, one pydantic-settings section
per concern (database, logging, HTTP, fetching, polling, delivery, Telegram, Zalo), composed
into :class:`Settings`. Unknown ``BANTIN_*``/``TELEGRAM_*``/``ZALO_*`` names are refused.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.chat.timeofday import parse_hhmm, parse_quiet_hours

DEFAULT_DATA_DIR = Path("data")


class ConfigError(Exception):
    """A setting or the sources file is invalid; the message names the file, key and reason."""


#: variables of these prefixes are ours: an unknown one is a typo and refused
_KNOWN_PREFIXES = ("BANTIN_", "TELEGRAM_", "ZALO_")


class _Section(BaseSettings):
    """One section of the settings: field ``foo`` is read from ``<env_prefix>FOO``, or from
    its ``validation_alias`` where the historical variable name does not fit the prefix."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        # Several sections share a prefix (BANTIN_): each ignores the others' variables, and
        # load_settings refuses names no section knows.
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """field name -> the environment variable it is read from (upper case)."""
        prefix = str(cls.model_config.get("env_prefix", ""))
        names = {}
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            names[name] = (alias if isinstance(alias, str) else prefix + name).upper()
        return names


class GeneralSettings(_Section):
    """Who administers the bot, where its sources are, its time zone, its leases."""

    model_config = SettingsConfigDict(env_prefix="BANTIN_")

    config: Path = Path("bantin.toml")
    admins: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    lease_seconds: float = Field(default=20.0, ge=3, le=600)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("admins")
    @classmethod
    def _admins(cls, v: str) -> str:
        parse_admins(v)
        return v


class DatabaseSettings(_Section):
    """The database (empty URL: a SQLite file in ``data_dir``)."""

    model_config = SettingsConfigDict(env_prefix="BANTIN_DATABASE_")

    url: str = ""
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, validation_alias="BANTIN_DATA_DIR")


class LoggingSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="BANTIN_LOG_")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    as_json: bool = Field(default=False, validation_alias="BANTIN_LOG_JSON")

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v


class HttpSettings(_Section):
    """The bot's own HTTP server (webhooks, /healthz, /metrics)."""

    model_config = SettingsConfigDict(env_prefix="BANTIN_HTTP_")

    mode: Literal["auto", "on", "off"] = Field(default="auto", validation_alias="BANTIN_HTTP")
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    #: bearer token for /metrics and the detailed /healthz view ("" = open to anyone)
    metrics_token: str = Field(default="", validation_alias="BANTIN_METRICS_TOKEN")
    #: connections served at once; more are answered 503 at once
    max_connections: int = Field(default=200, ge=1, le=10_000)
    #: open connections from one client address (an IPv6 /64); more are closed; 0: no cap
    max_connections_per_client: int = Field(default=20, ge=0, le=10_000)
    #: seconds a whole request, head and body, may take to arrive
    request_timeout: float = Field(default=10.0, gt=0, le=300)
    #: seconds an idle keep-alive connection stays open
    keepalive_timeout: float = Field(default=5.0, gt=0, le=300)
    #: proxies (addresses, networks) whose X-Forwarded-For names the client, comma-separated
    trusted_proxies: str = ""
    #: the web console's external base URL (``/web`` links point there); empty: no console
    #: links beyond the local address; https makes the session cookie Secure
    public_url: str = Field(default="", validation_alias="BANTIN_PUBLIC_URL")
    #: the console's *test a URL* may read private addresses typed as such (loopback,
    #: intranet); off: the console is no window into the bot's network. Metadata: never.
    console_allow_private: bool = Field(
        default=False, validation_alias="BANTIN_CONSOLE_ALLOW_PRIVATE"
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, v: str) -> str:
        for item in parse_networks(v):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or network") from exc
        return v


class FetchSettings(_Section):
    """Fetching from the portals."""

    model_config = SettingsConfigDict(env_prefix="BANTIN_")

    user_agent: str = ""
    timeout: float = Field(default=15.0, gt=0, le=300, validation_alias="BANTIN_HTTP_TIMEOUT")
    max_response_bytes: int = Field(default=5_000_000, ge=10_000)
    concurrency: int = Field(default=4, ge=1, le=64, validation_alias="BANTIN_FETCH_CONCURRENCY")
    # Parsing runs in worker processes, each document under a time limit.
    parse_workers: int = Field(default=2, ge=0, le=16, validation_alias="BANTIN_PARSE_WORKERS")
    parse_timeout: float = Field(
        default=20.0, gt=0, le=600, validation_alias="BANTIN_PARSE_TIMEOUT"
    )


class PollingSettings(_Section):
    """What a failing source costs (alerts, backoff) and what one poll may do (budgets)."""

    model_config = SettingsConfigDict(env_prefix="BANTIN_")

    alert_after_failures: int = Field(default=3, ge=1)
    max_backoff: int = Field(default=6 * 3600, ge=60)
    # Budgets per poll and per-entry retries.
    max_pages_per_poll: int = Field(default=30, ge=1, le=1000)
    max_entries_per_listing: int = Field(default=500, ge=1, le=100_000)
    entry_attempts: int = Field(default=3, ge=1, le=100)


class DeliverySettings(_Section):
    """The delivery engine, and what one chat may ask of the bot (commands, keywords, mutes)."""

    model_config = SettingsConfigDict(env_prefix="BANTIN_")

    send_concurrency: int = Field(default=16, ge=1, le=256)
    quiet_hours: str = ""
    quota_digest_time: str = "07:00"
    #: finished deliveries (sent, failed, cancelled, unreachable) are deleted after this many
    #: days; daily counts stay for /stats
    delivery_retention_days: int = Field(default=30, ge=1, le=3650)
    #: commands one chat may send per minute before the bot asks it to slow down
    reply_rate_per_minute: int = Field(default=20, ge=1, le=600)
    #: keywords one chat may follow (/follow), and mutes it may hold (/mute)
    max_keywords: int = Field(default=50, ge=1, le=1000)
    max_mutes: int = Field(default=50, ge=1, le=1000)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        parse_quiet_hours(v)
        return v

    @field_validator("quota_digest_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        parse_hhmm(v)
        return v


class _PlatformSettings(_Section):
    """A chat platform's Bot API: token, API root, webhook, rate."""

    bot_token: str = ""
    api_base_url: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    rate: float = Field(default=30.0, gt=0, le=1000)

    @field_validator("api_base_url", "webhook_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if v and (urlsplit(v).scheme not in ("http", "https") or not urlsplit(v).netloc):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/") if v else v

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, v: str) -> str:
        # Telegram's rule for secret_token: 1-256 characters A-Z a-z 0-9 _ -
        if v and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", v):
            raise ValueError("use 1-256 characters from A-Z, a-z, 0-9, _ and -")
        return v

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> _PlatformSettings:
        if self.webhook_url and not self.webhook_secret:
            names = self.env_names()
            raise ValueError(
                f"{names['webhook_url']} is set but {names['webhook_secret']} is not: a webhook "
                "without a secret would accept updates from anyone"
            )
        return self


class TelegramSettings(_PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="TELEGRAM_")

    api_base_url: str = "https://api.telegram.org"


class ZaloSettings(_PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="ZALO_")

    api_base_url: str = "https://bot-api.zaloplatforms.com"
    rate: float = Field(default=5.0, gt=0, le=1000)
    # The plan (the free one: 50 users, 3,000 messages a month; 0 = no limit) and how it is
    # shared: messages one chat may be answered with a day (its notice included), the share
    # of the month replies can never spend (kept for pushes), where the overflow goes.
    monthly_quota: int = Field(default=3000, ge=0)
    max_users: int = Field(default=50, ge=0)
    daily_replies: int = Field(default=10, ge=0, le=10_000)
    push_reserve: float = Field(default=0.6, ge=0, le=0.95)
    overflow_url: str = Field(default="", pattern=r"^(https?://\S+)?$")

    @field_validator("webhook_secret")
    @classmethod
    def _zalo_secret(cls, v: str) -> str:
        if v and not 8 <= len(v) <= 256:  # setWebhook's secret_token (bot.zaloplatforms.com)
            raise ValueError(f"Zalo takes a secret of 8-256 characters, this one has {len(v)}")
        return v


class ZaloOASettings(_Section):
    """The Zalo Official Account channel (``zalo_oa``): the app, the webhook key, how sends
    are priced and the budget, and the three API hosts (tests point them at a fake)."""

    model_config = SettingsConfigDict(env_prefix="ZALO_OA_")

    app_id: str = ""
    app_secret: str = ""
    #: the OA Secret Key of the app's webhook page (signatures; the app secret also works)
    secret_key: str = ""
    #: where Zalo posts events; empty: BANTIN_PUBLIC_URL + /zalo_oa/webhook
    webhook_url: str = ""
    #: free consultation messages per 48 h after a member's message: a number or "unlimited"
    free_replies: str = "8"
    #: consultation messages past the free ones (up to 7 days) may be sent, billed
    billed_consultation: bool = False
    consultation_price_vnd: int = Field(default=55, ge=0)
    templates_enabled: bool = False
    template_id: str = ""
    #: 0: the template's price_uid from template/info
    template_price_vnd: int = Field(default=200, ge=0)
    templates_per_day: int = Field(default=1, ge=1, le=10)
    monthly_budget_vnd: int = Field(default=0, ge=0)
    #: a fixed PKCE verifier whose challenge is saved in the developer console; empty: a
    #: fresh pair per connect
    pkce_verifier: str = ""
    #: when templates are refused (Asia/Ho_Chi_Minh)
    night_hours: str = "22:00-06:05"
    rate: float = Field(default=10.0, gt=0, le=1000)
    oauth_base_url: str = "https://oauth.zaloapp.com"
    api_base_url: str = "https://openapi.zalo.me"
    business_base_url: str = "https://business.openapi.zalo.me"

    @field_validator("oauth_base_url", "api_base_url", "business_base_url", "webhook_url")
    @classmethod
    def _oa_url(cls, v: str) -> str:
        if v and (urlsplit(v).scheme not in ("http", "https") or not urlsplit(v).netloc):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/")

    @field_validator("free_replies")
    @classmethod
    def _free(cls, v: str) -> str:
        v = v.strip().lower()
        if v != "unlimited" and not (v.isdigit() and int(v) <= 1000):
            raise ValueError('use a number of messages (8) or "unlimited"')
        return v

    @field_validator("night_hours")
    @classmethod
    def _night(cls, v: str) -> str:
        parse_quiet_hours(v)
        return v

    @field_validator("pkce_verifier")
    @classmethod
    def _verifier(cls, v: str) -> str:
        if v and not re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", v):
            raise ValueError("a PKCE verifier has 43-128 characters A-Z a-z 0-9 . _ ~ -")
        return v

    @model_validator(mode="after")
    def _complete(self) -> ZaloOASettings:
        if self.app_id and not self.app_secret:
            raise ValueError("ZALO_OA_APP_ID is set but ZALO_OA_APP_SECRET is not")
        if self.templates_enabled and not self.template_id:
            raise ValueError("ZALO_OA_TEMPLATES_ENABLED needs ZALO_OA_TEMPLATE_ID")
        return self

    @property
    def free_reply_count(self) -> int | None:
        """Free replies per 48 h; None: unlimited."""
        return None if self.free_replies == "unlimited" else int(self.free_replies)


class Settings(BaseModel):
    """Deployment settings, one section per concern; every variable has a row in README's
    configuration table, under the same name as before the sections existed."""

    model_config = ConfigDict(frozen=True)

    general: GeneralSettings
    database: DatabaseSettings
    logging: LoggingSettings
    http: HttpSettings
    fetch: FetchSettings
    polling: PollingSettings
    delivery: DeliverySettings
    telegram: TelegramSettings
    zalo: ZaloSettings
    zalo_oa: ZaloOASettings

    @model_validator(mode="after")
    def _webhook_needs_http(self) -> Settings:
        if self.http.mode == "off" and (self.telegram.webhook_url or self.zalo.webhook_url):
            raise ValueError(
                "BANTIN_HTTP=off, but a webhook (TELEGRAM_WEBHOOK_URL/"
                "ZALO_WEBHOOK_URL) needs the HTTP server"
            )
        if self.zalo_oa.app_id and (self.http.mode == "off" or not self.http.public_url):
            raise ValueError(
                "ZALO_OA_APP_ID needs BANTIN_PUBLIC_URL and the HTTP server: the OA's "
                "webhook and the OAuth callback of its connect are served there"
            )
        return self

    @classmethod
    def sections(cls) -> dict[str, type[_Section]]:
        """section name -> its settings class."""
        out: dict[str, type[_Section]] = {}
        for name, field in cls.model_fields.items():
            assert isinstance(field.annotation, type) and issubclass(field.annotation, _Section)
            out[name] = field.annotation
        return out

    @classmethod
    def env_names(cls) -> set[str]:
        """Every environment variable a section reads."""
        return {env for section in cls.sections().values() for env in section.env_names().values()}

    def secrets(self) -> list[str]:
        """Values that must never reach a log line, a column, a page, an alert or /healthz."""
        return [
            v
            for v in (
                self.telegram.bot_token,
                self.telegram.webhook_secret,
                self.zalo.bot_token,
                self.zalo.webhook_secret,
                self.zalo_oa.app_secret,
                self.zalo_oa.secret_key,
                self.zalo_oa.pkce_verifier,
                self.http.metrics_token,
            )
            if v
        ]


def parse_admins(text: str) -> frozenset[tuple[str, str]]:
    """``"telegram:123, zalo:abc"`` -> {("telegram", "123"), ("zalo", "abc")}."""
    out: set[tuple[str, str]] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        channel, sep, chat_id = part.partition(":")
        if not sep or not channel.strip() or not chat_id.strip():
            raise ValueError(f"{part!r} is not CHANNEL:ID (e.g. telegram:123456)")
        out.add((channel.strip().lower(), chat_id.strip()))
    return frozenset(out)


def parse_networks(text: str) -> tuple[str, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` -> ("127.0.0.1", "10.0.0.0/8") (checked by the settings)."""
    return tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())


def _check_unknown_env(names: Iterable[str], where: str) -> None:
    known = Settings.env_names()
    for name in names:
        upper = name.upper()
        # Test-suite variables (BANTIN_TEST_*) and the samples path are read by tests only.
        if upper.startswith("BANTIN_TEST_") or upper == "BANTIN_SAMPLES_DIR":
            continue
        if upper.startswith(_KNOWN_PREFIXES) and upper not in known:
            known_list = ", ".join(sorted(known))
            raise ConfigError(f"{where}: {name}: unknown setting (known: {known_list})")


def _dotenv_names(env_file: Path | None) -> list[str]:
    if env_file is None or not env_file.is_file():
        return []
    from dotenv import dotenv_values

    return list(dotenv_values(env_file, encoding="utf-8"))


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Read and validate the deployment settings; refuse unknown ``BANTIN_*`` variables.

    With ``environ`` (tests) its values win over the process environment and ``.env`` is
    not read.
    """
    if environ is None:
        _check_unknown_env(os.environ, "environment")
        _check_unknown_env(_dotenv_names(env_file), str(env_file))
    else:
        _check_unknown_env(environ, "environment")
        env_file = None
    given = {k.upper(): v for k, v in (environ or {}).items()}
    sections: dict[str, _Section] = {}
    for name, cls in Settings.sections().items():
        names = cls.env_names()
        values = {field: given[env] for field, env in names.items() if env in given}
        try:
            sections[name] = cls(_env_file=env_file, **values)  # type: ignore[call-arg]
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = str(err["loc"][0]) if err["loc"] else ""
            key = names.get(loc, loc.upper()) or "settings"
            raise ConfigError(f"environment or .env: {key}: {_reason(err['msg'])}") from None
    try:
        return Settings(**sections)  # type: ignore[arg-type]
    except ValidationError as exc:
        reason = _reason(exc.errors()[0]["msg"])
        raise ConfigError(f"environment or .env: settings: {reason}") from None


def _reason(msg: str) -> str:
    return msg.removeprefix("Value error, ")
