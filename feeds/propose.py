"""A listing page never seen -> a proposed source: which of its links are articles, as a
``link_pattern``, and a ready ``[[sources]]`` TOML block. Pure: HTML in, proposal out.

Article links are told apart by the URL shapes that repeat (a path template with the id's
position, prefix and length), how long their slugs and anchor texts are, and whether they sit
under a topic/tag/video/search prefix. Pagination, section and tag links carry numbers too,
but short slugs, short texts or those prefixes.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from feeds import sourcetoml
from feeds.depth import cap_depth
from feeds.errors import FeedError
from feeds.html import parse_listing, parse_vn_date
from feeds.models import ListRules, Source
from feeds.text import normalize
from feeds.urls import absolutize

__all__ = ["Proposal", "propose_source", "source_toml"]

# First path segments under which numbered pages are not articles.
# fmt: off
_NOT_ARTICLE_DIRS = frozenset({
    "tag", "tags", "chu-de", "chude", "topic", "topics", "video", "videos", "tim-kiem", "search",
    "tac-gia", "author", "authors", "su-kien", "event", "events", "podcast", "podcasts",
    "timeline", "category", "danh-muc", "chuyen-muc", "page", "trang", "rss", "tu-khoa",
    "keyword", "keywords", "profile", "user", "users", "login", "dang-nhap", "live", "tv",
})
# fmt: on
# Words that mark such a folder inside a longer name ("video-page", "tag-list").
_NOT_ARTICLE_WORDS = frozenset(
    {
        "tag",
        "tags",
        "topic",
        "topics",
        "video",
        "videos",
        "podcast",
        "podcasts",
        "search",
        "author",
        "authors",
        "event",
        "events",
        "livestream",
        "timkiem",
        "tacgia",
        "chude",
    }
)
# "slug-words[-prefix]digits[.ext]": an id at the end of the last segment.
_ID_SEGMENT = re.compile(
    r"(?P<slug>.*?)(?P<sep>[-_.,]?)(?P<prefix>[a-z]{0,5})(?P<id>\d{3,})(?P<ext>\.[a-z]{2,5})?",
    re.IGNORECASE,
)
_EXT = re.compile(r"\.[a-z]{2,5}$", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+", re.IGNORECASE)
_PAGINATION = re.compile(r"(?:^|[-_/])(?:trang|page|p)[-_]?\d+(?:\.[a-z]+)?$", re.IGNORECASE)
# What makes a group of same-shaped links articles: long slugs or long anchor texts.
_MIN_SLUG_WORDS = 4
_MIN_TEXT = 25
_MIN_GROUP = 3
# Cards: how far up from a link, how many articles must share the look and show a date.
_CARD_DEPTH = 4
_CARD_SHARE = 0.8
_DATE_TEXT = 60


@dataclass(frozen=True)
class Proposal:
    """What a listing page looks like to us: the article links found and how to find them."""

    url: str
    link_pattern: str | None
    article_urls: tuple[str, ...]
    other_urls: tuple[str, ...]
    #: one line per URL shape seen, for the admin: "kept|dropped  count  template  why".
    shapes: tuple[str, ...] = ()
    #: when the articles sit in cards with dates: selectors that find the same articles.
    item: str | None = None
    title: str | None = None
    date: str | None = None


@dataclass
class _Link:
    url: str
    path: str
    text: str = ""
    image: bool = False


@dataclass(frozen=True)
class _Shape:
    depth: int
    dirs: tuple[str, ...]  # "*" for any, "#n" for an n-digit number, else a literal kept
    prefix: str
    digits: int  # 0: no id in the last segment
    ext: str
    sep: str

    def template(self) -> str:
        last = "{slug}"
        if self.digits:
            last += f"{self.sep}{self.prefix}{{id:{self.digits}}}"
        return "/" + "/".join([*self.dirs, last + self.ext])


def propose_source(html: str, *, url: str) -> Proposal:
    """The article links of listing page ``html`` (fetched from ``url``) and a pattern for them."""
    tree = LexborHTMLParser(cap_depth(html))  # the parser is super-linear in nesting depth
    host = _site(urlsplit(url).hostname or "")
    links = _links(tree, url, host)
    groups: dict[_Shape, list[_Link]] = defaultdict(list)
    for link in links.values():
        shape = _shape(link.path)
        if shape is not None:
            groups[shape].append(link)
    chosen: list[_Shape] = []
    verdicts: list[tuple[_Shape, bool, str]] = []
    for shape, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        ok, why = _article_like(shape, members)
        if ok:
            chosen.append(shape)
        verdicts.append((shape, ok, why))
    # A few links of a kept id shape at another depth ("/section/sub/slug-123.htm" among
    # "/section/slug-456.htm") are articles too, though too few to judge on their own.
    ids = {(s.prefix, s.ext, s.sep, s.digits) for s in chosen if s.digits}
    lines: list[str] = []
    for shape, ok, why in verdicts:
        if not ok and _same_id_shape(shape, ids, groups[shape]):
            chosen.append(shape)
            ok, why = True, "same id shape as a kept group"
        lines.append(
            f"{'kept   ' if ok else 'dropped'} {len(groups[shape]):4d}  {shape.template()}  {why}"
        )
    pattern = _pattern(chosen, groups, host) if chosen else None
    regex = re.compile(pattern, re.IGNORECASE) if pattern else None
    articles = tuple(u for u in links if regex is not None and regex.search(u))
    others = tuple(u for u in links if u not in set(articles))
    proposal = Proposal(url, pattern, articles, others, tuple(lines))
    return _with_cards(proposal, tree, html) if articles else proposal


def source_toml(proposal: Proposal, *, source_id: str, name: str, private: bool = False) -> str:
    """A ``[[sources]]`` block the admin can paste into ``bantin.toml`` (written by
    :mod:`feeds.sourcetoml`); ``private``: the URL was typed as a private address.
    """
    notes = ["the URL was typed as a private address"] if private else []
    source = Source(id=source_id, name=name, kind="html", url=proposal.url, allow_private=private)
    if proposal.link_pattern is None:
        note = "no article links recognised: write link_pattern or item selectors"
        return sourcetoml.source_toml(source, notes=notes, list_notes=[note, "link_pattern = ''"])
    pattern = f"link_pattern = {sourcetoml.literal(proposal.link_pattern)}"
    if proposal.item is None:
        rules = ListRules(link_pattern=proposal.link_pattern)
        return sourcetoml.source_toml(replace(source, list=rules), notes=notes)
    rules = ListRules(
        item=proposal.item, link="a[href]", title=proposal.title or None, date=proposal.date or ""
    )
    list_notes = [
        "cards with dates: these selectors find the same articles as the pattern",
        f"or, less tied to the layout but without reliable dates: {pattern}",
    ]
    return sourcetoml.source_toml(replace(source, list=rules), notes=notes, list_notes=list_notes)


# --- helpers -----------------------------------------------------------------------------------


def _site(host: str) -> str:
    host = host.lower()
    return host[4:] if host.startswith("www.") else host


def _links(tree: LexborHTMLParser, base: str, host: str) -> dict[str, _Link]:
    """Same-site http(s) links of the page in page order, with their best text."""
    out: dict[str, _Link] = {}
    for a in tree.css("a[href]"):
        absolute = absolutize(a.attributes.get("href"), base)
        if absolute is None:
            continue
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or _site(parts.hostname or "") != host:
            continue
        if parts.path in ("", "/"):
            continue
        link = out.get(absolute)
        if link is None:
            link = out[absolute] = _Link(absolute, parts.path)
        text = _anchor_text(a)
        if len(text) > len(link.text):
            link.text = text
        if a.css_first("img") is not None:
            link.image = True
    return out


def _anchor_text(a: LexborNode) -> str:
    text = normalize(a.text())
    if text:
        return text
    for img in a.css("img"):
        if alt := normalize(img.attributes.get("alt") or img.attributes.get("title") or ""):
            return alt
    return normalize(a.attributes.get("title") or "")


def _shape(path: str) -> _Shape | None:
    segments = [s for s in path.split("/") if s]
    if not segments:
        return None
    *dirs, last = segments
    shaped_dirs = []
    for seg in dirs:
        if seg.isdigit():
            shaped_dirs.append(f"#{len(seg)}")
        elif _not_article_dir(seg):
            shaped_dirs.append(seg.lower())
        else:
            shaped_dirs.append("*")
    m = _ID_SEGMENT.fullmatch(last)
    if m:
        ext = (m.group("ext") or "").lower()
        return _Shape(
            len(segments),
            tuple(shaped_dirs),
            m.group("prefix").lower(),
            len(m.group("id")),
            ext,
            m.group("sep"),
        )
    ext_m = _EXT.search(last)
    ext = ext_m.group(0).lower() if ext_m else ""
    return _Shape(len(segments), tuple(shaped_dirs), "", 0, ext, "")


def _not_article_dir(segment: str) -> bool:
    """ "tag", "chu-de", "video-page", "tags-list": a folder of pages that are not articles."""
    low = segment.lower()
    return low in _NOT_ARTICLE_DIRS or any(w in _NOT_ARTICLE_WORDS for w in re.split(r"[-_.]", low))


def _slug_words(link: _Link, shape: _Shape) -> int:
    last = link.path.rstrip("/").rsplit("/", 1)[-1]
    if shape.digits and (m := _ID_SEGMENT.fullmatch(last)):
        last = m.group("slug")
    elif shape.ext:
        last = last[: -len(shape.ext)]
    return len(_WORD.findall(last))


def _same_id_shape(
    shape: _Shape, ids: set[tuple[str, str, str, int]], members: list[_Link]
) -> bool:
    return (
        (shape.prefix, shape.ext, shape.sep, shape.digits) in ids
        and not any(_not_article_dir(d) for d in shape.dirs)
        and statistics.median(_slug_words(m, shape) for m in members) >= _MIN_SLUG_WORDS
    )


def _article_like(shape: _Shape, members: list[_Link]) -> tuple[bool, str]:
    if any(_not_article_dir(d) for d in shape.dirs):
        return False, "under a topic/tag/video/search path"
    if len(members) < _MIN_GROUP:
        return False, f"fewer than {_MIN_GROUP} links of this shape"
    paginated = sum(1 for m in members if _PAGINATION.search(m.path.rstrip("/")))
    if paginated * 2 > len(members):
        return False, "pagination"
    words = statistics.median(_slug_words(m, shape) for m in members)
    text = statistics.median(len(m.text) for m in members)
    why = f"slug {words:g} words, text {text:g} chars"
    if words >= _MIN_SLUG_WORDS and (text >= _MIN_TEXT or shape.digits or text == 0):
        return True, why
    if text >= 2 * _MIN_TEXT and words >= 2:
        return True, why + " (long texts)"
    return False, why + ": short slugs or texts (sections, tags)"


def _pattern(chosen: list[_Shape], groups: dict[_Shape, list[_Link]], host: str) -> str:
    """One regex for the chosen shapes: an alternation of their templates, ids by length."""
    merged: dict[tuple[int, tuple[str, ...], str, str, str, bool], list[int]] = defaultdict(list)
    for shape in chosen:
        key = (shape.depth, shape.dirs, shape.prefix, shape.ext, shape.sep, bool(shape.digits))
        merged[key].append(shape.digits)
    # Excluding the words that dropped groups live under keeps tag/video links out.
    excluded = sorted({s.dirs[0] for s in groups if s.dirs and _not_article_dir(s.dirs[0])})
    guard = f"(?!(?:{'|'.join(map(re.escape, excluded))})/)" if excluded else ""
    alternatives = []
    for (_depth, dirs, prefix, ext, sep, has_id), lengths in sorted(merged.items()):
        parts = []
        for seg in dirs:
            parts.append(rf"\d{{{seg[1:]}}}" if seg.startswith("#") else r"[^/?#]+")
        slug = r"[^/?#]*" if has_id else r"(?:[^/?#.-]+-){3,}[^/?#.]+"
        last = slug
        if has_id:
            low, high = min(lengths), max(lengths)
            # Ids grow: one digit more than seen today still matches tomorrow.
            last += f"{re.escape(sep)}{re.escape(prefix)}\\d{{{low},{high + 1}}}"
        last += re.escape(ext)
        alternatives.append("/".join([*parts, last]))
    body = alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
    host_re = r"(?:www\.)?" + re.escape(host)
    return rf"^https?://{host_re}(?::\d+)?/{guard}{body}(?:[?#]|$)"


def _with_cards(proposal: Proposal, tree: LexborHTMLParser, html: str) -> Proposal:
    """Item/title/date selectors when most articles sit in same-looking cards with a date,
    kept only if they find exactly the articles the pattern finds."""
    wanted = set(proposal.article_urls)
    cards: dict[str, LexborNode] = {}
    holds: dict[int, set[str]] = defaultdict(set)
    anchors = []
    for a in tree.css("a[href]"):
        absolute = absolutize(a.attributes.get("href"), proposal.url)
        if absolute in wanted:
            anchors.append((a, absolute))
            for node in _up(a, _CARD_DEPTH):
                holds[node.mem_id].add(absolute)
    for a, absolute in anchors:
        card = None
        for node in _up(a, _CARD_DEPTH):
            if holds[node.mem_id] != {absolute}:
                break
            card = node
        if card is not None and absolute not in cards:
            cards[absolute] = card
    signatures = defaultdict(list)
    for card in cards.values():
        signatures[_signature(card)].append(card)
    if not signatures:
        return proposal
    item, members = max(signatures.items(), key=lambda kv: len(kv[1]))
    if not item or len(members) < _CARD_SHARE * len(wanted):
        return proposal
    dates = [d for d in (_date_node(c) for c in members) if d]
    if len(dates) < _CARD_SHARE * len(members):
        return proposal
    date = statistics.mode(dates)
    title = next(
        (
            h
            for h in ("h2", "h3", "h4", "h5")
            if all(c.css_first(f"{h} a[href]") is not None for c in members)
        ),
        None,
    )
    rules = ListRules(item=item, link="a[href]", title=title and f"{title} a", date=date)
    try:
        found = {e.url for e in parse_listing(html, base_url=proposal.url, rules=rules)}
    except FeedError:
        return proposal
    if found != wanted:
        return proposal
    return replace(proposal, item=item, title=rules.title, date=date)


def _up(node: LexborNode, depth: int) -> list[LexborNode]:
    out = []
    parent = node.parent
    while parent is not None and depth > 0 and parent.tag not in ("body", "html"):
        out.append(parent)
        parent = parent.parent
        depth -= 1
    return out


def _signature(node: LexborNode) -> str:
    classes = (node.attributes.get("class") or "").split()
    safe = [c for c in classes if re.fullmatch(r"[A-Za-z_][\w-]*", c)]
    return f"{node.tag}.{safe[0]}" if safe else ""


def _date_node(card: LexborNode) -> str:
    """The selector of the smallest element of ``card`` showing a date, or ""."""
    for node in card.css("time, span, div, p, small, em, i"):
        if node.mem_id == card.mem_id or len(node.text()) > _DATE_TEXT:
            continue
        if node.attributes.get("datetime") or parse_vn_date(node.text()) is not None:
            return _signature(node) or (node.tag or "")
    return ""
