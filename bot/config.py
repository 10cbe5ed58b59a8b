"""Configuration: the only reader of environment variables, ``.env`` and the sources TOML.

Deployment settings and secrets come from the environment (and ``.env``); topics and sources
are data in a TOML file. Anything wrong is refused at start with the file, the key and the
reason, as a :class:`ConfigError`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from selectolax.lexbor import LexborHTMLParser

from bot.timeofday import parse_hhmm, parse_quiet_hours
from feeds.models import ArticleRules, ListRules, Source, Topic
from feeds.netpolicy import parse_site

DEFAULT_DATA_DIR = Path("data")


class ConfigError(Exception):
    """A setting or the sources file is invalid; the message names the file, key and reason."""


# --------------------------------------------------------------------------- environment


class Settings(BaseSettings):
    """Deployment settings. Field ``foo_bar`` is read from the variable ``FOO_BAR``.

    Every field here has a row in README's configuration table.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", case_sensitive=False, extra="forbid"
    )

    bantin_database_url: str = ""
    bantin_config: Path = Path("bantin.toml")
    bantin_admins: str = ""
    bantin_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    bantin_log_json: bool = False
    bantin_data_dir: Path = DEFAULT_DATA_DIR
    bantin_timezone: str = "Asia/Ho_Chi_Minh"
    bantin_user_agent: str = ""
    bantin_http_timeout: float = Field(default=15.0, gt=0, le=300)
    bantin_max_response_bytes: int = Field(default=5_000_000, ge=10_000)
    bantin_fetch_concurrency: int = Field(default=4, ge=1, le=64)
    bantin_alert_after_failures: int = Field(default=3, ge=1)
    bantin_max_backoff: int = Field(default=6 * 3600, ge=60)
    bantin_quiet_hours: str = ""
    bantin_send_concurrency: int = Field(default=16, ge=1, le=256)
    bantin_lease_seconds: float = Field(default=20.0, ge=3, le=600)
    bantin_http_host: str = "0.0.0.0"
    bantin_http_port: int = Field(default=8080, ge=0, le=65535)
    bantin_http: Literal["auto", "on", "off"] = "auto"
    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_rate: float = Field(default=30.0, gt=0, le=1000)
    zalo_bot_token: str = ""
    zalo_api_base_url: str = "https://bot-api.zaloplatforms.com"
    zalo_webhook_url: str = ""
    zalo_webhook_secret: str = ""
    zalo_rate: float = Field(default=5.0, gt=0, le=1000)
    zalo_monthly_quota: int = Field(default=3000, ge=0)
    bantin_quota_digest_time: str = "07:00"

    @field_validator("telegram_api_base_url", "telegram_webhook_url", "zalo_api_base_url", "zalo_webhook_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if v and (urlsplit(v).scheme not in ("http", "https") or not urlsplit(v).netloc):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/") if v else v

    @field_validator("bantin_quota_digest_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        parse_hhmm(v)
        return v

    @field_validator("telegram_webhook_secret", "zalo_webhook_secret")
    @classmethod
    def _secret(cls, v: str) -> str:
        # Telegram's rule for secret_token: 1-256 characters A-Z a-z 0-9 _ -
        if v and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", v):
            raise ValueError("use 1-256 characters from A-Z, a-z, 0-9, _ and -")
        return v

    @model_validator(mode="after")
    def _webhook_needs_http(self) -> Settings:
        if self.bantin_http == "off" and (self.telegram_webhook_url or self.zalo_webhook_url):
            raise ValueError("BANTIN_HTTP=off, but a webhook (TELEGRAM_WEBHOOK_URL/ZALO_WEBHOOK_URL) needs the HTTP server")
        return self

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        for name in ("telegram", "zalo"):
            if getattr(self, f"{name}_webhook_url") and not getattr(self, f"{name}_webhook_secret"):
                raise ValueError(
                    f"{name.upper()}_WEBHOOK_URL is set but {name.upper()}_WEBHOOK_SECRET is not: a webhook "
                    "without a secret would accept updates from anyone"
                )
        return self

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        return [v for v in (self.telegram_bot_token, self.telegram_webhook_secret, self.zalo_bot_token,
                            self.zalo_webhook_secret) if v]

    @field_validator("bantin_log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("bantin_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("bantin_quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        parse_quiet_hours(v)
        return v

    @field_validator("bantin_admins")
    @classmethod
    def _admins(cls, v: str) -> str:
        parse_admins(v)
        return v


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


_KNOWN_PREFIXES = ("BANTIN_", "TELEGRAM_", "ZALO_")


def _check_unknown_env(environ: Mapping[str, str]) -> None:
    known = {name.upper() for name in Settings.model_fields}
    for name in environ:
        upper = name.upper()
        # Test-suite variables (BANTIN_TEST_*) and the samples path are read by tests only.
        if upper.startswith("BANTIN_TEST_") or upper == "BANTIN_SAMPLES_DIR":
            continue
        if upper.startswith(_KNOWN_PREFIXES) and upper not in known:
            raise ConfigError(f"environment: {name}: unknown setting (known: {', '.join(sorted(known))})")


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Read and validate the deployment settings; refuse unknown ``BANTIN_*`` variables."""
    env = os.environ if environ is None else environ
    _check_unknown_env(env)
    try:
        if environ is None:
            return Settings(_env_file=env_file)  # type: ignore[call-arg]
        # An explicit mapping (tests): pass values as init kwargs, ignore the process env.
        known = set(Settings.model_fields)
        values = {k.lower(): v for k, v in environ.items() if k.lower() in known}
        return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]).upper() if err["loc"] else "settings"
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"environment or .env: {key}: {msg}") from None


# --------------------------------------------------------------------------- sources TOML

_SLUG = r"^[a-z0-9][a-z0-9_-]*$"


def _check_selector(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ValueError("empty CSS selector")
    try:
        LexborHTMLParser("<html></html>").css(value)
    except Exception as exc:  # selectolax raises several types for a bad selector
        raise ValueError(f"invalid CSS selector {value!r}: {exc}") from None
    return value


def _check_regex(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _TopicModel(_Strict):
    slug: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1)
    keywords: list[str] = []


class _ListModel(_Strict):
    item: str | None = None
    link: str | None = None
    title: str | None = None
    date: str | None = None
    link_pattern: str | None = None

    _sel = field_validator("item", "link", "title", "date")(_check_selector)
    _re = field_validator("link_pattern")(_check_regex)

    @model_validator(mode="after")
    def _one_way(self) -> _ListModel:
        if bool(self.item) == bool(self.link_pattern):
            raise ValueError("give either item (with link/title/date) or link_pattern")
        if self.link_pattern and (self.link or self.title or self.date):
            raise ValueError("link, title and date are selectors inside item; not with link_pattern")
        return self


class _ArticleModel(_Strict):
    title: str | None = None
    date: str | None = None
    body: str | None = None
    remove: list[str] = []

    _sel = field_validator("title", "date", "body")(_check_selector)

    @field_validator("remove")
    @classmethod
    def _remove(cls, v: list[str]) -> list[str]:
        return [s for s in (_check_selector(x) for x in v) if s]


class _SourceModel(_Strict):
    id: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1)
    kind: Literal["rss", "html"]
    url: str
    topics: list[str] = []
    interval: int = Field(default=900, ge=1, le=7 * 86400)
    enabled: bool = True
    fetch_articles: bool = True
    id_pattern: str | None = None
    link_preview: bool = True
    allow_private: bool = False
    article_hosts: list[str] = []
    # "list" would shadow the builtin inside the class body, hence the alias.
    listing: _ListModel | None = Field(default=None, alias="list")
    article: _ArticleModel | None = None

    _re = field_validator("id_pattern")(_check_regex)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    @field_validator("article_hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        for host in v:
            parse_site(host)  # ValueError names the entry
        return v

    @model_validator(mode="after")
    def _kind_rules(self) -> _SourceModel:
        if self.kind == "html" and self.listing is None:
            raise ValueError("an html source needs a [sources.list] table")
        if self.kind == "rss" and self.listing is not None:
            raise ValueError("an rss source has no [sources.list] table")
        return self


class _FileModel(_Strict):
    topics: list[_TopicModel] = []
    sources: list[_SourceModel] = []


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def parse_sources_toml(text: str, *, filename: str = "bantin.toml") -> tuple[tuple[Topic, ...], tuple[Source, ...]]:
    """Validate the TOML text; return topics and sources, or raise :class:`ConfigError`."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{filename}: not valid TOML: {exc}") from None
    try:
        model = _FileModel.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _format_loc(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(f"{filename}: {loc or '(top level)'}: {msg}") from None

    topics = tuple(Topic(t.slug, t.name, tuple(k for k in t.keywords if k)) for t in model.topics)
    slugs = [t.slug for t in topics]
    for i, slug in enumerate(slugs):
        if slug in slugs[:i]:
            raise ConfigError(f"{filename}: topics[{i}].slug: duplicate topic {slug!r}")
    sources: list[Source] = []
    seen: set[str] = set()
    for i, s in enumerate(model.sources):
        if s.id in seen:
            raise ConfigError(f"{filename}: sources[{i}].id: duplicate source id {s.id!r}")
        seen.add(s.id)
        for t in s.topics:
            if t not in slugs:
                raise ConfigError(f"{filename}: sources[{i}].topics: unknown topic {t!r} (not in [[topics]])")
        sources.append(
            Source(
                id=s.id,
                name=s.name,
                kind=s.kind,
                url=s.url,
                topics=tuple(s.topics),
                interval=s.interval,
                enabled=s.enabled,
                list=ListRules(**s.listing.model_dump()) if s.listing else None,
                article=(
                    ArticleRules(
                        title=s.article.title,
                        date=s.article.date,
                        body=s.article.body,
                        remove=tuple(s.article.remove),
                    )
                    if s.article
                    else None
                ),
                fetch_articles=s.fetch_articles,
                id_pattern=s.id_pattern,
                link_preview=s.link_preview,
                allow_private=s.allow_private,
                article_hosts=tuple(s.article_hosts),
            )
        )
    return topics, tuple(sources)


# --------------------------------------------------------------------------- together


@dataclass(frozen=True)
class Config:
    """Everything the application needs to start."""

    settings: Settings
    topics: tuple[Topic, ...]
    sources: tuple[Source, ...]
    config_path: Path

    @property
    def database_url(self) -> str:
        url = self.settings.bantin_database_url
        if url:
            return url
        return f"sqlite+aiosqlite:///{self.settings.bantin_data_dir / 'bantin.sqlite3'}"

    @property
    def admins(self) -> frozenset[tuple[str, str]]:
        return parse_admins(self.settings.bantin_admins)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.bantin_timezone)

    def source(self, source_id: str) -> Source | None:
        return next((s for s in self.sources if s.id == source_id), None)

    def with_sources_text(self, text: str, *, filename: str) -> Config:
        """A copy with topics and sources taken from another TOML text (the demo's)."""
        topics, sources = parse_sources_toml(text, filename=filename)
        return Config(self.settings, topics, sources, Path(filename))


def load_config(environ: Mapping[str, str] | None = None, *, config_path: Path | None = None) -> Config:
    """Settings from the environment plus topics and sources from the TOML file."""
    settings = load_settings(environ)
    path = config_path or settings.bantin_config
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (set BANTIN_CONFIG to the sources file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    topics, sources = parse_sources_toml(text, filename=str(path))
    return Config(settings, topics, sources, path)
