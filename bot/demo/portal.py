"""The simulated portal the offline demo polls: section listings, article pages and RSS feeds of
a fictional "Đảng bộ Các cơ quan Đảng Trung ương" site, served from the bundled ``site/`` data,
with articles that arrive on a schedule and conditional GET. Tests script it (fake_portal.py).

Errors: ``DemoSiteError(ValueError)`` for a data file or article that does not make sense.
"""

from __future__ import annotations

import hashlib
import html
import re
import struct
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

#: Bundled data; located next to this module so it also works from an installed package.
SITE_DIR = Path(__file__).parent / "site"
ARTICLES_PATH = SITE_DIR / "articles.toml"
DEMO_CONFIG_PATH = SITE_DIR / "demo.toml"

#: The demo's bot configuration (topics and sources) with a ``{base_url}`` placeholder.
DEMO_CONFIG_TEMPLATE = DEMO_CONFIG_PATH.read_text(encoding="utf-8")

#: Section slug -> name, in menu order.
SECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "dan-van": "Dân vận",
        "tuyen-giao": "Tuyên giáo",
        "xay-dung-dang": "Xây dựng Đảng",
        "kiem-tra": "Kiểm tra",
    }
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SITE_NAME = "Đảng bộ Các cơ quan Đảng Trung ương"
_ALL_FEED = "tin-moi"
_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ARTICLE_PAGE_RE = re.compile(r"(?P<slug>.+)-duk(?P<id>\d+)")
_HOME_LATEST = 10
_SIDEBAR_SIZE = 3
_OTHER_NEWS_SIZE = 5
# Views are made up but must be stable, or every article page would get a new ETag per request.
_VIEWS_REFERENCE = datetime(2026, 12, 1, tzinfo=TZ)


class DemoSiteError(ValueError):
    """The bundled (or given) site data, or an article added to the portal, is inconsistent."""


@dataclass(frozen=True)
class DemoArticle:
    """One article of the simulated portal. ``published`` is aware, in Asia/Ho_Chi_Minh."""

    id: int
    section: str
    slug: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]
    byline: str
    published: datetime
    caption: str | None = None
    #: seconds after the portal starts before the article is visible (0 = from the start).
    appear_after: float = 0.0

    def __post_init__(self) -> None:
        if not _SLUG_RE.fullmatch(self.slug):
            raise DemoSiteError(
                f"article {self.id}: slug {self.slug!r} is not ASCII words joined by '-'"
            )
        if not self.title.strip() or not self.lead.strip():
            raise DemoSiteError(f"article {self.id}: empty title or lead")
        if not self.paragraphs or not all(p.strip() for p in self.paragraphs):
            raise DemoSiteError(f"article {self.id}: needs non-empty paragraphs")
        if self.published.tzinfo is None:
            raise DemoSiteError(f"article {self.id}: published must be timezone-aware")
        if self.appear_after < 0:
            raise DemoSiteError(f"article {self.id}: appear_after must not be negative")

    @property
    def path(self) -> str:
        """The article page's path, e.g. ``/ra-mat-to-dan-van-so-duk12006.aspx``."""
        return f"/{self.slug}-duk{self.id}.aspx"

    @property
    def image_path(self) -> str:
        return f"/images/{self.id}.jpg"


def load_site(path: Path | None = None) -> list[DemoArticle]:
    """Read the articles of the simulated portal (default: the bundled ``articles.toml``)."""
    path = ARTICLES_PATH if path is None else path
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DemoSiteError(f"{path}: {exc}") from exc
    raw_articles = data.get("articles")
    if not isinstance(raw_articles, list) or not raw_articles:
        raise DemoSiteError(f"{path}: no [[articles]]")
    articles = [
        _parse_article(raw, f"{path}, article #{n}") for n, raw in enumerate(raw_articles, 1)
    ]
    _check_unique_known(articles)
    return articles


def _parse_article(raw: Any, where: str) -> DemoArticle:
    try:
        caption = raw.get("caption")
        return DemoArticle(
            id=int(raw["id"]),
            section=str(raw["section"]),
            slug=str(raw["slug"]),
            title=str(raw["title"]),
            lead=str(raw["lead"]),
            paragraphs=tuple(str(p) for p in raw["paragraphs"]),
            byline=str(raw["byline"]),
            published=datetime.strptime(raw["published"], "%d/%m/%Y %H:%M").replace(tzinfo=TZ),
            caption=None if caption is None else str(caption),
            appear_after=float(raw.get("appear_after", 0)),
        )
    except DemoSiteError as exc:
        raise DemoSiteError(f"{where}: {exc}") from exc
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise DemoSiteError(f"{where}: {type(exc).__name__}: {exc}") from exc


