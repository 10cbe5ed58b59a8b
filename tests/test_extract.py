"""feeds.extract on captured-style pages (tests/data/*.html beside *.expected.json) and edge
cases."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feeds.charset import decode_html
from feeds.errors import FeedError, ParseError, RulesError
from feeds.extract import extract_article
from feeds.models import ArticleRules

DATA = Path(__file__).resolve().parent / "data"


def article_cases() -> list[tuple[Path, dict[str, Any], str]]:
    """(page, expectations, mode): every article page generically, and with its rules if any."""
    cases = []
    for expected in sorted(DATA.glob("*.expected.json")):
        spec = json.loads(expected.read_text(encoding="utf-8"))
        if spec["kind"] != "article":
            continue
        page = expected.with_name(expected.name.replace(".expected.json", ".html"))
        cases.append((page, spec, "generic"))
        if spec.get("rules"):
            cases.append((page, spec, "rules"))
    return cases


@pytest.mark.parametrize(
    ("page", "spec", "mode"),
    article_cases(),
    ids=[f"{p.stem}-{m}" for p, _, m in article_cases()],
)
def test_captured_article(page: Path, spec: dict[str, Any], mode: str) -> None:
    # Bytes through decode_html, as the poller does: the legacy page is windows-1258.
    html = decode_html(page.read_bytes(), spec.get("content_type"))
    rules = None
    if mode == "rules":
        rules = ArticleRules(**{**spec["rules"], "remove": tuple(spec["rules"].get("remove", ()))})
    now = datetime.fromisoformat(spec["now"]) if "now" in spec else None
    if "raises" in spec:
        with pytest.raises(ParseError):
            extract_article(html, url=spec["url"], rules=rules, now=now)
        return
    article = extract_article(html, url=spec["url"], rules=rules, now=now)
    assert article.title == spec["title"]
    expected_date = spec["published_at"]
    assert article.published_at == (
        datetime.fromisoformat(expected_date) if expected_date else None
    )
    body = article.body
    # Without selectors the page's lead (sapo) opens the body; a body selector may leave it out.
    if mode == "generic" and "generic_body_startswith" in spec:
        spec = {**spec, "body_startswith": spec["generic_body_startswith"]}
        spec.pop("paragraphs", None)
    assert body.startswith(spec["body_startswith"]), body[:200]
    assert body.endswith(spec["body_endswith"]), body[-200:]
    if "paragraphs" in spec:
        assert len(body.split("\n\n")) == spec["paragraphs"], body
    if mode == "generic":
        for field in ("title_from", "date_from", "body_from"):
            if field in spec:
                assert getattr(article, field) == spec[field], field
    for needle in spec.get("must_contain", []):
        assert needle in body
    for needle in spec.get("must_not_contain", []):
        assert needle not in body, needle
    assert unicodedata.is_normalized("NFC", body) and unicodedata.is_normalized(
        "NFC", article.title
    )
    assert "\n\n\n" not in body and body == body.strip()


def test_every_fixture_has_its_expectations() -> None:
    pages = {p.stem for p in DATA.glob("*.html")}
    specs = {p.name.removesuffix(".expected.json") for p in DATA.glob("*.expected.json")}
    assert pages == specs


# --- edge cases --------------------------------------------------------------------------------

URL = "https://dukcqtw.dcs.vn/tin-duk1.aspx"
PARAS = [
    "Chiều 25/11, Đảng ủy Khối tổ chức hội nghị quán triệt, "
    "triển khai các văn bản mới của Trung ương.",
    "Hội nghị đã nghe báo cáo viên trình bày những nội dung cơ bản, điểm mới của các quy định, "
    "hướng dẫn về công tác xây dựng Đảng.",
    "Các cấp ủy được yêu cầu xây dựng kế hoạch thực hiện, "
    "bảo đảm nghiêm túc, hiệu quả, đúng tiến độ.",
]
BODY = "".join(f"<p>{p}</p>" for p in PARAS)


def page(head: str = "", body: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


def test_error_page_without_article_is_a_parse_error() -> None:
    html = page(
        "<title>Thông báo - Đảng bộ Khối các cơ quan Trung ương</title>",
        '<div id="header"><ul class="menu"><li><a href="/">Trang chủ</a></li></ul></div>'
        "<div class='main'><p>Trang bạn yêu cầu không tồn tại hoặc đã bị xóa.</p></div>",
    )
    with pytest.raises(ParseError, match=URL) as info:
        extract_article(html, url=URL)
    assert isinstance(info.value, FeedError)
    with pytest.raises(ParseError):
        extract_article("", url=URL, fallback_title="Tiêu đề từ danh sách")


def test_heading_without_body_is_valid_with_an_empty_body() -> None:
    """A photo or video story: the page names the article but has no text worth keeping."""
    html = page(body="<h1>Chùm ảnh: Đại hội Đoàn Khối lần thứ IX</h1><img src='a.jpg'>")
    article = extract_article(html, url=URL)
    assert article.title == "Chùm ảnh: Đại hội Đoàn Khối lần thứ IX"
    assert article.body == ""


def test_fallback_title_when_the_page_has_none() -> None:
    article = extract_article(page(body=BODY), url=URL, fallback_title="  Tiêu đề\ntừ danh sách ")
    assert article.title == "Tiêu đề từ danh sách"
    assert article.body == "\n\n".join(PARAS)


def test_site_name_is_stripped_only_from_the_title_element() -> None:
    html = page("<title>Quán triệt văn bản mới | Đảng bộ Khối</title>", BODY)
    assert extract_article(html, url=URL).title == "Quán triệt văn bản mới"
    html = page('<meta property="og:title" content="Hà Nội - Huế: hai hội nghị">', BODY)
    assert extract_article(html, url=URL).title == "Hà Nội - Huế: hai hội nghị"
    # a separator with the longer part after it is part of the title
    html = page("<title>A - Hội nghị quán triệt các văn bản mới của Trung ương</title>", BODY)
    assert extract_article(html, url=URL).title.startswith("A - Hội nghị")


def test_logo_h1_in_the_header_is_not_the_title() -> None:
    html = page(
        "<title>Hội nghị quán triệt - Báo</title>",
        '<div id="header"><h1><a href="/">Đảng bộ Khối các cơ quan Trung ương</a></h1></div>'
        f'<div class="detail"><h1>Hội nghị quán triệt</h1>{BODY}</div>',
    )
    assert extract_article(html, url=URL).title == "Hội nghị quán triệt"


def test_date_from_meta_when_no_date_line() -> None:
    html = page(
        '<meta property="article:published_time" content="2026-11-25T15:00:00+07:00">',
        f"<h1>Quán triệt văn bản mới</h1>{BODY}",
    )
    assert extract_article(html, url=URL).published_at == datetime(2026, 11, 25, 8, tzinfo=UTC)
    html = page(
        body='<h1>Quán triệt</h1><span itemprop="datePublished"'
        f' content="2026-11-25T09:00:00">x</span>{BODY}'
    )
    # a naive timestamp is Vietnam time
    assert extract_article(html, url=URL).published_at == datetime(2026, 11, 25, 2, tzinfo=UTC)


def test_date_in_the_body_is_not_the_publication_date() -> None:
    html = page(body=f"<h1>Quán triệt văn bản mới</h1><div>{BODY}<p>Hạn chót 31/12/2026.</p></div>")
    assert extract_article(html, url=URL).published_at is None


def test_date_line_above_the_title() -> None:
    html = page(
        body=f'<div class="d"><span>Thứ Năm, 26/11/2026, 14:05</span><h1>Tin</h1></div>{BODY}'
    )
    assert extract_article(html, url=URL).published_at == datetime(2026, 11, 26, 7, 5, tzinfo=UTC)


def test_selectors_that_no_longer_match_fall_back_to_generic() -> None:
    html = (DATA / "portal_article.html").read_text(encoding="utf-8")
    rules = ArticleRules(title=".gone-title", date=".gone-date", body=".gone-body")
    generic = extract_article(html, url=URL)
    assert extract_article(html, url=URL, rules=rules) == generic
    assert generic.body.startswith("Năm 2026, công tác kiểm tra")  # the lead (sapo) first
    assert generic.body.split("\n\n")[1].startswith("Sáng 26/11")


def test_body_selector_list_joins_in_document_order() -> None:
    html = (DATA / "portal_article.html").read_text(encoding="utf-8")
    rules = ArticleRules(body=".detail-content, .detail-sapo")
    body = extract_article(html, url=URL, rules=rules).body
    assert body.startswith("Năm 2026, công tác kiểm tra, giám sát trong Đảng bộ Khối")
    assert body.split("\n\n")[1].startswith("Sáng 26/11")


def test_remove_rule_applies_before_extraction() -> None:
    html = page(
        body=f'<h1>Tin</h1><div class="c">{BODY}<p class="note">'
        "Ghi chú của ban biên tập về bài viết này, không phải nội dung.</p></div>"
    )
    rules = ArticleRules(body=".c", remove=(".note",))
    assert extract_article(html, url=URL, rules=rules).body == "\n\n".join(PARAS)


def test_related_lists_inside_the_content_are_dropped() -> None:
    html = page(
        body=f"<h1>Tin</h1><div class='noi-dung'>{BODY}"
        "<p><strong>Tin liên quan:</strong></p>"
        "<ul><li><a href='/a-duk2.aspx'>Một tin khác có tiêu đề khá dài về công tác Đảng</a></li>"
        "<li><a href='/b-duk3.aspx'>"
        "Một tin nữa có tiêu đề cũng khá dài về công tác dân vận</a></li></ul>"
        "<p>Xem thêm: <a href='/c-duk4.aspx'>Bài viết thứ ba về hội nghị quán triệt</a></p>"
        "<p><b>Nguyễn Thu Trang</b></p></div>"
    )
    assert extract_article(html, url=URL, rules=ArticleRules(body=".noi-dung")).body == "\n\n".join(
        PARAS
    )
    assert extract_article(html, url=URL).body == "\n\n".join(PARAS)


def test_caption_lines_and_image_tables_are_dropped() -> None:
    html = page(
        body=f"<h1>Tin</h1><div>{BODY}"
        "<table><tr><td><img src='x.jpg'></td></tr>"
        "<tr><td>Đồng chí Bí thư phát biểu.</td></tr></table>"
        "<p><em>Ảnh: Thu Trang</em></p><p>(Ảnh: TTXVN)</p></div>"
    )
    assert extract_article(html, url=URL).body == "\n\n".join(PARAS)


def test_br_separated_text_becomes_paragraphs() -> None:
    html = page(body=f"<h1>Tin</h1><div class='content'>{'<br><br>'.join(PARAS)}</div>")
    assert extract_article(html, url=URL).body == "\n\n".join(PARAS)


def test_link_dense_block_loses_to_the_article() -> None:
    links = "".join(
        f"<p><a href='/x{i}-duk{i}.aspx'>"
        f"Tin số {i}, một tiêu đề dài dài về hội nghị, tập huấn, kiểm tra</a></p>"
        for i in range(20)
    )
    html = page(body=f"<h1>Tin</h1><div class='links'>{links}</div><div class='story'>{BODY}</div>")
    assert extract_article(html, url=URL).body == "\n\n".join(PARAS)


def test_output_is_nfc_from_decomposed_input() -> None:
    html = unicodedata.normalize("NFD", page(body=f"<h1>Hội nghị</h1>{BODY}"))
    article = extract_article(html, url=URL)
    assert article.title == "Hội nghị"
    assert article.body == "\n\n".join(PARAS)


def test_invalid_selector_is_a_rules_error() -> None:
    with pytest.raises(RulesError):
        extract_article(page(body=BODY), url=URL, rules=ArticleRules(body="div[["))
    with pytest.raises(RulesError):
        extract_article(page(body=BODY), url=URL, rules=ArticleRules(remove=("p[[",)))


def test_related_heading_in_running_text_keeps_the_article() -> None:
    """The words alone in a text node of the content div: not a heading element to delete."""
    lines = "<br><br>".join(PARAS)
    html = page(
        body=f"<h1>Tin</h1><div class='content'>{lines}<br>Tin liên quan"
        "<ul><li><a href='/a-duk2.aspx'>Một tin khác</a></li></ul></div>"
    )
    assert extract_article(html, url=URL).body == "\n\n".join(PARAS)


# --- dates, provenance, robustness -------------------------------------------------------------

NOW = datetime(2026, 12, 2, 3, tzinfo=UTC)


def test_future_date_is_never_returned() -> None:
    html = page(
        '<meta property="article:published_time" content="2027-01-05T08:00:00+07:00">',
        f"<h1>Quán triệt văn bản mới</h1><div class='date'>05/01/2027 08:00</div>{BODY}",
    )
    article = extract_article(html, url=URL, now=NOW)
    assert article.published_at is None
    assert article.date_from == ""


def test_header_today_and_sidebar_times_are_not_the_date() -> None:
    html = page(
        body='<div class="header"><span class="today">Thứ Tư, 02/12/2026</span></div>'
        f"<div class='story'><h1>Quán triệt văn bản mới</h1>{BODY}</div>"
        '<aside class="sidebar"><time datetime="2026-12-02T08:00+07:00">08:00</time></aside>'
        '<div class="box-most-view"><time datetime="2026-12-01T08:00+07:00">1/12</time></div>'
    )
    assert extract_article(html, url=URL, now=NOW).published_at is None


def test_htmldate_reads_json_ld_when_our_rules_find_nothing() -> None:
    ld = '{"@type": "NewsArticle", "datePublished": "2026-11-28T09:30:00+07:00"}'
    html = page(
        f'<script type="application/ld+json">{ld}</script>', f"<h1>Quán triệt</h1>{BODY * 2}"
    )
    article = extract_article(html, url=URL, now=NOW)
    assert article.published_at == datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
    assert article.date_from == "generic"


def test_each_field_says_where_it_came_from() -> None:
    html = (DATA / "portal_article.html").read_text(encoding="utf-8")
    rules = ArticleRules(title=".detail-title", date=".gone-date", body=".detail-content")
    article = extract_article(html, url=URL, rules=rules)
    assert (article.title_from, article.date_from, article.body_from) == (
        "selector",
        "generic",
        "selector",
    )
    untitled = extract_article(page(body=BODY), url=URL, fallback_title="Từ danh sách")
    assert (untitled.title, untitled.title_from, untitled.body_from) == (
        "Từ danh sách",
        "listing",
        "generic",
    )


@pytest.mark.parametrize(
    "html",
    [
        "",
        "\x00\x01<<<>>>",
        "<html><body>" + "<div>" * 3000 + "chữ" + "</div>" * 3000 + "</body></html>",
        "<html><body><table><tr><td><p>Ô" + "<td>x" * 500 + "</table></body></html>",
        "<?xml version='1.0'?><rss><channel><item><title>x</title></item></channel></rss>",
        "<html><head><title>Ttl</title></head><body><h1>T</h1><script>var a='</p>';</script>"
        + "<p>"
        + "Câu văn dài, có dấu phẩy. " * 40
        + "</p></body></html>",
    ],
)
def test_nothing_but_parse_error_is_raised(html: str) -> None:
    try:
        article = extract_article(html, url=URL, now=NOW)
    except ParseError:
        return
    assert isinstance(article.body, str)
