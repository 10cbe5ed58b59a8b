"""Extractive Vietnamese summary (interim version: lead sentences within the budget)."""

from __future__ import annotations

from feeds.text import split_sentences


def summarize(text: str, *, title: str | None = None, max_chars: int = 400) -> str:
    """Sentences of ``text`` in order, at most ``max_chars``; "" for an empty body."""
    out: list[str] = []
    size = 0
    for sentence in split_sentences(text)[:2]:
        if size + len(sentence) + (1 if out else 0) > max_chars:
            break
        out.append(sentence)
        size += len(sentence) + (1 if out else 0)
    if not out:
        sentences = split_sentences(text)
        if not sentences:
            return ""
        cut = sentences[0][: max_chars - 1].rsplit(" ", 1)[0]
        return cut + "…"
    return " ".join(out)
