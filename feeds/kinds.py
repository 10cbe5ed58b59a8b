"""Source types: the one table from a source's ``kind`` to how its listing is read.

A new type of source (a JSON API, a sitemap...) is one :class:`SourceType` row here, with its
parser in a module of its own; the configuration, the parse workers and the date rule read
the row, so nothing else needs to know the kind by name. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from feeds.charset import decode_html
from feeds.html import parse_listing
from feeds.models import Entry, Source
from feeds.rss import parse_feed

#: ``(source, content, url, content_type) -> entries``; runs in a parse worker
ListingParser = Callable[[Source, bytes, str, "str | None"], list[Entry]]


@dataclass(frozen=True)
class SourceType:
    """What a kind of source needs and how it is read."""

    kind: str
    parse: ListingParser
    #: the source needs a ``[sources.list]`` table (selectors or a link pattern)
    needs_list_rules: bool
    #: the listing's own date beats the article page's: a feed declares a date-time, while
    #: an HTML listing usually shows the day only
    listing_date_wins: bool


def _feed(source: Source, content: bytes, url: str, content_type: str | None) -> list[Entry]:
    return parse_feed(content, url=url, content_type=content_type)


def _listing(source: Source, content: bytes, url: str, content_type: str | None) -> list[Entry]:
    assert source.list is not None  # the configuration guarantees it (needs_list_rules)
    return parse_listing(decode_html(content, content_type), base_url=url, rules=source.list)


SOURCE_TYPES: dict[str, SourceType] = {
    "rss": SourceType("rss", _feed, needs_list_rules=False, listing_date_wins=True),
    "html": SourceType("html", _listing, needs_list_rules=True, listing_date_wins=False),
}


def source_type(kind: str) -> SourceType:
    """The row of ``kind``; :class:`KeyError` for a kind nobody wrote (config refuses those)."""
    return SOURCE_TYPES[kind]
