"""feeds.propose on listing pages written for the tests, imitating Dân trí, VnExpress and the
portal: article links mixed with tag, topic, category, video and pagination links with numbers."""

from __future__ import annotations

import re
import tomllib

from feeds.html import parse_listing
from feeds.models import ListRules
from feeds.propose import propose_source, source_toml

SLUGS = [
    "ha-noi-thi-diem-xe-buyt-dien-noi-san-bay",
    "gia-vang-hom-nay-tang-manh-sau-ky-nghi",
    "nong-dan-mien-tay-trung-mua-lua-thu-dong",
    "doi-tuyen-viet-nam-thang-dam-tai-my-dinh",
    "mua-lu-mien-trung-gay-thiet-hai-lon",
    "hoc-sinh-ha-noi-nghi-tet-nguyen-dan-9-ngay",
    "ngan-hang-giam-lai-suat-cho-vay-mua-nha",
    "chi-bo-vu-tai-chinh-sinh-hoat-chuyen-de",
]
TITLES = [s.replace("-", " ").capitalize() for s in SLUGS]


def _menu(links: list[tuple[str, str]]) -> str:
    items = "".join(f"<li><a href='{h}'>{t}</a></li>" for h, t in links)
    return f"<ul class='menu'>{items}</ul>"


def dantri_like() -> tuple[str, set[str]]:
    base = "https://baomau.example.vn"
    cats = ["the-thao", "kinh-doanh", "xa-hoi", "giao-duc"]
    articles = [
        f"/{cats[i % 4]}/{slug}-2026120{i % 9 + 1}0830001{i:02d}.htm"
        for i, slug in enumerate(SLUGS)
    ]
    cards = "".join(
        f"<article class='article-item'><a class='thumb' href='{u}'><img src='/i/{i}.jpg'></a>"
        f"<h3 class='article-title'><a href='{u}'>{TITLES[i]}</a></h3>"
        f"<div class='article-excerpt'>Mô tả ngắn của bài số {i}.</div></article>"
        for i, u in enumerate(articles)
    )
    noise = [
        ("/the-thao.htm", "Thể thao"),
        ("/kinh-doanh.htm", "Kinh doanh"),
        ("/tag/xe-buyt-2041.htm", "Xe buýt"),
        ("/tag/gia-vang-1203.htm", "Giá vàng"),
        ("/tag/lu-lut-mien-trung-9934.htm", "Lũ lụt miền Trung"),
        ("/su-kien/bao-lu-mien-trung-2026-1234.htm", "Bão lũ miền Trung 2026"),
        ("/video/clip-doi-tuyen-viet-nam-an-mung-chien-thang-20261201101500123.htm", "Clip"),
        ("/video-page/toan-canh-mua-lu-mien-trung-qua-flycam-20261201101500456.htm", "Video"),
        ("/the-thao/trang-2.htm", "2"),
        ("/the-thao/trang-3.htm", "3"),
        ("/the-thao/bong-da-viet-nam-12.htm", "Bóng đá Việt Nam"),
        ("/tac-gia/bao-ngoc-123.htm", "Bảo Ngọc"),
    ]
    html = (
        f"<html><body>{_menu(noise[:2])}<main><div class='article-list'>{cards}</div>"
        f"<div class='tags'>{_menu(noise[2:6])}</div>"
        f"<div class='video-box'>{_menu(noise[6:8])}</div>"
        f"<div class='pagination'>{_menu(noise[8:10])}</div>{_menu(noise[10:])}</main>"
        "<footer><a href='https://other.example.com/a-12345.htm'>Đối tác</a></footer></body></html>"
    )
    return html, {base + u for u in articles}


def vnexpress_like() -> tuple[str, set[str]]:
    base = "https://tinmau.example.net"
    articles = [f"/{slug}-48{i:05d}.html" for i, slug in enumerate(SLUGS)]
    items = "".join(
        f"<article class='item-news'><h3 class='title-news'><a href='{u}' title='{TITLES[i]}'>"
        f"{TITLES[i]}</a></h3><p class='description'><a href='{u}'>Tóm tắt {i}</a></p></article>"
        for i, u in enumerate(articles)
    )
    noise = [
        ("/thoi-su", "Thời sự"),
        ("/the-gioi-p2", "Trang 2"),
        ("/the-gioi-p3", "Trang 3"),
        ("/chu-de/xe-buyt-1234", "Xe buýt"),
        ("/chu-de/gia-vang-hom-nay-5678", "Giá vàng"),
        ("/chu-de/bau-cu-my-2026-9012", "Bầu cử Mỹ"),
        ("/tim-kiem?q=abc&page=2", "Tìm"),
    ]
    html = f"<html><body>{_menu(noise)}<section>{items}</section></body></html>"
    return html, {base + u for u in articles}


