"""HTML listing pages -> entries (selectolax), Vietnamese date lines, HTML fragments -> text.

    FeedError                 (feeds.errors) root
     └── RulesError           a configured selector or link pattern is invalid
A listing with no entries is not an error here: the caller knows whether it used to have some.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from feeds.depth import cap_depth
from feeds.errors import ParseError, RulesError
from feeds.models import Entry, ListRules
from feeds.text import MAX_BODY_CHARS, cap_text, clean_title, normalize
from feeds.urls import DEFAULT_ID_PATTERN, absolutize

__all__ = [
    "ParseError",
    "RulesError",
    "html_text",
    "html_texts",
    "node_text",
    "parse_iso_date",
    "parse_listing",
    "parse_vn_date",
]

#: Without ``item`` or ``link_pattern``, anchors to the portal's article URLs are the entries.
DEFAULT_LINK_PATTERN = DEFAULT_ID_PATTERN

_DATE = re.compile(r"(?<!\d)(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?!\d)")
# 08:30, 8h30, 08:30:15; not 1.234 (a view count) nor part of another date.
_TIME = re.compile(r"(?<![\d.,:/])([01]?\d|2[0-3])\s?[:hH]\s?([0-5]\d)(?::([0-5]\d))?(?![\d/:])")
_TIME_WINDOW = 25
# A news date outside this is a misread number, and year 1 would overflow the UTC conversion.
_MIN_YEAR, _MAX_YEAR = 1900, 2200
_DIGIT = re.compile(r"\d")
# Block-level tags: text on either side of them is not one word.
_BLOCK_TAG = re.compile(r"<(/?(?:br|p|div|li|h[1-6]|tr|td|th|blockquote|section|article)\b)", re.I)
_BREAKING = frozenset(
    {"br", "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "blockquote"}
)
_RAW_TEXT = re.compile(
    r"<(?:script|style|textarea|title|xmp|plaintext|noscript|noembed|noframes|iframe|template"
    r"|/template|!--)",
    re.IGNORECASE,
)
# Where a listing card usually keeps its date and its lead.
_DATE_NODES = "time[datetime], [class*='date' i], [class*='time' i], [class*='ngay' i]"
_LEAD_NODES = "[class*='sapo' i], [class*='summary' i], [class*='lead' i], [class*='desc' i]"
# An anchor's card is its highest ancestor (this many levels at most) linking no other article.
_CARD_DEPTH = 4


def parse_listing(html: str, *, base_url: str, rules: ListRules | None = None) -> list[Entry]:
    """The entries of a listing page in page order, one per article URL.

    With ``rules.item`` each matching node is an entry: link ``rules.link`` (default
    ``a[href]``), title ``rules.title`` or the link's text, date ``rules.date``. Otherwise every
    ``a[href]`` whose absolute URL matches ``rules.link_pattern`` (default: the portal's
    ``-duk{id}.aspx``) is one. Entries repeated under one URL (an image link and a title
    link) merge, keeping the longest title. A link without text (a thumbnail) titles itself
    from its ``title`` attribute or its image's ``alt``/``title``; with none, the entry is
    kept with an empty title, which the article page fills in. Raises
    :class:`RulesError` for an invalid selector or pattern. ``rules=None`` is ``ListRules()``.
    """
    rules = rules or ListRules()
    tree = LexborHTMLParser(cap_depth(html))
    resolve = _resolver(_document_base(tree, base_url))
    if rules.item:
        cards = [
            (card, url, title)
            for card in css(tree, rules.item)
            for url, title in [_item_link(card, resolve, rules)]
            if url
        ]
    else:
        cards = _pattern_cards(tree, resolve, rules.link_pattern or DEFAULT_LINK_PATTERN)
    merged: dict[str, tuple[LexborNode, str]] = {}
    for card, url, title in cards:
        seen = merged.get(url)
        # Dicts keep first-insertion order, so page order survives the merge.
        if seen is None or len(title) > len(seen[1]):
            merged[url] = (seen[0] if seen else card, title)
    entries = []
    for url, (card, title) in merged.items():
        entries.append(
            Entry(
                url=url,
                title=clean_title(title),
                published_at=_card_date(card, rules.date if rules.item else None),
                summary=cap_text(_card_lead(card, title), MAX_BODY_CHARS),
            )
        )
    return entries


def parse_vn_date(text: str, *, tz: str = "Asia/Ho_Chi_Minh") -> datetime | None:
    """The first valid ``DD/MM/YYYY`` in ``text``, with a nearby ``HH:MM`` if any, as UTC.

    The time may come before or after the date ("08:30 26/11/2026", "26/11/2026 08:30",
    "26/11/2026 | 1.234 lượt xem" has none). ``-`` and ``.`` separators work too. Times are
    local to ``tz``; a date alone means local midnight. Impossible dates are skipped.
    """
    for m in _DATE.finditer(text):
        day, month, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            continue
        hour, minute, second = _nearby_time(text, m.start(), m.end())
        try:
            local = datetime(year, month, day, hour, minute, second, tzinfo=_zone(tz))
        except ValueError:
            continue
        return local.astimezone(UTC)
    return None


def html_text(fragment: str) -> str:
    """The text of an HTML fragment, normalised to one line (block tags become spaces)."""
    if "<" not in fragment and "&" not in fragment:
        return normalize(fragment)
    tree = LexborHTMLParser(_spaced(cap_depth(fragment)))
    for node in tree.css("script, style, template"):
        node.decompose()
    return normalize(tree.body.text()) if tree.body is not None else ""


def html_texts(fragments: Sequence[str]) -> list[str]:
    """:func:`html_text` of many fragments (a feed's descriptions) with one parser run.

    A parser run has a fixed cost that dwarfs a short fragment, so the fragments are parsed
    as one document of ``<template>`` elements, whose contents the HTML parser keeps apart
    even when a fragment leaves tags unclosed. Fragments with raw-text elements (a stray
    ``<script>`` or ``<!--`` could swallow the next fragment) are parsed on their own.
    """
    out: list[str] = []
    batch: list[int] = []
    alone: list[int] = []
    for i, fragment in enumerate(fragments):
        out.append(normalize(fragment))
        if "<" in fragment or "&" in fragment:
            (alone if _RAW_TEXT.search(fragment) else batch).append(i)
    if batch:
        doc = "".join(f"<template>{_spaced(cap_depth(fragments[i]))}</template>" for i in batch)
        parts = LexborHTMLParser(doc).template_fragments()
        if len(parts) == len(batch):
            for i, part in zip(batch, parts, strict=True):
                out[i] = normalize(part.text())
        else:  # not expected; but never risk giving one entry another's text
            alone.extend(batch)
    for i in alone:
        out[i] = html_text(fragments[i])
    return out


def node_text(node: LexborNode) -> str:
    """Normalised text of a node; a ``<br>`` or block child separates words."""
    descendants = node.traverse()
    next(descendants, None)  # the node itself
    if any(d.tag in _BREAKING for d in descendants):
        return html_text(node.html or "")
    return normalize(node.text())


def parse_iso_date(value: str, *, tz: str = "Asia/Ho_Chi_Minh") -> datetime | None:
    """An ISO 8601 timestamp as UTC (naive ones are local to ``tz``), else a Vietnamese date."""
    value = value.strip()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return parse_vn_date(value, tz=tz)
    if when.tzinfo is None:
        when = when.replace(tzinfo=_zone(tz))
    return when.astimezone(UTC)


# --- helpers -----------------------------------------------------------------------------------


def _spaced(fragment: str) -> str:
    # A space before every block tag, so "lead</p><p>next" does not become "leadnext".
    return _BLOCK_TAG.sub(r" <\1", fragment)


def css(node: LexborHTMLParser | LexborNode, selector: str) -> list[LexborNode]:
    """``node.css(selector)``, with an invalid selector reported as :class:`RulesError`."""
    try:
        return list(node.css(selector))
    except SelectolaxError as exc:
        raise RulesError(f"invalid CSS selector {selector!r}: {exc}") from exc


def css_first(node: LexborHTMLParser | LexborNode, selector: str) -> LexborNode | None:
    """``node.css_first(selector)``, with an invalid selector reported as :class:`RulesError`."""
    try:
        return node.css_first(selector)
    except SelectolaxError as exc:
        raise RulesError(f"invalid CSS selector {selector!r}: {exc}") from exc


@lru_cache(maxsize=64)
def _pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise RulesError(f"invalid link_pattern {pattern!r}: {exc}") from exc


@lru_cache(maxsize=8)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _document_base(tree: LexborHTMLParser, base_url: str) -> str:
    # A <base href> changes what relative links mean, as in a browser.
    node = tree.css_first("base[href]")
    base = absolutize(node.attributes.get("href"), base_url) if node is not None else None
    return base or base_url


def _nearby_time(text: str, start: int, end: int) -> tuple[int, int, int]:
    after = _TIME.search(text, end, end + _TIME_WINDOW)
    if after and not _DIGIT.search(text, end, after.start()):
        return _hms(after)
    before: re.Match[str] | None = None
    for before in _TIME.finditer(text, max(0, start - _TIME_WINDOW), start):  # noqa: B007
        pass  # the last match is the one closest to the date
    if before and not _DIGIT.search(text, before.end(), start):
        return _hms(before)
    return 0, 0, 0


def _hms(m: re.Match[str]) -> tuple[int, int, int]:
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def _link_title(link: LexborNode) -> str:
    text = node_text(link)
    if text:
        return text
    title = link.attributes.get("title")
    if title:
        return normalize(title)
    for img in link.css("img"):
        for attr in ("alt", "title"):
            if text := normalize(img.attributes.get(attr) or ""):
                return text
    return ""


def _resolver(base: str) -> Callable[[LexborNode], str | None]:
    """The absolute URL of an anchor, memoised: a listing links each article two or three times."""
    cache: dict[str | None, str | None] = {}

    def resolve(anchor: LexborNode) -> str | None:
        href = anchor.attributes.get("href")
        if href not in cache:
            cache[href] = absolutize(href, base)
        return cache[href]

    return resolve


def _item_link(
    card: LexborNode, resolve: Callable[[LexborNode], str | None], rules: ListRules
) -> tuple[str | None, str]:
    links = css(card, rules.link) if rules.link else list(card.css("a[href]"))
    if not links and card.tag == "a":
        links = [card]
    if not links:
        return None, ""
    url = resolve(links[0])
    if rules.title:
        node = css_first(card, rules.title)
        if node is not None and (title := node_text(node)):
            return url, title
    # A card often links its article twice, from the photo and from the headline: the
    # longest text among the links to that URL is the headline.
    titles = [_link_title(a) for a in links if a is links[0] or resolve(a) == url]
    return url, max(titles, key=len)


def _pattern_cards(
    tree: LexborHTMLParser, resolve: Callable[[LexborNode], str | None], pattern: str
) -> list[tuple[LexborNode, str, str]]:
    regex = _pattern(pattern)
    matches: dict[str, bool] = {}
    anchors: list[tuple[LexborNode, str]] = []
    for a in tree.css("a[href]"):
        url = resolve(a)
        if url is None:
            continue
        if url not in matches:
            matches[url] = regex.search(url) is not None
        if matches[url]:
            anchors.append((a, url))
    # Which article URLs each nearby ancestor holds, so a card never spans two articles.
    holds: dict[int, set[str]] = {}
    for a, url in anchors:
        for node in _ancestors(a, _CARD_DEPTH):
            holds.setdefault(node.mem_id, set()).add(url)
    cards = []
    for a, url in anchors:
        card = a
        for node in _ancestors(a, _CARD_DEPTH):
            if holds[node.mem_id] != {url}:
                break
            card = node
        cards.append((card, url, _link_title(a)))
    return cards


def _ancestors(node: LexborNode, depth: int) -> Iterable[LexborNode]:
    parent = node.parent
    while parent is not None and depth > 0 and parent.tag not in ("body", "html"):
        yield parent
        parent = parent.parent
        depth -= 1


def _card_date(card: LexborNode, selector: str | None) -> datetime | None:
    if selector:
        node = css_first(card, selector)
        return _node_date(node) if node is not None else None
    if card.tag == "a":
        return None
    for node in card.css(_DATE_NODES):
        when = _node_date(node) if node.mem_id != card.mem_id else None
        if when is not None:
            return when
    return None


def _node_date(node: LexborNode) -> datetime | None:
    # A machine-readable datetime carries the time a "26/11/2026" text often leaves out.
    value = node.attributes.get("datetime")
    when = parse_iso_date(value) if value else None
    return when if when is not None else parse_vn_date(node.text())


def _card_lead(card: LexborNode, title: str) -> str:
    if card.tag == "a":
        return ""
    for node in card.css(_LEAD_NODES):
        # lexbor's css() includes the node itself; the card is not its own lead.
        if node.mem_id != card.mem_id:
            lead = node_text(node)
            if lead and lead != title:
                return lead
            break
    for p in card.css("p"):
        lead = node_text(p)
        if len(lead) > len(title) and lead != title:
            return lead
    return ""
