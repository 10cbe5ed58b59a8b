"""Our own body rules: furniture and "related news" removal, readability-style container
scoring (the fallback when the main-text library finds nothing), paragraphs and line filters."""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from feeds.html import node_text
from feeds.text import normalize

from .tree import class_words, decompose, element_siblings, names

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
# What a main-text library keeps but a news body never has.
_LIGHT_JUNK_TAGS = frozenset({"figcaption", "button", "select", "textarea", "dialog", "template"})
_LIGHT_WORDS = (
    "caption",
    "share",
    "social",
    "related",
    "relate",
    "othernews",
    "other-news",
    "lienquan",
    "lien-quan",
    "tinkhac",
    "tin-khac",
    "cung-chuyen-muc",
    "breadcrumb",
)
_LIGHT_SELECTOR = ", ".join(
    [*sorted(_LIGHT_JUNK_TAGS), "figure"]
    + [f"[{attr}*='{word}' i]" for word in _LIGHT_WORDS for attr in ("class", "id")]
)
_JUNK_SELECTOR = ", ".join(sorted(_JUNK_TAGS))
# Words of the headings below: a page without any skips the walk over its text nodes.
_SECTION_WORDS = re.compile(
    r"khác|liên quan|cùng chuyên mục|cùng chủ đề|nổi bật|mới|đọc|xem|"
    r"tiêu điểm|quan tâm"
)
_LIGHT_BOX_MAX = 1500
_SENTENCE_CHARS = 80
# A page with this many long captions is a photo story told in them.
_GALLERY_CAPTION, _GALLERY_MIN = 120, 5
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
CAPTION_LINE = re.compile(
    r"^[(\[]?\s*(?:(?:nguồn )?ảnh(?: minh (?:họa|hoạ))?\s*[:\-–]"
    r"|ảnh minh (?:họa|hoạ)\s*[)\]]?\s*$)",
    re.IGNORECASE,
)
_BYLINE_MAX = 60
_SENTENCE_END = re.compile(r"[.!?…:;]$")
_DATE_IN_TEXT = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}")
_RIGHT = re.compile(r"text-align\s*:\s*right", re.IGNORECASE)


@dataclass(frozen=True)
class Para:
    """One paragraph of body text with what the byline and link filters need to know."""

    text: str
    chars: int
    link_chars: int
    emphasis_chars: int
    right_aligned: bool


def selector_body(roots: list[LexborNode], title: str) -> str:
    """The text of the nodes a site's body selector matched, furniture removed."""
    for root in roots:
        clean(root)
    return join(filter_paragraphs([p for root in roots for p in paragraphs(root)], title))


def container_body(page: LexborNode, title: str) -> str:
    """The text of the container with the most paragraph text, or "" when too short."""
    clean(page)
    best = _best_container(page)
    if best is None:
        return ""
    text = join(filter_paragraphs(paragraphs(best), title))
    return text if len(text) >= _MIN_GENERIC_BODY else ""


def clean(root: LexborNode, *, light: bool = False) -> None:
    """Delete page furniture under ``root``: junk tags, classes, image tables, related lists.

    ``light`` keeps layout boxes (menus, sidebars, headers) for a main-text library that
    judges them itself, and deletes only what it would keep: captions, share bars, related
    lists.
    """
    doomed: list[LexborNode] = []
    if light:
        # CSS runs in C: far cheaper than visiting every node from Python.
        boxes = root.css(_LIGHT_SELECTOR)
        if _is_gallery(root):
            # A gallery's text is its captions: only share bars and related lists go.
            boxes = [
                n
                for n in boxes
                if n.tag not in ("figure", "figcaption") and "caption" not in names(n).lower()
            ]
        doomed.extend(n for n in boxes if _is_light_junk(n))
    else:
        doomed.extend(root.css(_JUNK_SELECTOR))
        doomed.extend(n for n in root.css("[id], [class]") if _is_junk_box(n))
    doomed.extend(n for n in root.css("table") if _is_image_table(n))
    decompose([n for n in doomed if n.mem_id != root.mem_id])
    if not _SECTION_WORDS.search(root.text().casefold()):
        return
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
    decompose(doomed)


def _is_gallery(root: LexborNode) -> bool:
    long = 0
    for node in root.css("figcaption"):
        if len(node.text(strip=True)) > _GALLERY_CAPTION:
            long += 1
            if long >= _GALLERY_MIN:
                return True
    return False


