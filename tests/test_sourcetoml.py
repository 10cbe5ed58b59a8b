"""feeds.sourcetoml: the one ``[[sources]]`` writer reads back, through the configuration's own
parser, to the very source it was written from; whatever the strings hold."""

from __future__ import annotations

import pytest

from bot.config import parse_sources_toml
from feeds.models import ArticleRules, ListRules, Source
from feeds.sourcetoml import literal, source_toml

TOPICS = """
[[topics]]
slug = "dan-van"
name = "Dân vận"
[[topics]]
slug = "kiem-tra"
name = "Kiểm tra"
"""


def read_back(block: str) -> Source:
    _, sources = parse_sources_toml(TOPICS + block, filename="t.toml")
    assert len(sources) == 1
    return sources[0]


def test_every_field_survives_the_round_trip() -> None:
    source = Source(
        id="dv",
        name='Dân vận "mới" \\ số',
        kind="html",
        url="https://dukcqtw.dcs.vn/dan-van.aspx?p=%C4%90%E1%BA%A3ng",
        topics=("dan-van", "kiem-tra"),
        interval=600,
        enabled=False,
        list=ListRules(item="div.card", link="a[href]", title="h3", date="span.date"),
        article=ArticleRules(title="h1", date=".meta", body="#content", remove=(".ads", "nav")),
        fetch_articles=False,
        id_pattern=r"-duk(\d+)\.aspx$",
        link_preview=False,
        allow_private=True,
        article_hosts=("*.dcs.vn", "static.example.vn"),
    )
    assert read_back(source_toml(source)) == source


@pytest.mark.parametrize(
    "pattern",
    [r"/[^?#]*\d{4,}[^/]*$", r"it's-\d+\.html", 'a\\b"c', r"[\u0110\u0111]\s+\\d"],
)
def test_a_regex_reads_as_written(pattern: str) -> None:
    source = Source(
        id="x", name="x", kind="html", url="http://x.vn/", list=ListRules(link_pattern=pattern)
    )
    assert read_back(source_toml(source)).list == ListRules(link_pattern=pattern)


def test_defaults_are_left_out_and_a_feed_is_short() -> None:
    block = source_toml(
        Source(id="vne", name="VnExpress", kind="rss", url="https://vnexpress.net/rss")
    )
    assert block.splitlines() == [
        "[[sources]]",
        'id = "vne"',
        'name = "VnExpress"',
        'kind = "rss"',
        'url = "https://vnexpress.net/rss"',
        "topics = []",
        "interval = 900",
    ]


def test_control_characters_never_break_the_block() -> None:
    name = "tên\nmới\x1b[31m\x07"
    source = Source(id="x", name=name, kind="rss", url="http://x.vn/")
    block = source_toml(source)
    assert "\x1b" not in block and "\x07" not in block and read_back(block).name == name
    assert literal("a\tb").startswith('"')


def test_notes_are_comments() -> None:
    source = Source(id="x", name="x", kind="html", url="http://x.vn/")
    block = source_toml(source, notes=["typed private"], list_notes=["write link_pattern"])
    assert "# typed private" in block and block.endswith("[sources.list]\n# write link_pattern")
