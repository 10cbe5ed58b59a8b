"""feeds.urls: absolute links, canonical URLs and the dedup key."""

from __future__ import annotations

import pytest

from feeds.errors import RulesError
from feeds.models import Entry
from feeds.urls import DEFAULT_ID_PATTERN, absolutize, article_key, canonical_url, entry_keys

BASE = "https://dukcqtw.dcs.vn/kiem-tra-giam-sat.aspx?page=2"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/tin-a-duk12.aspx", "https://dukcqtw.dcs.vn/tin-a-duk12.aspx"),
        ("tin-a-duk12.aspx", "https://dukcqtw.dcs.vn/tin-a-duk12.aspx"),
        ("\n  https://vnexpress.net/a-1.html\n", "https://vnexpress.net/a-1.html"),
        ("//cdn.example.vn/x.aspx", "https://cdn.example.vn/x.aspx"),
        ("/tin-a-duk12.aspx#binh-luan", "https://dukcqtw.dcs.vn/tin-a-duk12.aspx"),
        ("?page=3", "https://dukcqtw.dcs.vn/kiem-tra-giam-sat.aspx?page=3"),
        ("\\tin\\b-duk1.aspx", "https://dukcqtw.dcs.vn/tin/b-duk1.aspx"),
        ("#top", None),
        ("", None),
        (None, None),
        ("javascript:void(0)", None),
        ("JavaScript:search()", None),
        ("mailto:toasoan@example.vn", None),
        ("tel:+84241234567", None),
        ("ftp://example.vn/file", None),
    ],
)
def test_absolutize(href: str | None, expected: str | None) -> None:
    assert absolutize(href, BASE) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.DukCQTW.dcs.vn:80/Tin-Tuc/", "http://www.dukcqtw.dcs.vn/Tin-Tuc"),
        ("https://dukcqtw.dcs.vn:443/", "https://dukcqtw.dcs.vn/"),
        ("https://dukcqtw.dcs.vn", "https://dukcqtw.dcs.vn/"),
        ("https://dukcqtw.dcs.vn:8443/a", "https://dukcqtw.dcs.vn:8443/a"),
        ("https://x.vn/a?b=2&a=1#frag", "https://x.vn/a?a=1&b=2"),
        ("https://x.vn/a?", "https://x.vn/a"),
        (
            "https://x.vn/a?utm_source=zalo&utm_medium=social&fbclid=F&gclid=G&zarsrc=30"
            "&mc_cid=1&mc_eid=2&_ga=3&id=7",
            "https://x.vn/a?id=7",
        ),
        # Not tracking by any convention: these can select content, so they stay.
        (
            "https://x.vn/a?ref=home&refid=5&source=rss",
            "https://x.vn/a?ref=home&refid=5&source=rss",
        ),
        ("https://x.vn/tin tức", "https://x.vn/tin%20t%E1%BB%A9c"),
        ("https://x.vn/tin%20t%e1%bb%a9c", "https://x.vn/tin%20t%E1%BB%A9c"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected
    assert canonical_url(expected) == expected  # idempotent


def test_article_key_uses_the_portal_id() -> None:
    key = "dukcqtw.dcs.vn:id:3521"
    assert article_key("https://dukcqtw.dcs.vn/tong-ket-duk3521.aspx") == key
    assert article_key("http://www.dukcqtw.dcs.vn/Tong-Ket-DUK3521.ASPX?utm_source=zalo") == key
    # The slug may change after an edit; the id does not.
    assert article_key("https://dukcqtw.dcs.vn/tieu-de-da-sua-duk3521.aspx#a") == key


def test_article_key_with_a_source_pattern() -> None:
    url = "https://baotinh.example.vn/chi-tiet.aspx?ID=55&cat=2"
    assert article_key(url, id_pattern=r"[?&]id=(\d+)") == "baotinh.example.vn:id:55"
    # A pattern without a group keys on the whole match.
    assert article_key("https://x.vn/p/4711", id_pattern=r"p/\d+") == "x.vn:id:p/4711"


def test_article_key_falls_back_to_the_url_without_scheme() -> None:
    a = article_key("http://VnExpress.net/tin-tuc/a-3618863.html?utm_campaign=x#top")
    b = article_key("https://www.vnexpress.net/tin-tuc/a-3618863.html")
    assert a == b == "url:vnexpress.net/tin-tuc/a-3618863.html"
    assert article_key("https://x.vn/a?b=2&a=1") == "url:x.vn/a?a=1&b=2"
    assert article_key("https://x.vn:8080/a") == "url:x.vn:8080/a"


def test_a_url_beats_the_guid() -> None:
    key = article_key("https://x.vn/a", guid="abc", guid_unique=True, source_id="s")
    assert key == "url:x.vn/a"


def test_guid_only_without_url_and_only_when_unique() -> None:
    assert article_key("", guid=" tag:x.vn,2026:1 ", guid_unique=True, source_id="s") == (
        "guid:s:tag:x.vn,2026:1"
    )
    with pytest.raises(ValueError):
        article_key("", guid="tag:x.vn,2026:1", guid_unique=False, source_id="s")
    with pytest.raises(ValueError):
        article_key("mailto:a@b.vn")


def test_invalid_id_pattern_is_a_rules_error() -> None:
    with pytest.raises(RulesError, match="id_pattern"):
        article_key("https://x.vn/a", id_pattern="(unclosed")


def test_entry_keys_counts_guids_per_document() -> None:
    entries = [
        Entry(url="https://dukcqtw.dcs.vn/a-duk1.aspx", title="A", guid="g1"),
        Entry(url="", title="B", guid="dup"),
        Entry(url="", title="C", guid="dup"),
        Entry(url="", title="D", guid="g4"),
    ]
    assert entry_keys(entries, source_id="rss") == [
        "dukcqtw.dcs.vn:id:1",
        None,
        None,
        "guid:rss:g4",
    ]


def test_default_pattern_is_exported() -> None:
    assert DEFAULT_ID_PATTERN == r"-duk(\d+)\.aspx"