def _check_unique_known(articles: Iterable[DemoArticle]) -> None:
    seen: set[int] = set()
    for a in articles:
        if a.section not in SECTIONS:
            raise DemoSiteError(f"article {a.id}: unknown section {a.section!r}")
        if a.id in seen:
            raise DemoSiteError(f"article {a.id}: duplicate id")
        seen.add(a.id)


def demo_config_text(base_url: str) -> str:
    """The demo's TOML configuration (topics and sources) pointed at ``base_url``."""
    # str.replace, not str.format: a regex quantifier or an inline table in the template
    # would otherwise be taken for a format field.
    return DEMO_CONFIG_TEMPLATE.replace("{base_url}", base_url.rstrip("/"))


# --------------------------------------------------------------------------- the portal


def _placeholder_jpeg() -> bytes:
    """A valid 8x8 mid-grey baseline JPEG, built by hand so no imaging library is needed."""

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload

    one_code = b"\x01" + b"\x00" * 15 + b"\x00"  # a Huffman table with one 1-bit code for symbol 0
    return (
        b"\xff\xd8"
        + segment(0xDB, b"\x00" + b"\x01" * 64)  # quantisation table: all ones
        + segment(0xC0, b"\x08" + struct.pack(">HH", 8, 8) + b"\x01\x01\x11\x00")  # 8x8, grey
        + segment(0xC4, b"\x00" + one_code)  # DC table
        + segment(0xC4, b"\x10" + one_code)  # AC table
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"  # DC difference 0, then end-of-block; padded with ones
        + b"\xff\xd9"
    )


_JPEG = _placeholder_jpeg()


