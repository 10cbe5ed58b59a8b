"""The article's title: a site selector, else the page's own heading, og:title or <title>."""

from __future__ import annotations

from typing import Literal

from selectolax.lexbor import LexborHTMLParser, LexborNode

from feeds.html import css_first, node_text
from feeds.models import ArticleRules
from feeds.text import normalize

from .tree import ancestors, class_words, meta

_TITLE_SEPARATORS = (" - ", " | ", " – ", " — ", " :: ", " » ")
# fmt: off
CHROME = frozenset({
    "header", "top", "topbar", "logo", "banner", "masthead", "navbar", "menu", "nav", "footer",
    "site-header", "site-title", "site-name", "brand",
})
# fmt: on

Found = Literal["selector", "generic", ""]


def find_title(
    tree: LexborHTMLParser, rules: ArticleRules
) -> tuple[str, LexborNode | None, bool, Found]:
    """(title, its node if on the page, whether the page itself names the article, from where)."""
    if rules.title:
        node = css_first(tree, rules.title)
        if node is not None and (text := node_text(node)):
            return text, node, True, "selector"
    page_title = _page_title(tree)
    og = meta(tree, "meta[property='og:title']") or meta(tree, "meta[name='twitter:title']")
    headings = [(h, node_text(h)) for h in tree.css("h1") if not in_chrome(h)]
    headings = [(h, t) for h, t in headings if t]
    if headings:
        hints = (og.casefold(), page_title.casefold())
        for node, text in headings:
            if any(text.casefold() in hint for hint in hints if hint):
                return text, node, True, "generic"
        return headings[0][1], headings[0][0], True, "generic"
    if og:
        return og, _find_heading(tree, og), True, "generic"
    if page_title:
        stripped = _strip_site_name(page_title)
        return stripped, _find_heading(tree, stripped), False, "generic"
    return "", None, False, ""


def in_chrome(node: LexborNode) -> bool:
    """True for a node in the site's header, menu or footer (a logo in an <h1>)."""
    inside_article = False
    for parent in ancestors(node):
        if parent.tag in ("body", "html"):
            break
        if parent.tag in ("article", "main"):
            inside_article = True
        if parent.tag in ("nav", "footer") or (parent.tag == "header" and not inside_article):
            return True
        words = class_words(parent)
        if words & CHROME:
            return True
    return False


def _page_title(tree: LexborHTMLParser) -> str:
    node = tree.css_first("title")
    return normalize(node.text()) if node is not None else ""


def _strip_site_name(title: str) -> str:
    # "Article - Site name": drop the last part when it is the shorter one.
    cut = max((title.rfind(sep), sep) for sep in _TITLE_SEPARATORS)
    pos, sep = cut
    if pos <= 0:
        return title
    head, tail = title[:pos].strip(), title[pos + len(sep) :].strip()
    return head if head and len(tail) < len(head) else title


def _find_heading(tree: LexborHTMLParser, title: str) -> LexborNode | None:
    for node in tree.css("h1, h2, h3, [class*='title' i]"):
        if node.tag not in ("title", "meta") and node_text(node) == title:
            return node
    return None
