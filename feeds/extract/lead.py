"""The article's lead (sapo): the bold opening paragraph many Vietnamese news sites print
between the title and the story column (VnExpress `p.description`, Dân trí `h2.singular-sapo`,
Tuổi Trẻ `h2.detail-sapo`, ...). It is the article's first paragraph and the best summary
material, but main-text extraction often drops it because it sits outside the story column.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from feeds.html import node_text
from feeds.text import fold_key

from .tree import ancestors

#: classes that name a lead on Vietnamese and international news pages
_LEAD_SELECTOR = (
    "[class*='sapo'], p.description, h2.description, div.description, .lead, .article-lead, "
    ".detail-lead, .news-lead, .chapeau, [class*='summary-detail'], [itemprop='description']"
)
#: never a lead when inside one of these (a caption, a teaser box, the page's chrome)
_NOT_INSIDE = frozenset({"figure", "figcaption", "aside", "nav", "footer", "header", "li", "a"})
_MIN_CHARS, _MAX_CHARS = 40, 1200


def find_lead(tree: LexborHTMLParser, title: str) -> str:
    """The page's lead paragraph, or "" when it has none worth taking.

    The first matching element outside captions, teaser lists and chrome whose text is a
    sentence-sized paragraph and not the title itself.
    """
    title_key = fold_key(title)
    for node in tree.css(_LEAD_SELECTOR):
        if node.tag in ("meta", "link", "img") or _inside_excluded(node):
            continue
        text = node_text(node)
        if not (_MIN_CHARS <= len(text) <= _MAX_CHARS) or fold_key(text) == title_key:
            continue
        return text
    return ""


def with_lead(body: str, lead: str) -> str:
    """``body`` starting with ``lead`` unless it already holds it (or its opening words)."""
    if not lead or not body:
        return body
    opening = fold_key(lead)[:60]
    if opening and opening in fold_key(body[: len(lead) * 3 + 200]):
        return body
    if opening and opening in fold_key(body):  # elsewhere in the body: leave it where it is
        return body
    return f"{lead}\n\n{body}"


def _inside_excluded(node: LexborNode) -> bool:
    return any(parent.tag in _NOT_INSIDE for parent in ancestors(node))
