"""Configuration: defaults, the shipped bantin.toml, and refusals naming file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, load_settings, parse_admins, parse_sources_toml

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
[[topics]]
slug = "dan-van"
name = "Dân vận"
keywords = ["dân vận"]

[[sources]]
id = "portal-dan-van"
name = "Dân vận"
kind = "html"
url = "https://portal.example/dan-van.aspx"
topics = ["dan-van"]
interval = 600
[sources.list]
item = ".news-item"
link = "a.title"
date = ".date"
[sources.article]
body = ".detail-content"
remove = [".caption"]

[[sources]]
id = "feed"
name = "Feed"
kind = "rss"
url = "https://portal.example/rss"
enabled = false
"""


def test_shipped_config_is_valid() -> None:
    config = load_config({}, config_path=ROOT / "bantin.toml")
    assert {t.slug for t in config.topics} >= {"dan-van", "tuyen-giao", "xay-dung-dang", "kiem-tra"}
    assert all(s.kind in ("rss", "html") for s in config.sources)
    for source in config.sources:
        assert set(source.topics) <= {t.slug for t in config.topics}


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.general.config == Path("bantin.toml")
    assert settings.logging.level == "INFO"
    config = load_config({}, config_path=ROOT / "bantin.toml")
    assert config.database_url.startswith("sqlite+aiosqlite:///") and "data" in config.database_url
    assert str(config.tz) == "Asia/Ho_Chi_Minh"


def test_parse_good_file() -> None:
    topics, sources = parse_sources_toml(GOOD)
    assert topics[0].keywords == ("dân vận",)
    html, rss = sources
    assert html.list is not None and html.list.item == ".news-item" and html.interval == 600
    assert html.article is not None and html.article.remove == (".caption",)
    assert rss.enabled is False and rss.list is None and rss.interval == 900


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda s: s.replace("interval = 600", 'interval = 600\ncolour = "red"'),
            "sources[0].colour: unknown key",
        ),
        (lambda s: s.replace('kind = "html"', 'kind = "atom"'), "sources[0].kind"),
        (
            lambda s: s.replace('item = ".news-item"', 'item = ".news-item["'),
            "invalid CSS selector",
        ),
        (
            lambda s: s.replace('url = "https://portal.example/rss"', 'url = "ftp://x"'),
            "not an http(s) URL",
        ),
        (lambda s: s.replace('topics = ["dan-van"]', 'topics = ["nope"]'), "unknown topic 'nope'"),
        (lambda s: s.replace('id = "feed"', 'id = "portal-dan-van"'), "duplicate source id"),
        (
            lambda s: s.replace(
                '[sources.list]\nitem = ".news-item"\nlink = "a.title"\ndate = ".date"\n', ""
            ),
            "needs a [sources.list]",
        ),
        (
            lambda s: s.replace('item = ".news-item"', 'link_pattern = "("'),
            "invalid regular expression",
        ),
        (lambda s: s + "\n[extra]\nx = 1\n", "extra: unknown key"),
        (lambda s: s.replace("interval = 600", "interval = -5"), "sources[0].interval"),
        (lambda s: s + "\n[[sources]\n", "not valid TOML"),
    ],
)
def test_bad_files_are_refused_with_file_key_and_reason(mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        parse_sources_toml(mutate(GOOD), filename="my.toml")
    message = str(info.value)
    assert message.startswith("my.toml: ")
    assert expected in message


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"BANTIN_DATABSE_URL": "x"}, "BANTIN_DATABSE_URL: unknown setting"),
        ({"BANTIN_LOG_LEVEL": "LOUD"}, "BANTIN_LOG_LEVEL"),
        ({"BANTIN_ADMINS": "telegram"}, "is not CHANNEL:ID"),
        ({"BANTIN_HTTP_TIMEOUT": "soon"}, "BANTIN_HTTP_TIMEOUT"),
        ({"BANTIN_TIMEZONE": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_bad_environment_is_refused(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_settings(env)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config({}, config_path=tmp_path / "nope.toml")


def test_admins_parse() -> None:
    assert parse_admins(" telegram:123, zalo:abc ;") == {("telegram", "123"), ("zalo", "abc")}
    assert parse_admins("") == frozenset()


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "BANTIN_LOG_LEVEL=debug\nBANTIN_ADMINS=telegram:42\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("BANTIN_LOG_LEVEL", "BANTIN_ADMINS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.logging.level == "DEBUG" and settings.general.admins == "telegram:42"


def test_settings_are_grouped_by_section_under_the_same_variable_names() -> None:
    settings = load_settings(
        {
            "BANTIN_SEND_CONCURRENCY": "7",
            "BANTIN_HTTP": "on",
            "BANTIN_HTTP_TIMEOUT": "3",
            "ZALO_MONTHLY_QUOTA": "10",
        }
    )
    assert settings.delivery.send_concurrency == 7
    assert settings.http.mode == "on" and settings.fetch.timeout == 3.0
    assert settings.zalo.monthly_quota == 10 and settings.telegram.rate == 30.0


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"BANTIN_SEND_CONCURRENCY": "0"}, "BANTIN_SEND_CONCURRENCY"),
        ({"BANTIN_FETCH_CONCURRENCY": "x"}, "BANTIN_FETCH_CONCURRENCY"),
        ({"ZALO_WEBHOOK_URL": "https://x.example/z"}, "ZALO_WEBHOOK_SECRET is not"),
        (
            {
                "BANTIN_HTTP": "off",
                "TELEGRAM_WEBHOOK_URL": "https://x.example/t",
                "TELEGRAM_WEBHOOK_SECRET": "s",
            },
            "BANTIN_HTTP=off",
        ),
        ({"TELEGRAM_BOT_TOKN": "1"}, "TELEGRAM_BOT_TOKN: unknown setting"),
    ],
)
def test_section_errors_name_the_variable(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_settings(env)


def test_unknown_variable_in_dotenv_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BANTIN_QUIET_HOUR=22:00-06:00\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="BANTIN_QUIET_HOUR: unknown setting"):
        load_settings(env_file=tmp_path / ".env")


def test_importing_the_config_loads_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, bot.config; "
        "print(sorted(m for m in ('sqlalchemy', 'prometheus_client', 'telegram', 'storage') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_the_source_table_model_has_exactly_the_fields_of_a_source() -> None:
    """bot.config copies a validated table into a Source by field name: the two cannot drift."""
    from dataclasses import fields

    from bot.config import _ArticleModel, _ListModel, _SourceModel
    from feeds.models import ArticleRules, ListRules, Source

    table = set(_SourceModel.model_fields) - {"listing"} | {"list"}
    assert table == {f.name for f in fields(Source)}
    assert set(_ListModel.model_fields) == {f.name for f in fields(ListRules)}
    assert set(_ArticleModel.model_fields) == {f.name for f in fields(ArticleRules)}
