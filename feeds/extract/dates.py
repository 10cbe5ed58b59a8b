"""The publication time: a site selector, the Vietnamese date line by the title, the page's
metadata, then htmldate on the metadata and URL alone. Never a future time, never page chrome."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Literal

from selectolax.lexbor import LexborHTMLParser, LexborNode

from feeds.html import css_first, parse_iso_date, parse_vn_date

from .title import in_chrome
from .tree import element_siblings

log = logging.getLogger(__name__)

Found = Literal["selector", "generic", ""]

_META_DATES = (
    "meta[property='article:published_time']",
    "meta[itemprop='datePublished']",
    "[itemprop='datePublished'][datetime]",
    "[itemprop='datePublished'][content]",
    "meta[property='og:published_time']",
    "meta[name='pubdate']",
    "meta[name='publishdate']",
    "meta[name='date']",
    "meta[name='dc.date' i]",
    "article time[datetime]",
)
# How far from the title the "DD/MM/YYYY | views" line may sit.
_NEAR_SIBLINGS = 6
_NEAR_LEVELS = 3
_SHORT_TEXT = 200
# A paragraph this long is running text: the body has started.
_SENTENCE = 80
# A clock a little behind the publisher's is not a "future" date.
_SKEW = timedelta(hours=1)
_SIDEBAR = (
    "sidebar",
    "widget",
    "most",
    "xem-nhieu",
    "doc-nhieu",
    "related",
    "lien-quan",
    "box-right",
    "tin-khac",
    "tin-moi",
    "other",
)


def find_date(
    tree: LexborHTMLParser,
    rules_date: str | None,
    title_node: LexborNode | None,
    *,
    now: datetime,
    url: str,
) -> tuple[datetime | None, Found]:
    """(UTC publication time or None, where it came from); call before the body is cleaned."""
    latest = now + _SKEW

    def ok(when: datetime | None) -> bool:
        return when is not None and when <= latest

    if rules_date:
        node = css_first(tree, rules_date)
        when = element_date(node) if node is not None else None
        if ok(when):
            return when, "selector"
    if title_node is not None:
        when = _date_near(title_node)
        if ok(when):
            return when, "generic"
    for selector in _META_DATES:
        for node in tree.css(selector):
            value = node.attributes.get("content") or node.attributes.get("datetime") or ""
            when = parse_iso_date(value) if value else None
            if ok(when):
                return when, "generic"
    for node in tree.css("time[datetime]"):
        # A <time> outside the article: only when it is not the header's clock or a sidebar's.
        if in_chrome(node) or _in_sidebar(node):
            continue
        when = element_date(node)
        if ok(when):
            return when, "generic"
    when = _htmldate(tree, url, latest)
    return (when, "generic") if ok(when) else (None, "")


def element_date(node: LexborNode) -> datetime | None:
    """A date in a short element: a machine-readable datetime first, else its text."""
    for el in (node, *node.css("time[datetime]")):
        value = el.attributes.get("datetime")
        if value and (when := parse_iso_date(value)) is not None:
            return when
    return parse_vn_date(node.text())


def _in_sidebar(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html"):
        if _is_side_box(parent):
            return True
        parent = parent.parent
    return False


def _is_side_box(node: LexborNode) -> bool:
    if node.tag in ("aside", "nav", "footer"):
        return True
    attrs = node.attributes
    names = f"{attrs.get('id') or ''} {attrs.get('class') or ''}".lower()
    return any(word in names for word in _SIDEBAR)


def _date_near(title: LexborNode) -> datetime | None:
    """The date line right under (or just above) the title, before the body starts."""
    node: LexborNode | None = title
    body_started = False
    for _ in range(_NEAR_LEVELS):
        if node is None or node.tag in ("body", "html") or body_started:
            break
        for sib in element_siblings(node, forward=True, limit=_NEAR_SIBLINGS):
            if _is_side_box(sib):
                continue
            size = len(sib.text())
            if size > _SHORT_TEXT or (sib.tag == "p" and size > _SENTENCE):
                # The body has started; a date in its text is about something else.
                stamp = sib.css_first("time[datetime]")
                if stamp is not None and (when := element_date(stamp)) is not None:
                    return when
                body_started = True
                break
            when = element_date(sib)
            if when is not None:
                return when
        node = node.parent
    for sib in element_siblings(title, forward=False, limit=2):
        if len(sib.text()) <= _SHORT_TEXT and (when := element_date(sib)) is not None:
            return when
    return None


def _htmldate(tree: LexborHTMLParser, url: str, latest: datetime) -> datetime | None:
    """htmldate on the page's metadata (head, JSON-LD) and URL: never on its visible text,
    where the header's "today" and the sidebars' times sit."""
    try:
        from htmldate import find_date as htmldate_find
    except ImportError:  # optional at run time: the rules above cover most pages
        return None
    head = tree.head.html if tree.head is not None else ""
    scripts = "".join(n.html or "" for n in tree.css("body script[type='application/ld+json']"))
    doc = f"<html>{head}<body>{scripts}</body></html>"
    try:
        found = htmldate_find(
            doc,
            url=url or None,
            extensive_search=False,
            original_date=True,
            outputformat="%Y-%m-%dT%H:%M:%S%z",
            max_date=latest.strftime("%Y-%m-%d"),
        )
    except Exception as exc:  # a third-party parser: one odd page must not cost the article
        log.debug("htmldate failed on %s: %s", url, exc)
        return None
    return parse_iso_date(found) if found else None
