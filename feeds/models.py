"""Value types of the feed pipeline: source specs, listing entries, extracted articles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

#: the kinds of :data:`feeds.kinds.SOURCE_TYPES` (a new kind is added in both places)
SourceKind = Literal["rss", "html"]


@dataclass(frozen=True)
class Topic:
    """A subject members subscribe to; ``keywords`` also pull in articles from other sources."""

    slug: str
    name: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListRules:
    """How to find entries on an HTML listing page.

    Either ``item`` (CSS selector of one entry) with ``link``/``title``/``date`` selectors
    relative to it, or ``link_pattern``: a regex that article hrefs on the page match.
    """

    item: str | None = None
    link: str | None = None
    title: str | None = None
    date: str | None = None
    link_pattern: str | None = None


@dataclass(frozen=True)
class ArticleRules:
    """Optional selectors for the article page; missing ones fall back to the generic extractor."""

    title: str | None = None
    date: str | None = None
    body: str | None = None
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """One configured source: an RSS/Atom feed or an HTML listing page."""

    id: str
    name: str
    kind: SourceKind
    url: str
    topics: tuple[str, ...] = ()
    interval: int = 900
    enabled: bool = True
    list: ListRules | None = None
    article: ArticleRules | None = None
    #: fetch each new entry's page for the body; off for feeds whose description suffices.
    fetch_articles: bool = True
    #: regex with one group: the portal's own article id in a URL (dedup key).
    id_pattern: str | None = None
    #: show a link preview under pushed messages (channels that support it).
    link_preview: bool = True
    #: fetch from private, loopback, link-local... addresses (an intranet portal, the demo).
    allow_private: bool = False
    #: with ``allow_private``: hosts besides the source's own site that article pages may be
    #: fetched from (``*.x`` allowed); a source without it fetches any public host.
    article_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One item of a listing or feed, before its article page is fetched."""

    url: str
    title: str
    published_at: datetime | None = None
    guid: str | None = None
    summary: str = ""


#: Where an extracted field came from: the source's ``[sources.article]`` selector, the
#: generic extractor, the listing entry (a title only), or nowhere ("": the field is empty).
FieldOrigin = Literal["selector", "generic", "listing", ""]


@dataclass(frozen=True)
class ExtractedArticle:
    """What the extractor found on an article page. ``published_at`` is UTC.

    The ``*_from`` fields say where each field came from, so an admin knows what to configure.
    """

    title: str
    published_at: datetime | None
    body: str
    title_from: FieldOrigin = ""
    date_from: FieldOrigin = ""
    body_from: FieldOrigin = ""
