"""Article page -> title, date and clean body: site selectors first, a generic fallback for each.

    FeedError                 (feeds.errors) root
     ├── ParseError           no article on the page (error page, truncated before the content)
     └── RulesError           a configured selector is invalid

The generic body is the container with the most paragraph text (readability-like scoring,
link-dense blocks penalised) once menus, sidebars, captions, share bars and "related" lists
are gone. A page counts as broken when it has no body text and no article title of its own
(a heading or og:title; the <title> alone names the site as often as the article).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from selectolax.lexbor import LexborHTMLParser, LexborNode

from feeds.depth import cap_depth
from feeds.errors import ParseError, RulesError
from feeds.html import css, css_first, node_text, parse_iso_date, parse_vn_date
from feeds.models import ArticleRules, ExtractedArticle
from feeds.text import MAX_BODY_CHARS, cap_text, clean_title, normalize

__all__ = ["ParseError", "RulesError", "extract_article"]

# Never article text, whatever their class says. Not <form>: ASP.NET wraps whole pages in one.
# fmt: off
_JUNK_TAGS = frozenset({
    "script", "style", "noscript", "template", "iframe", "object", "embed", "button", "input",
    "select", "textarea", "nav", "aside", "header", "footer", "svg", "canvas", "video", "audio",
    "map", "figure", "figcaption", "h1", "label", "dialog",
})
# fmt: on
# class/id words of page furniture that is never article text.
_JUNK_ALWAYS = re.compile(
    r"breadcrumb|caption|share|social|comment|related|relate|other-?news|othernews|"
    r"lien-?quan|tin-?khac|cung-?chuyen-?muc|noi-?bat|doc-?nhieu|xem-?nhieu|banner|advert|"
    r"quang-?cao|\bads?\b|print|toolbar|rating|\bvote|pagination|paging|cookie|popup|modal",
    re.IGNORECASE,
)
# Words of furniture that an article wrapper may also carry ("content-with-sidebar").
_JUNK_UNLESS_CONTENT = re.compile(
    r"sidebar|widget|menu|navbar|\bnav\b|footer|header|\btags?\b|author|byline|login|search|"
    r"copyright|\blogo\b|\bhot\b|latest|most-?read|most-?view|\btools?\b",
    re.IGNORECASE,
)
_CONTENT_HINT = re.compile(
    r"article|content|detail|\bmain\b|\bbody\b|\bpost\b|entry|story|noi-?dung|chi-?tiet",
    re.IGNORECASE,
)
# Headings of lists that follow or surround an article: drop the heading and its links.
_SECTION_HEADING = re.compile(
    r"(?:các |những )?(?:bài viết|bài|tin|tin tức) (?:khác|liên quan|cùng chuyên mục|cùng chủ đề"
    r"|nổi bật|mới|mới nhất|mới hơn|cũ hơn|đọc nhiều|xem nhiều|đã đưa|tiêu điểm)"
    r"|xem thêm|đọc thêm|có thể bạn quan tâm|bài viết liên quan|đọc nhiều|xem nhiều|tiêu điểm",
)
_HEADING_MAX = 50
# Tags that start a new paragraph when the body is turned into text.
# fmt: off
_BLOCK_TAGS = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
    "table", "tbody", "thead", "tr", "td", "th", "blockquote", "section", "article", "main",
    "header", "footer", "figure", "pre", "hr", "br", "address", "center",
})
# fmt: on
# Blocks whose own running text is scored.
_SCORED_TAGS = frozenset({"p", "pre", "td", "blockquote", "div", "section"})
_EMPHASIS_TAGS = frozenset({"strong", "b", "em", "i"})
_MIN_BLOCK = 25
_MIN_GENERIC_BODY = 120
_CAPTION_LINE = re.compile(
    r"^[(\[]?\s*(?:(?:nguồn )?ảnh(?: minh (?:họa|hoạ))?\s*[:\-–]|ảnh minh (?:họa|hoạ)\s*[)\]]?\s*$)",
    re.IGNORECASE,
)
_BYLINE_MAX = 60
_SENTENCE_END = re.compile(r"[.!?…:;]$")
_DATE_IN_TEXT = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}")
_RIGHT = re.compile(r"text-align\s*:\s*right", re.IGNORECASE)
_TITLE_SEPARATORS = (" - ", " | ", " – ", " — ", " :: ", " » ")
# fmt: off
_CHROME = frozenset({
    "header", "top", "topbar", "logo", "banner", "masthead", "navbar", "menu", "nav", "footer",
    "site-header", "site-title", "site-name", "brand",
})
# fmt: on
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
    "time[datetime]",
)
# How far from the title the "DD/MM/YYYY | views" line may sit.
_NEAR_SIBLINGS = 6
_NEAR_LEVELS = 3
_SHORT_TEXT = 200


def extract_article(
    html: str, *, url: str, rules: ArticleRules | None = None, fallback_title: str = ""
) -> ExtractedArticle:
    """Title, publication time (UTC) and body text of an article page.

    ``rules`` selectors are tried first; each missing or empty one falls back to the generic
    extractor. ``rules.remove`` nodes are deleted before anything else. ``fallback_title``
    (usually the listing's) is used when the page has no title. Body paragraphs are joined
    with blank lines. Raises :class:`ParseError` for a page with no article on it and
    :class:`RulesError` for an invalid selector.
    """
    rules = rules or ArticleRules()
    tree = LexborHTMLParser(cap_depth(html))
    for selector in rules.remove:
        _decompose(css(tree, selector))
    title, title_node, own_title = _title(tree, rules)
    published = _published(tree, rules, title_node)
    # Everything that reads the header area is done: the body pass may now delete it.
    body = _body(tree, rules, title)
    if not title:
        title = normalize(fallback_title)
    if not body and not own_title:
        raise ParseError(f"{url}: no article found (no body text and no article title)")
    # Capped at the door: a 1 MB title or body must not reach the store, the index or a chat.
    body = cap_text(body, MAX_BODY_CHARS)
    return ExtractedArticle(title=clean_title(title), published_at=published, body=body)


# --- title -------------------------------------------------------------------------------------


def _title(tree: LexborHTMLParser, rules: ArticleRules) -> tuple[str, LexborNode | None, bool]:
    """(title, its node if on the page, whether the page itself names the article)."""
    if rules.title:
        node = css_first(tree, rules.title)
        if node is not None and (text := node_text(node)):
            return text, node, True
    page_title = _page_title(tree)
    og = _meta(tree, "meta[property='og:title']") or _meta(tree, "meta[name='twitter:title']")
    headings = [(h, node_text(h)) for h in tree.css("h1") if not _in_chrome(h)]
    headings = [(h, t) for h, t in headings if t]
    if headings:
        hints = (og.casefold(), page_title.casefold())
        for node, text in headings:
            if any(text.casefold() in hint for hint in hints if hint):
                return text, node, True
        return headings[0][1], headings[0][0], True
    if og:
        return og, _find_heading(tree, og), True
    if page_title:
        stripped = _strip_site_name(page_title)
        return stripped, _find_heading(tree, stripped), False
    return "", None, False


def _page_title(tree: LexborHTMLParser) -> str:
    node = tree.css_first("title")
    return normalize(node.text()) if node is not None else ""


def _meta(tree: LexborHTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    return normalize(node.attributes.get("content") or "") if node is not None else ""


def _strip_site_name(title: str) -> str:
    # "Article - Site name": drop the last part when it is the shorter one.
    cut = max((title.rfind(sep), sep) for sep in _TITLE_SEPARATORS)
    pos, sep = cut
    if pos <= 0:
        return title
    head, tail = title[:pos].strip(), title[pos + len(sep) :].strip()
    return head if head and len(tail) < len(head) else title


def _in_chrome(node: LexborNode) -> bool:
    """True for a heading in the site's header, menu or footer (a logo in an <h1>)."""
    inside_article = False
    for parent in _ancestors(node):
        if parent.tag in ("body", "html"):
            break
        if parent.tag in ("article", "main"):
            inside_article = True
        if parent.tag in ("nav", "footer") or (parent.tag == "header" and not inside_article):
            return True
        words = _class_words(parent)
        if words & _CHROME:
            return True
    return False


def _find_heading(tree: LexborHTMLParser, title: str) -> LexborNode | None:
    for node in tree.css("h1, h2, h3, [class*='title' i]"):
        if node.tag not in ("title", "meta") and node_text(node) == title:
            return node
    return None


# --- date --------------------------------------------------------------------------------------


def _published(
    tree: LexborHTMLParser, rules: ArticleRules, title_node: LexborNode | None
) -> datetime | None:
    if rules.date:
        node = css_first(tree, rules.date)
        when = _element_date(node) if node is not None else None
        if when is not None:
            return when
    if title_node is not None:
        when = _date_near(title_node)
        if when is not None:
            return when
    for selector in _META_DATES:
        for node in tree.css(selector):
            value = node.attributes.get("content") or node.attributes.get("datetime") or ""
            when = parse_iso_date(value) if value else None
            if when is not None:
                return when
    return None


def _element_date(node: LexborNode) -> datetime | None:
    """A date in a short element: a machine-readable datetime first, else its text."""
    for el in (node, *node.css("time[datetime]")):
        value = el.attributes.get("datetime")
        if value and (when := parse_iso_date(value)) is not None:
            return when
    return parse_vn_date(node.text())


def _date_near(title: LexborNode) -> datetime | None:
    """The date line right under (or just above) the title, before the body starts."""
    node: LexborNode | None = title
    body_started = False
    for _ in range(_NEAR_LEVELS):
        if node is None or node.tag in ("body", "html") or body_started:
            break
        for sib in _element_siblings(node, forward=True, limit=_NEAR_SIBLINGS):
            if len(sib.text()) > _SHORT_TEXT:
                # The body has started; a date in its text is about something else.
                stamp = sib.css_first("time[datetime]")
                if stamp is not None and (when := _element_date(stamp)) is not None:
                    return when
                body_started = True
                break
            when = _element_date(sib)
            if when is not None:
                return when
        node = node.parent
    for sib in _element_siblings(title, forward=False, limit=2):
        if len(sib.text()) <= _SHORT_TEXT and (when := _element_date(sib)) is not None:
            return when
    return None


def _element_siblings(node: LexborNode, *, forward: bool, limit: int) -> Iterable[LexborNode]:
    sib = node.next if forward else node.prev
    while sib is not None and limit > 0:
        if sib.is_element_node:
            yield sib
            limit -= 1
        sib = sib.next if forward else sib.prev


# --- body --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Para:
    """One paragraph of body text with what the byline and link filters need to know."""

    text: str
    chars: int
    link_chars: int
    emphasis_chars: int
    right_aligned: bool


def _body(tree: LexborHTMLParser, rules: ArticleRules, title: str) -> str:
    if rules.body:
        roots = _outermost(css(tree, rules.body))
        if roots:
            for root in roots:
                _clean(root)
            paras = [p for root in roots for p in _paragraphs(root)]
            text = _join(_filter(paras, title))
            if text:
                return text
    page = tree.body
    if page is None:
        return ""
    _clean(page)
    best = _best_container(page)
    if best is None:
        return ""
    text = _join(_filter(_paragraphs(best), title))
    return text if len(text) >= _MIN_GENERIC_BODY else ""


def _clean(root: LexborNode) -> None:
    """Delete page furniture under ``root``: junk tags, classes, image tables, related lists."""
    doomed: list[LexborNode] = []
    for node in root.traverse():
        if node.mem_id == root.mem_id:
            continue
        if node.tag in _JUNK_TAGS or _is_junk_box(node) or _is_image_table(node):
            doomed.append(node)
    _decompose(doomed)
    doomed = []
    for node in root.traverse(include_text=True):
        if not node.is_text_node:
            continue
        raw = node.text_content or ""
        if len(raw) > 3 * _HEADING_MAX:
            continue
        text = _heading_key(raw)
        if text and len(text) <= _HEADING_MAX and _SECTION_HEADING.fullmatch(text):
            doomed.extend(_section(node.parent, root, text))
    _decompose(doomed)


def _is_junk_box(node: LexborNode) -> bool:
    attrs = node.attributes
    names = f"{attrs.get('id') or ''} {attrs.get('class') or ''}".strip()
    if not names or node.tag in ("body", "html", "main", "article"):
        return False
    if _JUNK_ALWAYS.search(names):
        return True
    return bool(_JUNK_UNLESS_CONTENT.search(names)) and not _CONTENT_HINT.search(names)


def _is_image_table(node: LexborNode) -> bool:
    # Portals lay out a photo and its caption as a two-row table.
    return (
        node.tag == "table"
        and node.css_first("img") is not None
        and len(node.text(strip=True)) < 300
    )


def _heading_key(text: str) -> str:
    return normalize(text).casefold().rstrip(" :.»›>")


def _section(heading: LexborNode | None, root: LexborNode, key: str) -> list[LexborNode]:
    """A "related news" heading and the link lists that follow it."""
    if heading is None or heading.mem_id == root.mem_id:
        return []
    text = node_text(heading)
    if _heading_key(text) != key:
        # The words sit inside running text ("...<br>Tin liên quan<ul>" in the content
        # itself): the element is not a heading, and deleting it would delete the article.
        return []
    # Climb wrappers that hold nothing but the heading (<div class="box-title"><h3>...).
    while (
        heading.parent is not None
        and heading.parent.mem_id != root.mem_id
        and heading.parent.tag not in ("body", "html")
        and node_text(heading.parent) == text
    ):
        heading = heading.parent
    parent = heading.parent
    if (
        parent is not None
        and parent.mem_id != root.mem_id
        and parent.tag not in ("body", "html", "main", "article")
        and _link_density(parent, exclude=len(text)) >= 0.5
    ):
        # "<p><b>Xem thêm:</b> <a>...</a></p>" or a box of links: the whole box goes.
        return [parent]
    out = [heading]
    for sib in _element_siblings(heading, forward=True, limit=10):
        if sib.tag in ("ul", "ol") or _link_density(sib) >= 0.5:
            out.append(sib)
        else:
            break
    return out


def _link_density(node: LexborNode, *, exclude: int = 0) -> float:
    total = len(normalize(node.text())) - exclude
    if total <= 0:
        return 0.0
    links = sum(len(normalize(a.text())) for a in node.css("a"))
    return min(1.0, links / total)


def _best_container(root: LexborNode) -> LexborNode | None:
    """The node holding the most paragraph text, readability-style."""
    scores: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    order: list[int] = []

    def add(node: LexborNode | None, score: float) -> None:
        if node is None or node.tag in ("html",):
            return
        key = node.mem_id
        if key not in scores:
            scores[key] = 0.0
            nodes[key] = node
            order.append(key)
        scores[key] += score

    for node in root.traverse():
        if node.tag not in _SCORED_TAGS:
            continue
        # Only the node's own running text: text in block children is scored there.
        text = _inline_text(node)
        if len(text) < _MIN_BLOCK:
            continue
        score = 1.0 + text.count(",") + min(len(text) // 100, 3)
        parent = node.parent
        if node.tag in ("div", "section", "td"):
            # Running text in a div is both a paragraph and, with <br>s, a whole article body.
            add(node, score)
            add(parent, score / 2)
            add(parent.parent if parent is not None else None, score / 4)
        else:
            add(parent, score)
            add(parent.parent if parent is not None else None, score / 2)
    best: LexborNode | None = None
    best_score = 0.0
    for key in order:
        node = nodes[key]
        score = scores[key] * (1 - _link_density(node))
        if _CONTENT_HINT.search(_names(node)):
            score *= 1.25
        if score > best_score:
            best, best_score = node, score
    return best


def _inline_text(node: LexborNode) -> str:
    """The text of a node outside its block-level children."""
    parts: list[str] = []
    for child in node.iter(include_text=True):
        if child.is_text_node:
            parts.append(child.text_content or "")
        elif child.tag == "br":
            parts.append(" ")
        elif child.is_element_node and child.tag not in _BLOCK_TAGS:
            parts.append(child.text())
    return normalize("".join(parts))


def _paragraphs(root: LexborNode) -> list[_Para]:
    """Text of ``root`` split at block boundaries, with link/emphasis counts per paragraph."""
    paras: list[_Para] = []
    buf: list[str] = []
    counts = [0, 0, 0]  # chars, link chars, emphasis chars
    links = emphasis = 0
    blocks: list[LexborNode] = [root]

    def flush() -> None:
        text = normalize("".join(buf))
        if text:
            paras.append(
                _Para(text, max(counts[0], 1), counts[1], counts[2], _right_aligned(blocks))
            )
        buf.clear()
        counts[:] = [0, 0, 0]

    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if node.is_text_node:
            raw = node.text_content or ""
            buf.append(raw)
            n = len("".join(raw.split()))
            counts[0] += n
            counts[1] += n if links else 0
            counts[2] += n if emphasis else 0
            continue
        if not node.is_element_node:
            continue
        tag = node.tag
        if leaving:
            if tag == "a":
                links -= 1
            elif tag in _EMPHASIS_TAGS:
                emphasis -= 1
            elif tag in _BLOCK_TAGS:
                flush()
                if blocks and blocks[-1].mem_id == node.mem_id:
                    blocks.pop()
            continue
        if tag == "a":
            links += 1
        elif tag in _EMPHASIS_TAGS:
            emphasis += 1
        elif tag in _BLOCK_TAGS:
            flush()
            if tag != "br":
                blocks.append(node)
        if tag == "br":
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))
    flush()
    return paras