def portal_like() -> tuple[str, set[str]]:
    base = "https://dangbomau.example.vn"
    articles = [f"/{slug}-duk{3400 + i}.aspx" for i, slug in enumerate(SLUGS)]
    # Image-only thumbnails without alt, then the titles in a second list.
    thumbs = "".join(
        f"<td><a href='{u}'><img src='/Uploads/{i}.jpg'></a></td>"
        for i, u in enumerate(articles[:4])
    )
    rows = "".join(
        f"<tr><td><a class='title' href='{u}'>{TITLES[i]}</a>"
        f" <span class='date'>0{i % 9 + 1}/11/2026</span></td></tr>"
        for i, u in enumerate(articles[4:], 4)
    )
    noise = [
        ("/tin-tuc-su-kien.aspx", "Tin tức - Sự kiện"),
        ("/xay-dung-dang.aspx", "Xây dựng Đảng"),
        ("/van-ban.aspx?page=2", "2"),
        ("/album-anh-1024.aspx", "Album ảnh"),
        ("/dan-van-2018.aspx", "Dân vận 2018"),
        ("/video-1032.aspx", "Video"),
    ]
    html = (
        f"<html><body><form>{_menu(noise)}<table><tr>{thumbs}</tr></table>"
        f"<table class='list'>{rows}</table></form></body></html>"
    )
    return html, {base + u for u in articles}


def _check(page: tuple[str, set[str]], url: str) -> None:
    html, expected = page
    proposal = propose_source(html, url=url)
    assert proposal.link_pattern is not None, proposal.shapes
    assert set(proposal.article_urls) == expected, proposal.shapes
    # The pattern is what the poller will use: the listing parser finds exactly the articles.
    entries = parse_listing(html, base_url=url, rules=ListRules(link_pattern=proposal.link_pattern))
    assert {e.url for e in entries} == expected
    block = tomllib.loads(source_toml(proposal, source_id="thu", name="Thử"))
    source = block["sources"][0]
    assert source["list"]["link_pattern"] == proposal.link_pattern
    assert source["url"] == url and source["kind"] == "html"
    re.compile(source["list"]["link_pattern"])


def test_dantri_like_section() -> None:
    _check(dantri_like(), "https://baomau.example.vn/the-thao.htm")


def test_vnexpress_like_section() -> None:
    _check(vnexpress_like(), "https://tinmau.example.net/the-gioi")


def test_portal_like_section_with_image_only_links() -> None:
    _check(portal_like(), "https://dangbomau.example.vn/tin-tuc-su-kien.aspx")


def test_page_without_article_links_proposes_nothing() -> None:
    html = "<html><body>" + _menu([("/a.htm", "A"), ("/b.htm", "B"), ("/tag/x-1.htm", "X")])
    proposal = propose_source(html + "</body></html>", url="https://x.example.vn/")
    assert proposal.link_pattern is None and proposal.article_urls == ()
    assert "no article links" in source_toml(proposal, source_id="x", name="x")


def test_cards_with_dates_get_item_selectors_that_find_the_same_articles() -> None:
    base = "https://dangbomau.example.vn"
    cards = "".join(
        f"<div class='news-item'><a href='/{slug}-duk{500 + i}.aspx'><img src='/{i}.jpg'></a>"
        f"<h3><a href='/{slug}-duk{500 + i}.aspx'>{TITLES[i]}</a></h3>"
        f"<span class='date'>{10 + i}/11/2026 08:{10 + i}</span></div>"
        for i, slug in enumerate(SLUGS)
    )
    noise = _menu(
        [("/dan-van.aspx", "Dân vận"), ("/video-1032.aspx", "Video"), ("/trang-2.aspx", "2")]
    )
    html = f"<html><body>{noise}<div class='list-news'>{cards}</div></body></html>"
    proposal = propose_source(html, url=f"{base}/dan-van.aspx")
    assert (proposal.item, proposal.title, proposal.date) == ("div.news-item", "h3 a", "span.date")
    source = tomllib.loads(source_toml(proposal, source_id="dv", name="Dân vận"))["sources"][0]
    rules = ListRules(**source["list"])
    entries = parse_listing(html, base_url=f"{base}/dan-van.aspx", rules=rules)
    assert {e.url for e in entries} == set(proposal.article_urls) and len(entries) == len(SLUGS)
    assert entries[0].title == TITLES[0] and entries[0].published_at is not None
