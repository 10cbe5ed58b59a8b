"""feeds.html: listing pages to entries, Vietnamese date lines, HTML fragments to text."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feeds.errors import RulesError
from feeds.html import html_text, html_texts, parse_listing, parse_vn_date
from feeds.models import ListRules

DATA = Path(__file__).resolve().parent / "data"


def listing_cases() -> list[tuple[Path, dict[str, Any]]]:
    cases = []
    for expected in sorted(DATA.glob("*.expected.json")):
        spec = json.loads(expected.read_text(encoding="utf-8"))
        if spec["kind"] == "listing":
            cases.append(
                (expected.with_name(expected.name.replace(".expected.json", ".html")), spec)
            )
    return cases


@pytest.mark.parametrize(("page", "spec"), listing_cases(), ids=lambda v: getattr(v, "name", ""))
def test_captured_listing_with_rules(page: Path, spec: dict[str, Any]) -> None:
    html = page.read_text(encoding="utf-8")
    entries = parse_listing(html, base_url=spec["url"], rules=ListRules(**spec["rules"]))
    assert [e.url for e in entries] == [x["url"] for x in spec["entries"]]
    for entry, want in zip(entries, spec["entries"], strict=True):
        assert entry.title == want["title"]
        assert entry.published_at == datetime.fromisoformat(want["published_at"])
        assert entry.summary.startswith(want.get("summary_startswith", ""))


@pytest.mark.parametrize(("page", "spec"), listing_cases(), ids=lambda v: getattr(v, "name", ""))
def test_captured_listing_generic(page: Path, spec: dict[str, Any]) -> None:
    """No rules: anchors to ``-duk{id}.aspx`` URLs, titles and dates from their cards."""
    html = page.read_text(encoding="utf-8")
    entries = parse_listing(html, base_url=spec["url"], rules=ListRules())
    assert [e.url for e in entries] == [x["url"] for x in spec["entries"]] + spec[
        "generic_extra_urls"
    ]
    for entry, want in zip(entries, spec["entries"], strict=False):
        # The image link and the headline link merge; the headline (longest) wins.
        assert entry.title == want["title"]
        assert entry.published_at == datetime.fromisoformat(want["published_at"])
    assert parse_listing(html, base_url=spec["url"]) == entries  # rules=None is the same


LISTING = """<html><body>
<ul class="menu"><li><a href="/dan-van.aspx">Dân vận</a></li></ul>
<div class="box">
  <div class="row"><a href="/a-duk1.aspx"><img src="a.jpg" alt="Ảnh tin A"></a>
    <a href="/a-duk1.aspx">Hội nghị Ban Thường vụ Đảng ủy Khối</a> <i>08:30 26/11/2026</i></div>
  <div class="row"><a href="/b-duk2.aspx" title="Tin B đầy đủ tiêu đề"></a></div>
  <div class="row"><a href="/c-duk3.aspx"><img src="c.jpg"></a></div>
  <div class="row"><a href="/d-duk4.aspx">
      Tiêu đề
      xuống dòng
  </a><span class="time">31/02/2026</span></div>
