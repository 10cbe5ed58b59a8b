"""The generic body: trafilatura's main text on a page our rules cleaned first, then filtered
line by line (title and date lines, captions, "related" headings, a byline at the end)."""

from __future__ import annotations

import logging
import re

from selectolax.lexbor import LexborNode

from feeds.text import normalize

from .readability import CAPTION_LINE, clean, is_meta_line, is_section_heading

log = logging.getLogger(__name__)

# Put after the text of a node that is a byline if it ends the article: the main-text library
# keeps printable text (it drops private-use characters), and the line filter drops marked
# lines at the end and unmarks the others.
MARK = "\u2021\u2021\u2021"
_BYLINE_MAX = 60
_SENTENCE_END = re.compile(r"[.!?…:;\"”)]$")
_RIGHT = re.compile(r"text-align\s*:\s*right", re.IGNORECASE)
_BYLINE_CLASS = re.compile(r"author|byline|tac-?gia|signature|writer", re.IGNORECASE)
_EMPHASIS = ("strong", "b", "em", "i")
# Paragraphs, and whatever is set right or named like a byline.
_BYLINE_CANDIDATES = (
    "p, address, [style*='right' i], [align='right' i], [class*='author' i], "
    "[class*='byline' i], [class*='tac-gia' i], [class*='tacgia' i], [class*='right' i]"
)
# A teaser line inside the text: "Xem thêm: <another article>", and its kin in other languages.
_TEASER = re.compile(
    r"(?:xem thêm|đọc thêm|tin liên quan|bài liên quan|có thể bạn quan tâm|mời bạn đọc xem|"
    r"lesen sie auch|mehr zum thema|mehr themen|schon gelesen|le puede interesar|"
    r"vea también|lea también|lire aussi)\b"
    # Words that may also open a sentence count only with a colon or alone.
    r"|(?:read more|see also|also read|related(?: articles| stories| posts)?)\s*(?:[:»›]|$)",
    re.IGNORECASE,
)
_TEASER_MAX = 200
# Less than this is an error page's message or a teaser, not an article.
MIN_BODY = 120


def main_text(page: LexborNode, title: str, url: str) -> str:
    """The article body of ``page`` (modified in place), paragraphs joined by blank lines."""
    clean(page, light=True)
    _mark_bylines(page)
    html = page.html or ""
    try:
        import trafilatura
    except ImportError:  # pragma: no cover - a dependency; the caller falls back to our scoring
        return ""
    try:
        text = trafilatura.extract(
            html,
            url=url or None,
            include_comments=False,
            include_tables=True,
            fast=False,
            deduplicate=False,
            favor_recall=False,
            with_metadata=False,
        )
    except Exception as exc:  # a third-party parser: one odd page must not cost the article
        log.debug("trafilatura failed on %s: %s", url, exc)
        return ""
    body = _filter_lines(text or "", title)
    return body if len(body) >= MIN_BODY else ""


def _mark_bylines(root: LexborNode) -> None:
    for node in root.css(_BYLINE_CANDIDATES):
        raw = node.text()
        if len(raw) > 2 * _BYLINE_MAX:
            continue
        text = normalize(raw)
        if not text or len(text) > _BYLINE_MAX or len(text.split()) > 8:
            continue
        if _SENTENCE_END.search(text):
            continue
        # lexbor's css() includes the node itself: a byline holds no block of its own.
        if any(d.mem_id != node.mem_id for d in node.css("p, div, li, table")):
            continue
        if _is_byline_node(node, len(text)):
            node.insert_child(MARK)


def _is_byline_node(node: LexborNode, chars: int) -> bool:
    attrs = node.attributes
    if _RIGHT.search(attrs.get("style") or "") or (attrs.get("align") or "").lower() == "right":
        return True
    names = f"{attrs.get('id') or ''} {attrs.get('class') or ''}"
    if _BYLINE_CLASS.search(names) or "right" in names.lower().split():
        return True
    strong = sum(
        len(normalize(e.text()))
        for e in node.css(",".join(_EMPHASIS))
        if e.parent is not None and e.parent.mem_id == node.mem_id
    )
    return strong >= 0.9 * chars


def _filter_lines(text: str, title: str) -> str:
    lines = [normalize(line) for line in text.splitlines()]
    lines = [line for line in lines if line.replace(MARK, "").strip()]
    folded = title.casefold()
    while lines and (lines[0].replace(MARK, "").casefold() == folded or is_meta_line(lines[0])):
        lines.pop(0)
    for _ in range(2):
        if lines and MARK in lines[-1]:
            lines.pop()
    out: list[str] = []
    for line in lines:
        line = normalize(line.replace(MARK, ""))
        if not line or CAPTION_LINE.match(line) or is_section_heading(line):
            continue
        if len(line) <= _TEASER_MAX and _TEASER.match(line):
            continue
        if not out or out[-1] != line:
            out.append(line)
    return "\n\n".join(out)