class DemoPortal:
    """The simulated portal. ``app`` is its ASGI application.

    An article is visible once ``clock() - t0 >= appear_after``, where ``t0`` is the clock's
    value when the portal was built; invisible articles are absent from every page and feed and
    their pages answer 404.
    """

    def __init__(
        self, articles: Sequence[DemoArticle], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._t0 = clock()
        self._articles: dict[int, DemoArticle] = {}
        self.sections: Mapping[str, str] = SECTIONS
        for article in articles:
            self._add(article)
        self.app: ASGIApp = Starlette(
            routes=[
                Route("/", self._home),
                Route("/rss/{feed}.rss", self._rss),
                Route("/images/{article_id:int}.jpg", self._image),
                Route("/{page}.aspx", self._aspx),
                Route("/{rest:path}", self._not_found),
            ],
        )

    def _add(self, article: DemoArticle) -> None:
        """Add an article; its ``appear_after`` counts from the portal's start."""
        if article.id in self._articles:
            raise DemoSiteError(f"article {article.id}: duplicate id")
        _check_unique_known([article])
        self._articles[article.id] = article

    def visible(self, section: str | None = None) -> list[DemoArticle]:
        """Visible articles (of one section, or all), newest first."""
        found = [
            a
            for a in self._articles.values()
            if (section is None or a.section == section) and self._is_visible(a)
        ]
        return sorted(found, key=lambda a: (a.published, a.id), reverse=True)

    def _is_visible(self, article: DemoArticle) -> bool:
        return self._clock() - self._t0 >= article.appear_after

    # ----------------------------------------------------------------- routes

    async def _home(self, request: Request) -> Response:
        latest = self.visible()
        boxes = []
        for slug, name in self.sections.items():
            items = "".join(
                f'<li><a href="{_e(a.path)}">{_e(a.title)}</a></li>' for a in self.visible(slug)[:3]
            )
            boxes.append(
                f'<div class="section-box"><h2><a href="/{_e(slug)}.aspx">{_e(name)}</a></h2>'
                f"<ul>{items}</ul></div>"
            )
        body = (
            '<div class="main"><h2>Tin mới nhất</h2><div class="list-news">\n'
            + "\n".join(self._news_item(a) for a in latest[:_HOME_LATEST])
            + "\n</div>\n"
            + "\n".join(boxes)
            + "\n</div>"
        )
        page = self._page(SITE_NAME, body)
        return _conditional(request, page, "text/html; charset=utf-8", _newest(latest))

    async def _aspx(self, request: Request) -> Response:
        page = request.path_params["page"]
        if page in self.sections:
            return self._listing(request, page)
        m = _ARTICLE_PAGE_RE.fullmatch(page)
        if m is None:
            return self._not_found_response()
        article = self._articles.get(int(m["id"]))
        if article is None or article.slug != m["slug"] or not self._is_visible(article):
            return self._not_found_response()
        return self._article(request, article)

    def _listing(self, request: Request, section: str) -> Response:
        own = self.visible(section)
        others = [a for a in self.visible() if a.section != section]
        # "Featured" = most viewed, which keeps freshly arrived articles out of the sidebar, as
        # on the real site; the sidebar still puts other sections' links on every listing.
        featured = sorted(others, key=lambda a: (_views(a), a.id), reverse=True)[:_SIDEBAR_SIZE]
        sidebar = "".join(f'<li><a href="{_e(a.path)}">{_e(a.title)}</a></li>' for a in featured)
        body = (
            '<div class="main"><div class="list-news">\n'
            + "\n".join(self._news_item(a) for a in own)
            + "\n</div></div>\n"
            + f'<div class="sidebar"><h2>Tin nổi bật</h2><ul>{sidebar}</ul></div>'
        )
        page = self._page(f"{self.sections[section]} - {SITE_NAME}", body)
        return _conditional(request, page, "text/html; charset=utf-8", _newest(own))

    def _article(self, request: Request, a: DemoArticle) -> Response:
        content = [f"<p>{_e(p)}</p>" for p in a.paragraphs]
        if a.caption:
            figure = (
                f'<table class="image"><tr><td><img src="{_e(a.image_path)}" alt=""></td></tr>'
                f'<tr><td class="caption">{_e(a.caption)}</td></tr></table>'
            )
            content.insert(min(2, len(content)), figure)
        content.append(f'<p style="text-align:right"><strong>{_e(a.byline)}</strong></p>')
        others = [o for o in self.visible(a.section) if o.id != a.id][:_OTHER_NEWS_SIZE]
        other_news = "".join(
            f'<li><a href="{_e(o.path)}">{_e(o.title)}</a> ({_date(o)})</li>' for o in others
        )
        body = (
            f'<div class="breadcrumb"><a href="/">Trang chủ</a> » '
            f'<a href="/{_e(a.section)}.aspx">{_e(self.sections[a.section])}</a></div>\n'
            f'<div class="detail"><h1 class="detail-title">{_e(a.title)}</h1>'
            f'<div class="detail-meta">{_datetime(a)} | Lượt xem: {_views_text(a)}</div>'
            f'<div class="detail-sapo"><strong>{_e(a.lead)}</strong></div>\n'
            f'<div class="detail-content">\n' + "\n".join(content) + "\n</div>\n"
            f'<div class="other-news"><h3>Các bài viết khác</h3><ul>{other_news}</ul></div></div>'
        )
        head = (
            f'<meta property="og:title" content="{_e(a.title)}">\n'
            f'<meta property="og:description" content="{_e(a.lead)}">\n'
            f'<meta property="article:published_time" content="{a.published.isoformat()}">\n'
        )
        page = self._page(f"{a.title} - {SITE_NAME}", body, head=head)
        return _conditional(request, page, "text/html; charset=utf-8", a.published)

    async def _rss(self, request: Request) -> Response:
        feed = request.path_params["feed"]
        if feed == _ALL_FEED:
            items, name, link = self.visible(), "Tin mới", "/"
        elif feed in self.sections:
            items, name, link = self.visible(feed), self.sections[feed], f"/{feed}.aspx"
        else:
            return self._not_found_response()
        base = str(request.base_url).rstrip("/")
        newest = _newest(items)
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
            f"<title>{_x(f'{SITE_NAME} - {name}')}</title>\n"
            f"<link>{_x(base + link)}</link>\n"
            f"<description>{_x(f'Tin mới chuyên mục {name}')}</description>\n"
            "<language>vi-VN</language>\n"
            f'<atom:link href="{_e(f"{base}/rss/{feed}.rss")}" rel="self" '
            'type="application/rss+xml"/>\n'
        ]
        if newest is not None:
            parts.append(f"<lastBuildDate>{format_datetime(newest)}</lastBuildDate>\n")
        for a in items:
            url = base + a.path
            description = (
                f'<a href="{_e(url)}"><img src="{_e(base + a.image_path)}"></a></br>{_e(a.lead)}'
            )
            parts.append(
                "<item>\n"
                f"<title>{_x(a.title)}</title>\n"
                f"<link>{_x(url)}</link>\n"
                f'<guid isPermaLink="false">{a.id}</guid>\n'
                f"<pubDate>{format_datetime(a.published)}</pubDate>\n"
                f"<description>{_cdata(description)}</description>\n"
                "</item>\n"
            )
        parts.append("</channel>\n</rss>\n")
        return _conditional(request, "".join(parts), "application/rss+xml; charset=utf-8", newest)

    async def _image(self, request: Request) -> Response:
        article = self._articles.get(request.path_params["article_id"])
        if article is None or not self._is_visible(article):
            return self._not_found_response()
        return _conditional(request, _JPEG, "image/jpeg", article.published)

    async def _not_found(self, request: Request) -> Response:
        return self._not_found_response()

    # ----------------------------------------------------------------- rendering

    def _not_found_response(self) -> Response:
        body = (
            '<div class="main"><h1>Không tìm thấy trang</h1>'
            "<p>Trang bạn tìm không tồn tại hoặc chưa được xuất bản. "
            '<a href="/">Về trang chủ</a></p></div>'
        )
        page = self._page(f"Không tìm thấy trang - {SITE_NAME}", body)
        return Response(page, status_code=404, media_type="text/html; charset=utf-8")

    def _page(self, title: str, body: str, *, head: str = "") -> str:
        menu = "".join(
            f'<li><a href="/{_e(slug)}.aspx">{_e(name)}</a></li>'
            for slug, name in self.sections.items()
        )
        return (
            '<!DOCTYPE html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{_e(title)}</title>\n{head}</head>\n<body>\n"
            f'<div id="header"><ul class="menu">{menu}</ul></div>\n'
            f"{body}\n"
            '<div id="footer"><p>Trang thông tin điện tử Đảng bộ Các cơ quan Đảng Trung ương '
            "(bản mô phỏng)</p><p>Trang mô phỏng phục vụ chạy thử; nội dung và nhân vật là hư cấu."
            "</p></div>\n</body>\n</html>\n"
        )

    @staticmethod
    def _news_item(a: DemoArticle) -> str:
        return (
            f'<div class="news-item"><a class="thumb" href="{_e(a.path)}">'
            f'<img src="{_e(a.image_path)}" alt=""></a>'
            f'<h3><a class="title" href="{_e(a.path)}">{_e(a.title)}</a></h3>'
            f'<span class="date">{_date(a)}</span><p class="sapo">{_e(a.lead)}</p></div>'
        )


