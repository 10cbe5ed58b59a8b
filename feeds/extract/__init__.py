"""Article page -> title, date and clean body: site selectors first, a generic fallback for each.

    FeedError                 (feeds.errors) root
     ├── ParseError           no article on the page (error page, truncated before the content)
     └── RulesError           a configured selector is invalid

The generic body is trafilatura's main text on a page our rules cleaned first (captions, share
bars, "Tin liên quan" / "Xem thêm" boxes), filtered line by line (title and date lines, a
byline at the end); when it finds nothing, our readability-style container scoring. The date:
the Vietnamese date line by the title, the page's metadata, then htmldate. A page counts as
broken when it has no body text and no article title of its own (a heading or og:title; the
<title> alone names the site as often as the article). Modules: title, dates, generic
(trafilatura), lead (the sapo above the story), readability (our rules), tree (helpers).
"""

from __future__ import annotations

from datetime import UTC, datetime

from selectolax.lexbor import LexborHTMLParser

from feeds.depth import cap_depth
from feeds.errors import ParseError, RulesError
from feeds.html import css
from feeds.models import ArticleRules, ExtractedArticle, FieldOrigin
from feeds.text import MAX_BODY_CHARS, cap_text, clean_title, normalize

from .dates import find_date
from .generic import main_text
from .lead import find_lead, with_lead
from .readability import container_body, selector_body
from .title import find_title
from .tree import decompose, outermost

__all__ = ["ParseError", "RulesError", "extract_article"]


def extract_article(
    html: str,
    *,
    url: str,
    rules: ArticleRules | None = None,
    fallback_title: str = "",
    now: datetime | None = None,
) -> ExtractedArticle:
    """Title, publication time (UTC) and body text of an article page, and where each came from.

    ``rules`` selectors are tried first; each missing or empty one falls back to the generic
    extractor. ``rules.remove`` nodes are deleted before anything else. ``fallback_title``
    (usually the listing's) is used when the page has no title. A date later than ``now``
    (default: the clock) is never returned. Body paragraphs are joined with blank lines.
    Raises :class:`ParseError` for a page with no article on it and :class:`RulesError` for
    an invalid selector; nothing else.
    """
    rules = rules or ArticleRules()
    now = now or datetime.now(UTC)
    tree = LexborHTMLParser(cap_depth(html))  # the parser is super-linear in depth
    for selector in rules.remove:
        decompose(css(tree, selector))
    title, title_node, own_title, found = find_title(tree, rules)
    title_from: FieldOrigin = found
    published, date_from = find_date(tree, rules.date, title_node, now=now, url=url)
    # Everything that reads the header area is done: the body pass may now delete it.
    body, body_from = _body(tree, rules, title, url)
    if not title and (title := normalize(fallback_title)):
        title_from = "listing"
    if not body and not own_title:
        raise ParseError(f"{url}: no article found (no body text and no article title)")
    # Capped at the door: a 1 MB title or body must not reach the store, the index or a chat.
    return ExtractedArticle(
        title=clean_title(title),
        published_at=published,
        body=cap_text(body, MAX_BODY_CHARS),
        title_from=title_from,
        date_from=date_from,
        body_from=body_from if body else "",
    )


def _body(
    tree: LexborHTMLParser, rules: ArticleRules, title: str, url: str
) -> tuple[str, FieldOrigin]:
    if rules.body:
        roots = outermost(css(tree, rules.body))
        if roots and (text := selector_body(roots, title)):
            return text, "selector"
    page = tree.body
    if page is None:
        return "", ""
    # The library's pass edits the tree: our fallback scores the page as it was.
    snapshot = page.html or ""
    lead = find_lead(tree, title)
    text = main_text(page, title, url)
    if not text and (fallback := LexborHTMLParser(snapshot).body) is not None:
        text = container_body(fallback, title)
    return with_lead(text, lead), "generic"
