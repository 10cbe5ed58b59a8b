"""RSS/Atom bytes -> entries, with feedparser (given bytes, never a URL or a path).

FeedError                 (feeds.errors) root
 └── ParseError           the document is not a feed, or is broken with nothing to show
"""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from feeds.charset import decode_html
from feeds.errors import FeedError, ParseError
from feeds.html import html_texts
from feeds.models import Entry
from feeds.text import MAX_BODY_CHARS, cap_text, clean_title
from feeds.urls import absolutize

__all__ = ["FeedError", "ParseError", "parse_feed"]

# feedparser flags these as bozo although the document parsed fine (a charset header that
# disagrees with the XML declaration, a text/html content type): not a reason to fail.
_XML_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])""")
_HARMLESS_BOZO: tuple[type[Exception], ...] = (feedparser.ThingsNobodyCaresAboutButMe,)


def parse_feed(content: bytes, *, url: str, content_type: str | None = None) -> list[Entry]:
    """The entries of an RSS or Atom document, in document order.

    ``url`` is the feed's URL (relative links resolve against it); ``content_type`` the HTTP
    header, whose charset feedparser weighs against the XML declaration. Entries without a
    link are skipped. A feed that feedparser flags as malformed but still reads (a raw ``&``)
    returns what it read. Raises :class:`ParseError` when the document is not a feed at all,
    or is broken and yielded no entries.
    """
    content, content_type = _as_utf8(content, content_type)
    headers = {"content-type": content_type} if content_type else {}
    # A BytesIO, not bytes: feedparser would open() short bytes as a file path.
    parsed = feedparser.parse(
        io.BytesIO(content),
        response_headers=headers,
        # We strip HTML to text ourselves and resolve links ourselves; both cost time.
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    entries: list[Any] = parsed.get("entries") or []
    exc = parsed.get("bozo_exception")
    broken = bool(parsed.get("bozo")) and not isinstance(exc, _HARMLESS_BOZO)
    if not entries and (not parsed.get("version") or broken):
        why = f": {exc}" if exc else ""
        what = "a broken feed with no entries" if parsed.get("version") else "not an RSS/Atom feed"
        raise ParseError(f"{url}: {what}{why}")
    items = [(item, link) for item in entries if (link := absolutize(item.get("link"), url))]
    # Titles and descriptions of the whole feed go through the HTML parser in one run.
    texts = html_texts([_markup(item, key) for item, _ in items for key in ("title", "summary")])
    return [
        Entry(
            url=link,
            title=clean_title(texts[2 * n]),
            published_at=_when(item.get("published_parsed") or item.get("updated_parsed")),
            guid=(item.get("id") or "").strip() or None,
            summary=cap_text(texts[2 * n + 1], MAX_BODY_CHARS),
        )
        for n, (item, link) in enumerate(items)
    ]


def _as_utf8(content: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """UTF-8 bytes and a charset-free content type for feedparser, for any legacy feed.

    feedparser falls back to windows-1252 for an undeclared legacy feed, which garbles
    windows-1258 Vietnamese; :func:`feeds.charset.decode_html` knows better. UTF-8 feeds (nearly
    all) pass through untouched.
    """
    try:
        content.decode("utf-8")
        return content, content_type
    except UnicodeDecodeError:
        pass
    text = decode_html(content, content_type)
    text = _XML_ENCODING.sub(r"\g<1>utf-8\g<2>", text, count=1)
    media_type = content_type.split(";")[0].strip() if content_type else None
    return text.encode("utf-8"), media_type


def _markup(item: Any, key: str) -> str:
    """The field as HTML: feedparser reports plain-text fields, which are escaped here."""
    value = item.get(key) or ""
    detail = item.get(f"{key}_detail") or {}
    return html.escape(value, quote=False) if detail.get("type") == "text/plain" else value


def _when(parsed: Any) -> datetime | None:
    # feedparser normalises every date it understands to a UTC struct_time.
    if not parsed:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None