# --------------------------------------------------------------------------- helpers


def _e(s: str) -> str:
    return html.escape(s, quote=True)


def _x(s: str) -> str:
    """XML character data (html.escape's entities are the XML ones for these three)."""
    return html.escape(s, quote=False)


def _cdata(s: str) -> str:
    return "<![CDATA[" + s.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _date(a: DemoArticle) -> str:
    return a.published.strftime("%d/%m/%Y")


def _datetime(a: DemoArticle) -> str:
    return a.published.strftime("%d/%m/%Y %H:%M")


def _views(a: DemoArticle) -> int:
    hours = max(0, int((_VIEWS_REFERENCE - a.published).total_seconds() // 3600))
    return 40 + 3 * hours + (a.id * 7919) % 300


def _views_text(a: DemoArticle) -> str:
    return f"{_views(a):,}".replace(",", ".")  # Vietnamese thousands separator


def _newest(articles: Sequence[DemoArticle]) -> datetime | None:
    return max((a.published for a in articles), default=None)


def _http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)


def _conditional(
    request: Request, body: str | bytes, media_type: str, last_modified: datetime | None
) -> Response:
    """A 200 with a strong ETag (hash of the body) and Last-Modified, or a bare 304."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if last_modified is not None:
        headers["Last-Modified"] = _http_date(last_modified)
    if _not_modified(request, etag, last_modified):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


def _not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    # RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since only counts without it.
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip() for t in inm.split(",")]
        # Weak comparison, as If-None-Match requires.
        return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
    ims = request.headers.get("if-modified-since")
    if ims is None or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False  # an unparsable date is ignored, as the RFC says
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    # HTTP dates have whole seconds.
    return last_modified.replace(microsecond=0) <= since