def _right_aligned(blocks: list[LexborNode]) -> bool:
    for node in blocks[-2:]:
        attrs = node.attributes
        if _RIGHT.search(attrs.get("style") or "") or (attrs.get("align") or "").lower() == "right":
            return True
        if {"right", "text-right", "author", "byline", "tac-gia"} & _class_words(node):
            return True
    return False


def _filter(paras: list[_Para], title: str) -> list[str]:
    """Drop captions, link lines, list headings, a title or date line on top, bylines at the end."""
    kept = [
        p
        for p in paras
        if not _CAPTION_LINE.match(p.text)
        and p.link_chars / p.chars < 0.8
        and not (len(p.text) <= _HEADING_MAX and _SECTION_HEADING.fullmatch(_heading_key(p.text)))
    ]
    folded_title = title.casefold()
    while kept[:1] and (kept[0].text.casefold() == folded_title or _is_meta_line(kept[0].text)):
        kept.pop(0)
    for _ in range(2):
        if kept and _is_byline(kept[-1]):
            kept.pop()
    out: list[str] = []
    for p in kept:
        if not out or out[-1] != p.text:
            out.append(p.text)
    return out


def _is_meta_line(text: str) -> bool:
    # "26/11/2026 08:30 | 1.234": the date line when the container also holds the header.
    return len(text) <= 80 and bool(_DATE_IN_TEXT.search(text)) and len(text.split()) <= 10