</div>
<a href="#top">Lên đầu trang</a> <a href="javascript:void(0)">In</a>
</body></html>"""


def test_link_pattern_titles_dedup_and_order() -> None:
    entries = parse_listing(
        LISTING, base_url="https://dukcqtw.dcs.vn/x.aspx", rules=ListRules(link_pattern=r"duk\d+")
    )
    assert [(e.url, e.title) for e in entries] == [
        ("https://dukcqtw.dcs.vn/a-duk1.aspx", "Hội nghị Ban Thường vụ Đảng ủy Khối"),
        ("https://dukcqtw.dcs.vn/b-duk2.aspx", "Tin B đầy đủ tiêu đề"),  # title attribute
        # c has neither text, title nor alt: still an entry, titled from its page later
        ("https://dukcqtw.dcs.vn/c-duk3.aspx", ""),
        ("https://dukcqtw.dcs.vn/d-duk4.aspx", "Tiêu đề xuống dòng"),
    ]
    assert entries[0].published_at is None  # <i> is not a date element of the card
    assert entries[3].published_at is None  # 31/02 is no date


def test_item_rules_with_title_and_date_selectors() -> None:
    rules = ListRules(item="div.row", title="a:not(:has(img))", date="i")
    entries = parse_listing(LISTING, base_url="https://dukcqtw.dcs.vn/", rules=rules)
    assert entries[0].title == "Hội nghị Ban Thường vụ Đảng ủy Khối"
    assert entries[0].published_at == datetime(2026, 11, 26, 1, 30, tzinfo=UTC)
    assert [e.url[-12:] for e in entries] == [
        "/a-duk1.aspx",
        "/b-duk2.aspx",
        "/c-duk3.aspx",
        "/d-duk4.aspx",
    ]


def test_img_alt_is_the_last_resort_title() -> None:
    html = '<div class="i"><a href="/x-duk9.aspx"><img alt="Chỉ có ảnh"></a></div>'
    entries = parse_listing(html, base_url="https://d.vn/", rules=ListRules(item="div.i"))
    assert [e.title for e in entries] == ["Chỉ có ảnh"]


def test_image_only_thumbnail_grid_gives_every_entry() -> None:
    """A grid of thumbnails without text: every matching link is an article."""
    cells = "".join(
        f'<div class="cell"><a href="/bai-viet-so-{i}-duk{100 + i}.aspx">'
        f'<img src="/anh/{i}.jpg"{extra}></a></div>'
        for i, extra in enumerate(["", ' alt=""', ' title="Tiêu đề từ ảnh"', ' alt="Ảnh alt"'])
    )
    html = f'<div class="grid">{cells}</div><a href="/gioi-thieu.aspx"><img src="l.png"></a>'
    for rules in (ListRules(link_pattern=r"-duk\d+\.aspx$"), ListRules(item="div.cell")):
        entries = parse_listing(html, base_url="https://d.vn/", rules=rules)
        assert [e.url.rsplit("-", 1)[1] for e in entries] == [
            "duk100.aspx",
            "duk101.aspx",
            "duk102.aspx",
            "duk103.aspx",
        ]
        assert [e.title for e in entries] == ["", "", "Tiêu đề từ ảnh", "Ảnh alt"]


def test_base_href_is_honoured() -> None:
    html = '<head><base href="https://dukcqtw.dcs.vn/tin/"></head><a href="a-duk5.aspx">Tin A</a>'
    entries = parse_listing(html, base_url="https://mirror.example/", rules=ListRules())
    assert entries[0].url == "https://dukcqtw.dcs.vn/tin/a-duk5.aspx"


def test_page_without_matches_is_empty_not_an_error() -> None:
    assert parse_listing("<html><body><p>Bảo trì</p></body></html>", base_url="https://d.vn/") == []
    assert parse_listing("", base_url="https://d.vn/", rules=ListRules(item=".x")) == []


@pytest.mark.parametrize(
    "rules",
    [ListRules(item="div[["), ListRules(item="div", link="a[[["), ListRules(link_pattern="(")],
)
def test_invalid_rules_raise_rules_error(rules: ListRules) -> None:
    with pytest.raises(RulesError):
        parse_listing(LISTING, base_url="https://d.vn/", rules=rules)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("26/11/2026", datetime(2026, 11, 25, 17, 0, tzinfo=UTC)),
        ("08:30 26/11/2026", datetime(2026, 11, 26, 1, 30, tzinfo=UTC)),
        ("26/11/2026 08:30", datetime(2026, 11, 26, 1, 30, tzinfo=UTC)),
        ("26/11/2026 | 1.234 lượt xem", datetime(2026, 11, 25, 17, 0, tzinfo=UTC)),
        ("26/11/2026 08:30 | 1.234", datetime(2026, 11, 26, 1, 30, tzinfo=UTC)),
        ("Thứ Năm, 26/11/2026, 8h05 (GMT+7)", datetime(2026, 11, 26, 1, 5, tzinfo=UTC)),
        ("Cập nhật lúc 23:59 ngày 1-1-2027", datetime(2027, 1, 1, 16, 59, tzinfo=UTC)),
        ("Ngày 5.6.2026", datetime(2026, 6, 4, 17, 0, tzinfo=UTC)),
        ("(20/11/2026)", datetime(2026, 11, 19, 17, 0, tzinfo=UTC)),
        ("31/02/2026", None),
        ("13/13/2026", None),
        ("00/00/0000", None),
        ("31/02/2026 hoặc 01/03/2026", datetime(2026, 2, 28, 17, 0, tzinfo=UTC)),
        ("1.234 lượt xem", None),
        ("26/11/20261", None),
        ("", None),
    ],
)
def test_parse_vn_date(text: str, expected: datetime | None) -> None:
    assert parse_vn_date(text) == expected


def test_parse_vn_date_other_zone() -> None:
    assert parse_vn_date("26/11/2026 08:30", tz="UTC") == datetime(2026, 11, 26, 8, 30, tzinfo=UTC)


def test_html_text() -> None:
    assert html_text('<a href="x"><img src="y"></a></br>Tin &amp; ảnh<br>Dòng hai') == (
        "Tin & ảnh Dòng hai"
    )
    assert html_text("<p>Hà <b>Nội</b>,</p><p>Huế</p>") == "Hà Nội, Huế"
    assert html_text("<script>alert(1)</script>Chữ") == "Chữ"
    assert html_text("Không có thẻ") == "Không có thẻ"


def test_html_texts_keeps_fragments_apart() -> None:
    fragments = [
        "<p>một <b>chưa đóng",
        "</div></td>hai",
        "<script>x = '</template>'",
        "ba &amp; bốn",
        "",
        "<table><tr><td>năm",
        "sáu",
    ]
    assert html_texts(fragments) == [
        "một chưa đóng",
        "hai",
        "",
        "ba & bốn",
        "",
        "năm",
        "sáu",
    ]


def fifty_item_listing() -> str:
    item = (
        '<div class="news-item"><a class="thumb" href="/tin-so-{i}-duk{i}.aspx">'
        '<img src="/u/{i}.jpg"'
        ' alt=""></a><h3><a class="title" href="/tin-so-{i}-duk{i}.aspx">Đảng ủy Khối triển khai'
        ' nhiệm vụ số {i} trong tháng 11</a></h3><span class="date">26/11/2026</span>'
        '<p class="sapo">'
        "Tóm tắt tin số {i}, viết dài cho giống trang thật của cổng thông tin.</p></div>"
    )
    body = "".join(item.format(i=1000 + i) for i in range(50))
    menu = "".join(f'<li><a href="/muc-{i}.aspx">Mục {i}</a></li>' for i in range(30))
    return (
        f'<html><body><ul class="menu">{menu}</ul><div class="list-news">{body}</div></body></html>'
    )


@pytest.mark.parametrize(
    "rules", [ListRules(), ListRules(item=".news-item", link="a.title", date=".date")]
)
def test_fifty_entry_listing_is_fast(rules: ListRules) -> None:
    html = fifty_item_listing()
    parse_listing(html, base_url="https://dukcqtw.dcs.vn/", rules=rules)
    started = time.perf_counter()
    entries = parse_listing(html, base_url="https://dukcqtw.dcs.vn/", rules=rules)
    elapsed = time.perf_counter() - started
    assert len(entries) == 50 and all(e.published_at for e in entries)
    # A few milliseconds in practice; the bound only catches something quadratic.
    assert elapsed < 0.1, f"50 entries took {elapsed * 1000:.1f} ms"