def _is_light_junk(node: LexborNode) -> bool:
    tag = node.tag
    if tag in _LIGHT_JUNK_TAGS:
        return True
    if tag == "figure":
        # WordPress wraps tables in <figure>; a photo's figure is furniture.
        return node.css_first("table") is None
    if tag == "table" and node.css_first("img") is None:
        # Some CMSs class every table "tplCaption", data tables too.
        return False
    return (
        tag not in ("body", "html", "main", "article")
        # Themes put "share" or "social-..." on the article's own wrapper: a box that big is
        # not a share bar.
        and len(node.text()) < _LIGHT_BOX_MAX
        # Nor is a "caption" box holding paragraphs of running text (a broken page's <div
        # class="wp-caption"> left open around the story).
        and not _holds_paragraphs(node)
    )


def _holds_paragraphs(node: LexborNode) -> bool:
    long = 0
    for p in node.css("p"):
        if p.mem_id != node.mem_id and len(p.text(strip=True)) > _SENTENCE_CHARS:
            long += 1
            if long >= 2:
                return True
    return False


def _is_junk_box(node: LexborNode) -> bool:
    attrs = node.attributes
    names = f"{attrs.get('id') or ''} {attrs.get('class') or ''}".strip()
    if not names or node.tag in ("body", "html", "main", "article"):
        return False
    if _JUNK_ALWAYS.search(names):
        return True
    return (
        bool(_JUNK_UNLESS_CONTENT.search(names))
        and not _CONTENT_HINT.search(names)
        # A layout column may be called "sidebar-1" and hold the whole story under its title.
        and node.css_first("h1") is None
    )


def _is_image_table(node: LexborNode) -> bool:
    # Portals lay out a photo and its caption as a two-row table.
    return (
        node.tag == "table"
        and node.css_first("img") is not None
        and len(node.text(strip=True)) < 300
    )


def is_section_heading(text: str) -> bool:
    """True for a short "Tin liên quan" / "Xem thêm" line heading a list of other articles."""
    return len(text) <= _HEADING_MAX and bool(_SECTION_HEADING.fullmatch(_heading_key(text)))


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
    for sib in element_siblings(heading, forward=True, limit=10):
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
        if _CONTENT_HINT.search(names(node)):
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


def paragraphs(root: LexborNode) -> list[Para]:
    """Text of ``root`` split at block boundaries, with link/emphasis counts per paragraph."""
    paras: list[Para] = []
    buf: list[str] = []
    counts = [0, 0, 0]  # chars, link chars, emphasis chars
    links = emphasis = 0
    blocks: list[LexborNode] = [root]

    def flush() -> None:
        text = normalize("".join(buf))
        if text:
            paras.append(
                Para(text, max(counts[0], 1), counts[1], counts[2], _right_aligned(blocks))
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
        if {"right", "text-right", "author", "byline", "tac-gia"} & class_words(node):
            return True
    return False


def filter_paragraphs(paras: list[Para], title: str) -> list[str]:
    """Drop captions, link lines, list headings, a title or date line on top, bylines at the end."""
    kept = [
        p
        for p in paras
        if not CAPTION_LINE.match(p.text)
        and p.link_chars / p.chars < 0.8
        and not (len(p.text) <= _HEADING_MAX and _SECTION_HEADING.fullmatch(_heading_key(p.text)))
    ]
    folded_title = title.casefold()
    while kept[:1] and (kept[0].text.casefold() == folded_title or is_meta_line(kept[0].text)):
        kept.pop(0)
    for _ in range(2):
        if kept and _is_byline(kept[-1]):
            kept.pop()
    out: list[str] = []
    for p in kept:
        if not out or out[-1] != p.text:
            out.append(p.text)
    return out


def is_meta_line(text: str) -> bool:
    # "26/11/2026 08:30 | 1.234": the date line when the container also holds the header.
    return len(text) <= 80 and bool(_DATE_IN_TEXT.search(text)) and len(text.split()) <= 10


def _is_byline(p: Para) -> bool:
    """A short last line that is just a name, set apart by alignment or bold."""
    if len(p.text) > _BYLINE_MAX or len(p.text.split()) > 8 or _SENTENCE_END.search(p.text):
        return False
    return p.right_aligned or p.emphasis_chars >= 0.9 * p.chars


def join(paras: list[str]) -> str:
    return "\n\n".join(paras)