def _is_byline(p: _Para) -> bool:
    """A short last line that is just a name, set apart by alignment or bold."""
    if len(p.text) > _BYLINE_MAX or len(p.text.split()) > 8 or _SENTENCE_END.search(p.text):
        return False
    return p.right_aligned or p.emphasis_chars >= 0.9 * p.chars


def _join(paras: list[str]) -> str:
    return "\n\n".join(paras)


# --- tree helpers ------------------------------------------------------------------------------


def _decompose(nodes: list[LexborNode]) -> None:
    # Children before parents: a node is never touched after its ancestor was freed.
    seen: set[int] = set()
    ordered = sorted(nodes, key=_depth, reverse=True)
    for node in ordered:
        if node.mem_id not in seen:
            seen.add(node.mem_id)
            node.decompose()


def _depth(node: LexborNode) -> int:
    return sum(1 for _ in _ancestors(node))


def _outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """Matched nodes minus those inside another match, in document order."""
    ids = {n.mem_id for n in nodes}
    out: list[LexborNode] = []
    kept: set[int] = set()
    for node in nodes:
        if node.mem_id not in kept and not any(a.mem_id in ids for a in _ancestors(node)):
            kept.add(node.mem_id)
            out.append(node)
    return out


def _ancestors(node: LexborNode) -> Iterable[LexborNode]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _class_words(node: LexborNode) -> set[str]:
    attrs = node.attributes
    return set(f"{attrs.get('id') or ''} {attrs.get('class') or ''}".lower().split())


def _names(node: LexborNode) -> str:
    attrs = node.attributes
    return f"{attrs.get('id') or ''} {attrs.get('class') or ''}"
