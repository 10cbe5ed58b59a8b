"""Configuration: the sources TOML, and :class:`Config`, everything the application needs.

Deployment settings and secrets come from the environment (and ``.env``, read by
:mod:`bot.settings`); topics and sources are data in a TOML file. Anything wrong is refused
at start with the file, the key and the reason, as a :class:`ConfigError`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from selectolax.lexbor import LexborHTMLParser

from bot.settings import ConfigError, Settings, load_settings, parse_admins
from feeds.kinds import source_type
from feeds.models import ArticleRules, ListRules, Source, SourceKind, Topic
from feeds.netpolicy import parse_site

__all__ = [
    "Config",
    "ConfigError",
    "Settings",
    "load_config",
    "load_settings",
    "parse_admins",
    "parse_sources_toml",
]


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
    slug: str = Field(pattern=_SLUG, max_length=100)  # VARCHAR(100) wherever a topic is stored
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
            raise ValueError(
                "link, title and date are selectors inside item; not with link_pattern"
            )
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
    id: str = Field(pattern=_SLUG, max_length=100)  # sources.id is VARCHAR(100)
    name: str = Field(min_length=1)
    kind: SourceKind
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
        needs_rules = source_type(self.kind).needs_list_rules
        if needs_rules and self.listing is None:
            raise ValueError(f"an {self.kind} source needs a [sources.list] table")
        if not needs_rules and self.listing is not None:
            raise ValueError(f"an {self.kind} source has no [sources.list] table")
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


def parse_sources_toml(
    text: str, *, filename: str = "bantin.toml"
) -> tuple[tuple[Topic, ...], tuple[Source, ...]]:
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
                raise ConfigError(
                    f"{filename}: sources[{i}].topics: unknown topic {t!r} (not in [[topics]])"
                )
        sources.append(_source(s))
    return topics, tuple(sources)


def _source(model: _SourceModel) -> Source:
    """The value of a validated ``[[sources]]`` table. The model's fields are the Source's
    (``listing`` aside, which is ``list``), so this copies by name and cannot drift."""
    plain = model.model_dump(exclude={"listing", "article"})
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in plain.items()}
    rules = ListRules(**model.listing.model_dump()) if model.listing else None
    article = None
    if model.article is not None:
        article = ArticleRules(
            **{**model.article.model_dump(), "remove": tuple(model.article.remove)}
        )
    return Source(**values, list=rules, article=article)


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
        database = self.settings.database
        if database.url:
            return database.url
        return f"sqlite+aiosqlite:///{database.data_dir / 'bantin.sqlite3'}"

    @property
    def admins(self) -> frozenset[tuple[str, str]]:
        return parse_admins(self.settings.general.admins)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.general.timezone)

    def source(self, source_id: str) -> Source | None:
        return next((s for s in self.sources if s.id == source_id), None)

    def with_sources_text(self, text: str, *, filename: str) -> Config:
        """A copy with topics and sources taken from another TOML text (the demo's)."""
        topics, sources = parse_sources_toml(text, filename=filename)
        return Config(self.settings, topics, sources, Path(filename))


def load_config(
    environ: Mapping[str, str] | None = None, *, config_path: Path | None = None
) -> Config:
    """Settings from the environment plus topics and sources from the TOML file."""
    settings = load_settings(environ)
    path = config_path or settings.general.config
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: file not found (set BANTIN_CONFIG to the sources file)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    topics, sources = parse_sources_toml(text, filename=str(path))
    return Config(settings, topics, sources, path)
